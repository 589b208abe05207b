using System.Security.Cryptography;
using System.Text;
using Motif.Core.Evaluation;
using Motif.Core.Signatures;
using Motif.Engine;
using Motif.Pipeline;
using Motif.Storage.Catalog;

namespace Motif.Cli.Tests;

/// <summary>motif evaluate from the outside: a workspace with hand-placed signatures and an imported morphograph.</summary>
public sealed class EvaluateCommandTests : IDisposable
{
    private static readonly string Version = EngineSignatureEmbedder.VersionOf(ModelCatalog.VersionOf(ModelCatalog.PackagedResNet50));

    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("motif-evaluate-");

    public void Dispose() => _scratch.Delete(recursive: true);

    private string Workspace => Path.Combine(_scratch.FullName, "workspace");

    /// <summary>A workspace whose catalog holds these images, signed by the packaged model with unit vectors at these angles.</summary>
    private async Task SignAsync((string Id, double Degrees)[] rows)
    {
        await using var workspace = (await Motif.Cli.Workspace.OpenAsync(new DirectoryInfo(Workspace), StorageKind.Embedded, create: true, CancellationToken.None))!;
        float[] values = [.. rows.SelectMany(r => new[] { (float)Math.Cos(r.Degrees * Math.PI / 180), (float)Math.Sin(r.Degrees * Math.PI / 180) })];
        var shard = $"{CollectionBlobs.SignatureShards(Version)}hand-made.npy";
        await workspace.Blobs.PutAsync(shard, new MemoryStream(NpyFile.Encode(values, rows.Length, 2)));
        var locations = new List<SignatureLocation>();
        foreach (var (row, i) in rows.Select((r, i) => (r, i)))
        {
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(row.Id)));
            await workspace.Catalog.PutImageAsync(new ImageRecord(row.Id, null, hash, 1, ImageStatus.Accepted, null, null, "jpeg", 8, 8, DateTimeOffset.UnixEpoch));
            locations.Add(new SignatureLocation(Version, hash, shard, i));
        }
        await workspace.Catalog.AddSignaturesAsync(locations);
    }

    [Fact]
    public async Task The_test_part_is_scored_against_the_imported_morphograph()
    {
        var (t, v) = (SplitComponents.ComponentIn(SplitPart.Test, "t"), SplitComponents.ComponentIn(SplitPart.Validation, "v"));
        await SignAsync([($"{t}-a", 0), ($"{t}-b", 10), ($"{t}-c", 50), ("unconnected", 52), ($"{v}-a", 270), ($"{v}-b", 280)]);
        var csv = Path.Combine(_scratch.FullName, "morphograph.csv");
        await File.WriteAllTextAsync(csv, $"uid_connection,type,img1,img2\n1,POSITIVE,{t}-a,{t}-b\n2,POSITIVE,{t}-b,{t}-c\n3,POSITIVE,{v}-a,{v}-b\n");
        var (exit, _, error) = await Cli.RunAsync("morphograph", "import", csv, "--out", Workspace);
        Assert.True(exit == 0, error);

        (exit, var output, error) = await Cli.RunAsync("evaluate", "--out", Workspace);

        Assert.True(exit == 0, error);
        Assert.Equal("", error);
        Assert.Contains("test part: 3 artworks as queries (0 without a signature), gallery 6.", output);
        // -a (0°): -b first → AP 1; -b (10°): -a, -c first → AP 1; -c (50°): "unconnected" (52°), then -b → AP 1/2.
        // The research's mAP weighs each query by its relevant count: (1 + 2 + 0.5) / 4.
        Assert.Contains("  mAP            0.833      0.875\n", output);
        Assert.Contains("  R@1            0.500      0.500\n", output);
        Assert.Contains("  P@1            0.667\n", output);
        Assert.Contains("  R@400          1.000      1.000\n", output);
        Assert.Contains("clusters         no manifest from these signatures", output);
        Assert.Contains("verification     2 triplets   accuracy 1.000   ROC AUC 1.000", output);
        Assert.Contains("(calibrated on validation)", output);

        (exit, output, error) = await Cli.RunAsync("evaluate", "--out", Workspace, "--split", "validation");
        Assert.True(exit == 0, error);
        Assert.Contains("validation part: 2 artworks as queries", output);
        Assert.Contains("  mAP            1.000", output);
    }

    [Fact]
    public async Task Bad_arguments_are_one_line_and_exit_2()
    {
        var (exit, _, error) = await Cli.RunAsync("evaluate", "--out", Workspace, "--split", "holdout");
        Assert.Equal(2, exit);
        Assert.Equal("--split: expected test, validation, train or all; got 'holdout'.\n", error.ReplaceLineEndings("\n"));

        (exit, _, error) = await Cli.RunAsync("evaluate", "--out", Workspace);
        Assert.Equal(2, exit);
        Assert.StartsWith("No workspace in ", error);
        Assert.Single(error.TrimEnd().Split('\n'));

        await SignAsync([("a", 0), ("b", 10)]);
        (exit, _, error) = await Cli.RunAsync("evaluate", "--out", Workspace);
        Assert.Equal(2, exit);
        Assert.StartsWith("The workspace has no morphograph: run `motif morphograph import <csv>", error);
        Assert.Single(error.TrimEnd().Split('\n'));

        (exit, _, error) = await Cli.RunAsync("evaluate", "--out", Workspace, "--model", Path.Combine(_scratch.FullName, "missing.pt"));
        Assert.Equal(2, exit);
        Assert.StartsWith("--model: no such checkpoint file:", error);
    }
}
