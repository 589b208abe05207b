using Motif.Core.Signatures;
using Motif.Engine;
using Motif.Imaging;
using Motif.Testing;

namespace Motif.Cli.Tests;

public sealed class EmbedCommandTests : IDisposable
{
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("motif-embed-");

    public void Dispose() => _scratch.Delete(recursive: true);

    private string Folder(params (string Path, byte[] Bytes)[] files)
    {
        var folder = Path.Combine(_scratch.FullName, "images");
        foreach (var (path, bytes) in files)
        {
            var full = Path.Combine(folder, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, bytes);
        }
        return folder;
    }


    /// <summary>The rows are the version's signatures: the checkpoint carries a signature projection and a detail to sign
    /// (as a trained version's does), and every row is the network's signature of the whole projected by it, then the
    /// detail's, written as an (images, 2, d) array.</summary>
    [Fact]
    public async Task Writes_one_npy_row_per_valid_image_in_path_order_and_reports_the_rest()
    {
        var checkpoint = Path.Combine(_scratch.FullName, "tiny.ckpt");
        using (var tiny = SignatureModel.Create("torchvision:layers=1-1-1-1;base=8;classes=0"))
        {
            var d = tiny.EmbeddingDimension;
            // A rotation of the first two coordinates after the power 0.5: unmistakably not the network's own rows.
            var matrix = new float[d * d];
            for (var i = 0; i < d; i++)
            {
                matrix[i * d + i] = i < 2 ? 0 : 1;
            }
            (matrix[1], matrix[d]) = (1, -1);
            var projection = new SignatureProjection(0.5, new float[d], matrix);
            tiny.SaveCheckpoint(checkpoint, System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
            {
                [SignatureProjection.MetadataKey] = Convert.ToBase64String(projection.ToBytes()),
                [SignatureDetails.MetadataKey] = new SignatureDetails(1).ToJson(),
            }));
        }
        var images = new Dictionary<string, byte[]>
        {
            ["b/second.png"] = ImageFixtures.Png(200, 120),
            ["a.jpg"] = ImageFixtures.Jpeg(160, 240),
            ["c.webp"] = ImageFixtures.WebP(300, 200),
        };
        var folder = Folder([.. images.Select(p => (p.Key, p.Value)),
            ("broken/cut.jpg", ImageFixtures.Truncated(ImageFixtures.Jpeg(320, 240))), ("broken/empty.jpg", [])]);
        var npy = Path.Combine(_scratch.FullName, "signatures.npy");

        var (exit, output, _) = await Cli.RunAsync("embed", folder, "--out", npy, "--model", checkpoint, "--batch", "2", "--size", "64");

        Assert.Equal(0, exit);
        Assert.Equal(["a.jpg", "b/second.png", "c.webp"], File.ReadAllLines(Path.Combine(_scratch.FullName, "signatures.ids.txt")));
        var read = NpyFile.Read(npy);
        var (rows, columns, values) = read;
        using var model = SignatureModel.FromCheckpoint(checkpoint);
        var dim = model.EmbeddingDimension;
        Assert.Equal((3, 2 * dim, 2), (rows, columns, read.Parts));
        Assert.Contains($"3×2×{dim} float32", output);
        var spec = model.Preprocessing(64);
        var input = new float[spec.ValuesPerImage];
        var expected = new float[dim];
        ImageCodec.Preprocess(images["b/second.png"], spec, input);
        model.Embed(input, 1, 64, 64, expected);
        var projected = new float[dim];
        model.Projection!.Apply(expected, 1, projected);
        Assert.NotEqual(expected, projected);
        Assert.Equal(projected, values.AsSpan(columns, dim).ToArray(), new Tolerance(1e-6f));
        var signed = new float[2 * dim];
        model.Sign(input, 1, 64, 64, signed);
        Assert.NotEqual(signed.AsSpan(0, dim).ToArray(), signed.AsSpan(dim, dim).ToArray());
        Assert.Equal(signed, values.AsSpan(columns, columns).ToArray(), new Tolerance(1e-6f));
        Assert.Contains("Skipped 2", output);
        Assert.Matches(@"corrupt\s+broken/cut\.jpg", output);
        Assert.Matches(@"empty\s+broken/empty\.jpg", output);
        Assert.False(File.Exists(npy + ".partial"));
    }

    [Fact]
    public async Task The_packaged_model_is_the_default_and_gives_2048_dimensional_signatures()
    {
        var folder = Folder(("chelsea.png", TestData.Photo("chelsea.png")), ("coffee.png", TestData.Photo("coffee.png")));
        var npy = Path.Combine(_scratch.FullName, "pretrained.npy");

        var (exit, output, _) = await Cli.RunAsync("embed", folder, "--out", npy, "--threads", "2");
        var bf16Npy = Path.Combine(_scratch.FullName, "pretrained-bf16.npy");
        var (bf16Exit, _, _) = await Cli.RunAsync("embed", folder, "--out", bf16Npy, "--threads", "2", "--precision", "bf16");

        Assert.Equal((0, 0), (exit, bf16Exit));
        var (rows, columns, values) = NpyFile.Read(npy);
        Assert.Equal((2, 2048), (rows, columns));
        Assert.Equal(1.0, Math.Sqrt(values.Take(2048).Sum(v => (double)v * v)), 5);
        Assert.DoesNotContain("Skipped", output);
        var (_, _, bf16) = NpyFile.Read(bf16Npy);
        Assert.True(values.Take(2048).Zip(bf16.Take(2048), (a, b) => (double)a * b).Sum() > 0.99, "bf16 signature far from fp32");
        Assert.NotEqual(values, bf16);
    }

    private sealed class Tolerance(float epsilon) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= epsilon;

        public int GetHashCode(float obj) => 0;
    }
}
