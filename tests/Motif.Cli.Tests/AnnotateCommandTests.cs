using System.Security.Cryptography;
using System.Text;
using Motif.Core.Clustering;
using Motif.Core.Manifests;
using Motif.Core.Signatures;
using Motif.Engine;
using Motif.Pipeline;
using Motif.Storage.Catalog;

namespace Motif.Cli.Tests;

/// <summary>motif annotate from the outside: a workspace with hand-placed signatures and a published manifest of three
/// two-image clusters.</summary>
public sealed class AnnotateCommandTests : IDisposable
{
    private static readonly string Version = EngineSignatureEmbedder.VersionOf(ModelCatalog.VersionOf(ModelCatalog.PackagedResNet50));

    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("motif-annotate-");

    public void Dispose() => _scratch.Delete(recursive: true);

    private string Workspace => Path.Combine(_scratch.FullName, "workspace");

    /// <summary>img-0 … img-7 signed (4-d vectors: three near-duplicate pairs and two loners) and clustered; the
    /// manifest's clusters.</summary>
    private async Task<ManifestCluster[]> PrepareAsync()
    {
        float[] x = [1, 0, 0, 0, 0.99f, 0.05f, 0, 0, 0, 1, 0, 0, 0.05f, 0.99f, 0, 0, 0, 0, 1, 0, 0, 0.05f, 0.99f, 0, 0, 0, 0, 1, -1, 0, 0, 0];
        var ids = Enumerable.Range(0, 8).Select(i => $"img-{i}").ToArray();
        await using var workspace = (await Motif.Cli.Workspace.OpenAsync(new DirectoryInfo(Workspace), StorageKind.Embedded, create: true, CancellationToken.None))!;
        var shard = $"{CollectionBlobs.SignatureShards(Version)}hand-made.npy";
        await workspace.Blobs.PutAsync(shard, new MemoryStream(NpyFile.Encode(x, ids.Length, 4)));
        var locations = new List<SignatureLocation>();
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)));
            await workspace.Catalog.PutImageAsync(new ImageRecord(id, null, hash, 1, ImageStatus.Accepted, null, null, "jpeg", 8, 8, DateTimeOffset.UnixEpoch));
            locations.Add(new SignatureLocation(Version, hash, shard, i));
        }
        await workspace.Catalog.AddSignaturesAsync(locations);
        var optics = Optics.Order(NeighbourGraph.Build(x, 4, 0.13), 2);
        var parameters = new ClusteringParameters(0.13, 2, Extraction.Xi, 0.05, null, true, null);
        var manifest = ClusterManifest.Create(new ManifestRun("run-1", DateTimeOffset.UnixEpoch, Version, parameters), ids, x, 4, optics, Optics.ExtractXi(optics, 0.05).Labels, null);
        await new ManifestPublisher(workspace.Blobs).PublishAsync(manifest, null);
        Assert.Equal(3, manifest.Clusters.Count);
        return [.. manifest.Clusters];
    }

    private static string IdIn(string output) => output.Split(' ')[1].TrimEnd(':');

    [Fact]
    public async Task Annotate_list_undo_and_evaluate_with_the_annotations()
    {
        var clusters = await PrepareAsync();
        var (a, b) = (clusters[0].Members.Select(m => m.ImageId).ToArray(), clusters[1].Members.Select(m => m.ImageId).ToArray());

        var (exit, output, error) = await Cli.RunAsync("annotate", "--out", Workspace, "--cluster", clusters[0].Id, "--label", "confirm", "--images", string.Join(",", a), "--annotator", "Zoë");
        Assert.True(exit == 0, error);
        Assert.Matches($@"^Annotation \S+: confirm of 2 images in cluster {clusters[0].Id} \(run run-1, model .+\), by Zoë\.\n$", output);
        var confirm = IdIn(output);
        (exit, output, error) = await Cli.RunAsync("annotate", "--out", Workspace, "--cluster", clusters[1].Id, "--label", "wrong-member", "--image", b[0], "--note", "another print");
        Assert.True(exit == 0, error);
        Assert.EndsWith($"by {Environment.UserName}.\n", output);

        (exit, output, error) = await Cli.RunAsync("annotate", "--out", Workspace, "--undo", confirm);
        Assert.True(exit == 0, error);
        Assert.StartsWith("Annotation ", output);
        Assert.Contains($"undo of {confirm} (cluster {clusters[0].Id})", output);

        (exit, _, error) = await Cli.RunAsync("annotate", "--out", Workspace, "--undo", confirm);
        Assert.Equal(2, exit);
        Assert.Equal($"motif annotate: refused (already-undone): {confirm} is already undone.\n", error);

        (exit, output, error) = await Cli.RunAsync("annotate", "--out", Workspace, "--list");
        Assert.True(exit == 0, error);
        var lines = output.TrimEnd('\n').Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.Contains($"[undone by {IdIn("x " + lines[2])}]", lines[0]);
        Assert.Contains($"wrong-member {b[0]}", lines[1]);
        Assert.Equal("3 annotations, 1 in effect.", lines[3]);
        (exit, output, _) = await Cli.RunAsync("annotate", "--out", Workspace, "--list", "--cluster", clusters[1].Id);
        Assert.Equal("1 annotations, 1 in effect.", output.TrimEnd('\n').Split('\n')[^1]);

        // With nothing imported, the annotations alone are the ground truth: the confirmed pair again, after the undo.
        (exit, _, error) = await Cli.RunAsync("annotate", "--out", Workspace, "--cluster", clusters[2].Id, "--label", "confirm", "--images", string.Join(",", clusters[2].Members.Select(m => m.ImageId)));
        Assert.True(exit == 0, error);
        (exit, output, error) = await Cli.RunAsync("evaluate", "--out", Workspace, "--split", "all");
        Assert.True(exit == 0, error);
        Assert.Contains("2 annotations in effect), all part: 2 artworks as queries (0 without a signature), gallery 8.", output);
        Assert.Contains("  mAP            1.000", output);
    }

    [Fact]
    public async Task Bad_requests_get_one_line_and_exit_2_and_store_nothing()
    {
        var clusters = await PrepareAsync();
        var members = clusters[0].Members.Select(m => m.ImageId).ToArray();
        var outsider = clusters[1].Members[0].ImageId;
        string[] Annotate(params string[] rest) => ["annotate", "--out", Workspace, .. rest];

        var cases = new (string[] Args, string Error)[]
        {
            (Annotate(), "give exactly one of --label"),
            (Annotate("--list", "--undo", "x"), "give exactly one of --label"),
            (Annotate("--label", "great", "--cluster", clusters[0].Id, "--images", "a,b"), "--label: expected confirm, wrong-member, wrong-cluster or similar; got 'great'."),
            (Annotate("--label", "undo", "--cluster", clusters[0].Id), "--label: expected"),
            (Annotate("--label", "confirm", "--images", string.Join(",", members)), "--label needs --cluster"),
            (Annotate("--label", "confirm", "--cluster", clusters[0].Id), "refused (invalid): no image selected"),
            (Annotate("--label", "confirm", "--cluster", "c-none", "--images", string.Join(",", members)), "refused (unknown-cluster)"),
            (Annotate("--label", "confirm", "--cluster", clusters[0].Id, "--images", $"{members[0]},{outsider}"), "refused (not-in-cluster)"),
            (Annotate("--label", "confirm", "--cluster", clusters[0].Id, "--images", $"{members[0]},img-404"), "refused (unknown-image)"),
            (Annotate("--label", "confirm", "--cluster", clusters[0].Id, "--images", string.Join(",", Enumerable.Range(0, 201).Select(i => $"i{i}"))), "refused (too-large)"),
            (Annotate("--label", "confirm", "--cluster", clusters[0].Id, "--images", string.Join(",", members), "--annotator", "eve\u001b[2J\u202E"), "refused (invalid): the annotator has the character U+001B"),
            (Annotate("--label", "similar", "--cluster", clusters[0].Id, "--images", string.Join(",", members), "--note", "ok\r\nINFO forged"), "refused (invalid): the note has the character U+000D"),
            (Annotate("--undo", "../../etc/passwd"), "refused (invalid): an undo needs the id"),
            (Annotate("--undo", "20261130T0405060000000Z-0123456789abcdef"), "refused (unknown-annotation)"),
            (["annotate", "--out", Path.Combine(_scratch.FullName, "nowhere"), "--list"], "No workspace in"),
        };
        foreach (var (args, expected) in cases)
        {
            var (exit, output, error) = await Cli.RunAsync(args);
            Assert.True(exit == 2, $"{string.Join(' ', args)} → {exit}: {error}");
            Assert.Contains(expected, error);
            Assert.Equal(1, error.Count(c => c == '\n'));
            Assert.DoesNotContain(error, c => char.IsControl(c) && c != '\n');
            Assert.Equal("", output);
        }
        var (_, list, _) = await Cli.RunAsync(Annotate("--list"));
        Assert.Equal("0 annotations, 0 in effect.\n", list);
    }
}
