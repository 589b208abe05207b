using System.Globalization;
using Motif.Core.Signatures;
using Motif.Imaging;

namespace Motif.Bench;

/// <summary>
/// How far Motif's model input is from torchvision's, the preprocessing the pretrained weights were trained with
/// (PIL decode, Resize(256) bilinear with antialias, CenterCrop(224)): mean absolute difference per value, in 8-bit
/// levels before normalisation, over the imaging benchmark's 32 JPEGs and a few scikit-image samples (PNG and JPEG,
/// colour and grey, 300 to 2000 px). PIL with draft() is shown beside it: its DCT shrink is the same shortcut as
/// Motif's shrink-on-load, so its distance is what the shortcut alone costs. Not a speed benchmark: no timing.
/// </summary>
internal static class PreprocessFidelityBench
{
    /// <summary>Photographs among scikit-image's samples (the CI cache holds them): colour and grey, PNG and JPEG.</summary>
    private static readonly string[] Samples =
        ["astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "camera.png", "rocket.jpg", "retina.jpg", "hubble_deep_field.jpg"];

    public static void Run(string root, string python = "/usr/bin/python3")
    {
        var benchInputs = Path.Combine(root, ".cache", "bench", "jpeg-2000x1500");
        var samples = Path.Combine(root, ".cache", "skimage-data");
        var anchor = Path.Combine(root, "bench", "anchors", "imaging_anchor.py");
        if (!Directory.Exists(benchInputs))
        {
            _ = Repository.Python(python, null, anchor, "make-inputs", samples, benchInputs, "32");
        }
        var files = Directory.GetFiles(benchInputs, "*.jpg").Order(StringComparer.Ordinal)
            .Concat(Samples.Select(s => Path.Combine(samples, s)).Where(File.Exists)).ToArray();

        // Levels, not normalised values: mean 0 and std 1, RGB, ImageNet's resize 256 + centre crop 224.
        var spec = new PreprocessSpec(224, ResizeMode.ShortSideCentreCrop, ChannelOrder.Rgb, (0, 0, 0), (1, 1, 1), resizeTo: 256);
        var tensors = new float[files.Length * spec.ValuesPerImage];
        for (var i = 0; i < files.Length; i++)
        {
            ImageCodec.Preprocess(File.ReadAllBytes(files[i]), spec, tensors.AsSpan(i * spec.ValuesPerImage, spec.ValuesPerImage));
        }
        var work = Directory.CreateTempSubdirectory("motif-fidelity-");
        try
        {
            var npy = Path.Combine(work.FullName, "motif.npy");
            var list = Path.Combine(work.FullName, "files.txt");
            File.WriteAllBytes(npy, NpyFile.Encode(tensors, files.Length, spec.ValuesPerImage));
            File.WriteAllLines(list, files);
            var result = Repository.Python(python, Repository.HugePages, anchor, "fidelity", list, npy);

            Console.WriteLine("Model input vs torchvision (Resize(256) bilinear + CenterCrop(224) on PIL's full decode): mean |difference| per value, 8-bit levels");
            Console.WriteLine();
            Console.WriteLine("| images                               | count | Motif − torchvision | PIL draft − torchvision | Motif − PIL draft |");
            Console.WriteLine("|--------------------------------------|------:|--------------------:|------------------------:|------------------:|");
            foreach (var group in result.GetProperty("groups").EnumerateArray())
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {group.GetProperty("name").GetString(),-36} | {group.GetProperty("count").GetInt32(),5} | {group.GetProperty("motif_torchvision").GetDouble(),19:0.000} | {group.GetProperty("draft_torchvision").GetDouble(),23:0.000} | {group.GetProperty("motif_draft").GetDouble(),17:0.000} |"));
            }
            Console.WriteLine();
            foreach (var image in result.GetProperty("images").EnumerateArray())
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {Path.GetFileName(image.GetProperty("file").GetString()),-24} Motif − torchvision {image.GetProperty("motif_torchvision").GetDouble():0.000}"));
            }
            Console.WriteLine();
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}
