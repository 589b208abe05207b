using Motif.Imaging;

namespace Motif.Bench;

/// <summary>
/// Decode + preprocess to a 224×224 float CHW tensor (ImageNet normalisation, resize 256 + centre crop 224)
/// of 2000×1500 JPEGs made from real photographs, in images/s, with 1, 2, 4, … threads up to
/// <c>--threads</c> (default 2, this machine's cores; a GPU machine's decode must scale to its cores); bytes are in
/// memory on both sides. Anchors, same run, same inputs: torchvision's PIL pipeline (what the research code does) and
/// PIL with draft() (JPEG DCT scaling, the same trick as libvips' shrink-on-load).
/// </summary>
internal static class ImagingBench
{
    private const int Passes = 5;

    /// <param name="root">The repository.</param>
    /// <param name="maxThreads">The most threads measured.</param>
    /// <param name="python">The Python that runs the anchor (Debian's here; the CUDA image's own elsewhere).</param>
    public static void Run(string root, int maxThreads = 2, string python = "/usr/bin/python3")
    {
        // Four images per thread at the most threads, so that every thread has work to the end of a pass.
        var images = Math.Max(32, 4 * maxThreads);
        var inputs = Path.Combine(root, ".cache", "bench", images == 32 ? "jpeg-2000x1500" : $"jpeg-2000x1500-{images}");
        var anchor = Path.Combine(root, "bench", "anchors", "imaging_anchor.py");
        if (!Directory.Exists(inputs) || Directory.GetFiles(inputs, "*.jpg").Length != images)
        {
            // The anchor's tool (PIL) makes the inputs; the images themselves are JPEG, read the same by both.
            _ = Repository.Python(python, null, anchor, "make-inputs", Path.Combine(root, ".cache", "skimage-data"), inputs, images.ToString());
        }
        var bytes = Directory.GetFiles(inputs, "*.jpg").Order(StringComparer.Ordinal).Select(p => (ReadOnlyMemory<byte>)File.ReadAllBytes(p)).ToArray();
        var spec = PreprocessSpec.ImageNet(224);
        var buffer = new float[bytes.Length * spec.ValuesPerImage];

        // libvips' own thread pool off: parallelism comes from the batch, one image per thread.
        ImageCodec.Concurrency = 1;
        var rows = new List<(string Pipeline, int Threads, double Rate, double Anchor)>();
        for (var threads = 1; threads <= maxThreads; threads = threads == maxThreads ? maxThreads + 1 : Math.Min(2 * threads, maxThreads))
        {
            var pil = Repository.Python(python, Repository.HugePages, anchor, "run", inputs, threads.ToString(), Passes.ToString());
            // images / median seconds = median images/s (an odd number of passes).
            var motif = bytes.Length / Repository.MedianSeconds(Passes, () =>
            {
                var results = ImageCodec.PreprocessBatch(bytes, spec, buffer, threads);
                if (results.Any(r => !r.Succeeded))
                {
                    throw new InvalidOperationException("a benchmark image was rejected");
                }
            });
            var torchvision = pil.GetProperty("torchvision").GetDouble();
            rows.Add(("torchvision, PIL (anchor)", threads, torchvision, torchvision));
            rows.Add(("PIL with draft()", threads, pil.GetProperty("pil_draft").GetDouble(), torchvision));
            rows.Add(("Motif, libvips shrink-on-load", threads, motif, torchvision));
        }

        Console.WriteLine($"Decode + preprocess to 224² float CHW: {bytes.Length} JPEGs 2000×1500 (q90, real photos), median of {Passes} passes");
        Console.WriteLine();
        Console.WriteLine("| pipeline                        | threads | images/s | vs anchor |");
        Console.WriteLine("|---------------------------------|--------:|---------:|----------:|");
        foreach (var (pipeline, threads, rate, anchorRate) in rows)
        {
            Console.WriteLine($"| {pipeline,-31} | {threads,7} | {rate,8:0.0} | {rate / anchorRate,8:0.00}× |");
        }
        Console.WriteLine();
    }

}
