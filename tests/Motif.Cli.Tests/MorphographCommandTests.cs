using Motif.Core.Evaluation;
using Motif.Pipeline;
using Motif.Storage.Blobs;

namespace Motif.Cli.Tests;

/// <summary>motif morphograph import from the outside: a CSV into a temporary workspace, then a bigger one.</summary>
public sealed class MorphographCommandTests : IDisposable
{
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("motif-morphograph-");

    public void Dispose() => _scratch.Delete(recursive: true);

    private string Workspace => Path.Combine(_scratch.FullName, "workspace");

    private async Task<string> WriteCsvAsync(string name, IEnumerable<string> rows)
    {
        var path = Path.Combine(_scratch.FullName, name);
        await File.WriteAllTextAsync(path, "uid_connection,type,img1,img2\n" + string.Concat(rows.Select((r, i) => $"e{i},{r}\n")));
        return path;
    }

    private async Task<(MorphographSplit Split, byte[] Edges)> StoredAsync()
    {
        using var blobs = new LocalFolderBlobStore(Path.Combine(Workspace, "blobs"));
        return (MorphographSplit.Parse(await blobs.ReadAllBytesAsync(CollectionBlobs.MorphographSplit)), await blobs.ReadAllBytesAsync(CollectionBlobs.MorphographEdges));
    }

    [Fact]
    public async Task Importing_a_bigger_csv_extends_the_stored_split_without_moving_a_held_out_image_into_training()
    {
        var test = SplitComponents.ComponentIn(SplitPart.Test, "t");
        var train = SplitComponents.ComponentIn(SplitPart.Train, "r");
        string[] first =
        [
            $"POSITIVE,{test}-a,{test}-b", $"POSITIVE,{train}-a,{train}-b",
            .. Enumerable.Range(0, 30).Select(i => $"POSITIVE,p{i:D2}-a,p{i:D2}-b"),
            "DUPLICATE,p00-b,p00-photo2", "SIMILAR,s1,s2",
        ];
        var (exit, output, error) = await Cli.RunAsync("morphograph", "import", await WriteCsvAsync("first.csv", first), "--out", Workspace);

        Assert.Equal(0, exit);
        Assert.Equal("", error);
        Assert.Contains("Morphograph first.csv: 67 images, 32 POSITIVE edges, 1 DUPLICATE edges.", output);
        Assert.Contains("Duplicates: 1 groups merged (1 photographs folded into their group's smallest id).", output);
        Assert.Contains("Components: 32 of positive edges over 65 images; 32 new, assigned by hash", output);
        Assert.Contains("a new split", output);
        Assert.Contains("Moved: none.", output);
        Assert.Contains("Stored morphograph/edges.csv and morphograph/split.json", output);
        var (before, _) = await StoredAsync();
        Assert.Equal(65, before.Parts.Count);
        Assert.Equal(before.PartOf("p00-b"), before.PartOf("p00-photo2"));
        Assert.Null(before.PartOf("s1"));

        // More annotations: the train component joined to the test one, an image added to the test component, new pairs.
        string[] second = [.. first, $"POSITIVE,{train}-b,{test}-b", $"POSITIVE,{test}-a,{test}-c", .. Enumerable.Range(0, 10).Select(i => $"POSITIVE,n{i}-a,n{i}-b")];
        var secondCsv = await WriteCsvAsync("second.csv", second);
        (exit, output, error) = await Cli.RunAsync("morphograph", "import", secondCsv, "--out", Workspace);

        Assert.Equal(0, exit);
        Assert.Equal("", error);
        Assert.Contains("10 new, assigned by hash", output);
        Assert.Contains("the stored split extended", output);
        Assert.Contains("Moved: 2 images", output);
        Assert.Contains($"  {train}-a: train → test", output);
        Assert.Contains($"  {train}-b: train → test", output);
        var (after, edges) = await StoredAsync();
        Assert.Equal(await File.ReadAllBytesAsync(secondCsv), edges);
        Assert.All(before.Parts.Where(p => p.Value != SplitPart.Train), p => Assert.Equal(p.Value, after.PartOf(p.Key)));
        Assert.All(before.Parts, p => Assert.True(after.PartOf(p.Key) >= p.Value));
        Assert.Equal(SplitPart.Test, after.PartOf($"{test}-c"));
        Assert.Equal(65 + 1 + 20, after.Parts.Count);

        // The same CSV again: nothing moves, the same bytes are stored.
        (exit, output, _) = await Cli.RunAsync("morphograph", "import", secondCsv, "--out", Workspace);
        Assert.Equal(0, exit);
        Assert.Contains("Moved: none.", output);
        Assert.Equal(after.ToJson(), (await StoredAsync()).Split.ToJson());
    }

    [Fact]
    public async Task A_malformed_csv_is_one_line_with_its_line_number_and_exit_code_2()
    {
        var csv = await WriteCsvAsync("bad.csv", ["POSITIVE,a,b", "FRIENDS,b,c"]);

        var (exit, output, error) = await Cli.RunAsync("morphograph", "import", csv, "--out", Workspace);

        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.Contains("Line 3: unknown connection type 'FRIENDS'", error);
        Assert.False(Directory.Exists(Workspace)); // refused before the workspace is opened: nothing stored
    }

    [Fact]
    public async Task A_stored_split_keeps_its_ratios()
    {
        var csv = await WriteCsvAsync("m.csv", ["POSITIVE,a,b"]);
        Assert.Equal(0, (await Cli.RunAsync("morphograph", "import", csv, "--out", Workspace, "--ratios", "0.7,0.15,0.15")).Exit);

        var (exit, _, error) = await Cli.RunAsync("morphograph", "import", csv, "--out", Workspace, "--ratios", "0.5,0.25,0.25");

        Assert.Equal(2, exit);
        Assert.Contains("train 0.7, validation 0.15, test 0.15", error);
        Assert.Equal(new SplitRatios(0.7, 0.15, 0.15), (await StoredAsync()).Split.Ratios);
    }
}
