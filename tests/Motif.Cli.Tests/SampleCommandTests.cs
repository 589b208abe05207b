using Motif.Imaging;
using Motif.Testing;

namespace Motif.Cli.Tests;

public sealed class SampleCommandTests : IDisposable
{
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("motif-sample-");

    public void Dispose() => _scratch.Delete(recursive: true);

    private string In(string relative) => Path.Combine(_scratch.FullName, relative);

    /// <summary>A small source folder: six of scikit-image's photographs and a file that is not an image.</summary>
    private DirectoryInfo SmallSource()
    {
        var source = Directory.CreateDirectory(In("source"));
        foreach (var name in new[] { "astronaut.png", "camera.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg" })
        {
            File.WriteAllBytes(Path.Combine(source.FullName, name), TestData.Photo(name));
        }
        File.WriteAllText(Path.Combine(source.FullName, "README.txt"), "not a photograph");
        return source;
    }

    /// <summary>Every file below <paramref name="root"/> as relative '/' path → bytes.</summary>
    private static SortedDictionary<string, byte[]> Files(string root) => new(
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f).Replace('\\', '/'), File.ReadAllBytes),
        StringComparer.Ordinal);

    private static string[] Images(string root) =>
        Files(root).Keys.Where(p => p.EndsWith(".jpg", StringComparison.Ordinal)).ToArray();

    [Fact]
    public async Task Sample_of_the_default_source_has_the_layout_and_exactly_the_within_family_pairs()
    {
        var output = In("sample");

        var (exit, text, error) = await Cli.RunAsync("sample", output, "--families", "3");

        Assert.True(exit == 0, error);
        Assert.Contains("3 families", text, StringComparison.Ordinal);
        var images = Images(output);
        var families = images.Where(p => p.StartsWith("families/", StringComparison.Ordinal))
            .GroupBy(p => p.Split('/')[1]).ToDictionary(g => g.Key, g => g.ToArray());
        var distractors = images.Where(p => p.StartsWith("distractors/", StringComparison.Ordinal)).ToArray();
        Assert.Equal(images.Length, families.Values.Sum(f => f.Length) + distractors.Length);
        Assert.Equal(3, families.Count);
        Assert.InRange(distractors.Length, 1, 10);
        foreach (var (name, members) in families)
        {
            Assert.Matches("^[a-z0-9_-]+$", name);
            Assert.Contains($"families/{name}/original.jpg", members);
            Assert.InRange(members.Length, 4, 7);
            Assert.All(members, m => Assert.Contains(m.Split('/')[2][..^4], SampleCollection.VariantKinds.Append("original")));
        }
        Assert.Equal(images, File.ReadAllLines(Path.Combine(output, SampleCollection.ImagesFile)));

        var lines = File.ReadAllLines(Path.Combine(output, SampleCollection.MorphographFile));
        Assert.Equal("uid_connection,type,img1,img2", lines[0]);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToArray();
        Assert.All(rows, r => Assert.Equal(4, r.Length));
        Assert.Equal(Enumerable.Range(1, rows.Length).Select(i => $"p{i:D4}"), rows.Select(r => r[0]));
        Assert.All(rows, r => Assert.Equal("POSITIVE", r[1]));
        Assert.All(rows, r => Assert.True(string.CompareOrdinal(r[2], r[3]) < 0, $"{r[2]} !< {r[3]}"));
        var expected = families.Values
            .SelectMany(m => m.SelectMany(a => m.Where(b => string.CompareOrdinal(a, b) < 0).Select(b => (a, b))))
            .Order().ToArray();
        Assert.Equal(expected, rows.Select(r => (r[2], r[3])).Order().ToArray());
        Assert.Contains($"{rows.Length} POSITIVE pairs", text, StringComparison.Ordinal);

        Assert.All(images, image =>
        {
            var result = ImageCodec.Validate(File.ReadAllBytes(Path.Combine(output, image)));
            var info = Assert.IsType<ValidationResult.Accepted>(result).Info;
            Assert.Equal(ImageFormat.Jpeg, info.Format);
            Assert.InRange(Math.Max(info.Width, info.Height), 256, 1024);
        });
    }

    [Fact]
    public async Task Two_runs_write_byte_identical_files_and_a_rerun_over_the_sample_changes_nothing()
    {
        var source = SmallSource();
        var (first, second) = (In("first"), In("second"));

        var (exit, _, error) = await Cli.RunAsync("sample", first, "--source", source.FullName, "--families", "2", "--seed", "7");
        Assert.True(exit == 0, error);
        var summary = SampleCollection.Write(new DirectoryInfo(second), new SampleOptions(source) { Seed = 7, Families = 2, Parallelism = 1 });
        var written = Files(first);

        Assert.Equal(written, Files(second));
        Assert.Equal(summary.Images, Images(first).Length);
        (exit, _, error) = await Cli.RunAsync("sample", first, "--source", source.FullName, "--families", "2", "--seed", "7");
        Assert.True(exit == 0, error);
        Assert.Equal(written, Files(first));

        (exit, _, _) = await Cli.RunAsync("sample", In("other-seed"), "--source", source.FullName, "--families", "2", "--seed", "8");
        Assert.Equal(0, exit);
        Assert.NotEqual(written, Files(In("other-seed")));
    }

    [Fact]
    public void Roles_come_from_the_source_and_every_unusable_file_is_reported()
    {
        var source = SmallSource();

        var summary = SampleCollection.Write(new DirectoryInfo(In("out")), new SampleOptions(source));

        // Six photos: one scene, one distractor, four families.
        Assert.Equal((4, 1, 1), (summary.Families, summary.Distractors, summary.Scenes));
        Assert.Equal(7, summary.SourceFiles);
        var (file, reason) = Assert.Single(summary.Skipped);
        Assert.Equal("README.txt", file);
        Assert.Contains("unknown-format", reason, StringComparison.Ordinal);
        Assert.Equal(summary.Images, File.ReadAllLines(In("out/images.txt")).Length);
        Assert.Equal(summary.Edges, File.ReadAllLines(In("out/morphograph.csv")).Length - 1);
    }

    [Fact]
    public async Task Samples_of_the_two_halves_share_no_photo_whatever_their_seeds()
    {
        var source = SmallSource();

        var (exitA, textA, errorA) = await Cli.RunAsync("sample", In("a"), "--source", source.FullName, "--bases", "a", "--seed", "2022");
        var (exitB, _, errorB) = await Cli.RunAsync("sample", In("b"), "--source", source.FullName, "--bases", "b", "--seed", "2022");
        var all = SampleCollection.Write(new DirectoryInfo(In("all")), new SampleOptions(source) { Seed = 7 });

        Assert.True(exitA == 0, errorA);
        Assert.True(exitB == 0, errorB);
        Assert.Contains("half a of the source", textA, StringComparison.Ordinal);
        // Every photo of a half is a base, a distractor or a scene: the names of families and distractors, plus the scene
        // (the host of a pasted variant, written nowhere on its own) are disjoint when the whole halves are.
        var (a, b) = (PhotosOf(In("a")), PhotosOf(In("b")));
        Assert.NotEmpty(a);
        Assert.NotEmpty(b);
        Assert.Empty(a.Intersect(b));
        var skippedA = SampleCollection.Write(new DirectoryInfo(In("a2")), new SampleOptions(source) { Bases = SampleBases.HalfA, Seed = 7 }).Skipped;
        var skippedB = SampleCollection.Write(new DirectoryInfo(In("b2")), new SampleOptions(source) { Bases = SampleBases.HalfB, Seed = 99 }).Skipped;
        var halfA = skippedB.Where(s => s.Reason.Contains("half a", StringComparison.Ordinal)).Select(s => s.File).ToHashSet();
        var halfB = skippedA.Where(s => s.Reason.Contains("half b", StringComparison.Ordinal)).Select(s => s.File).ToHashSet();
        // Six photos, dealt alternately in name order: three each, and together all six.
        Assert.Equal(["astronaut.png", "chelsea.png", "motorcycle_left.png"], halfA.Order(StringComparer.Ordinal));
        Assert.Equal(["camera.png", "coffee.png", "rocket.jpg"], halfB.Order(StringComparer.Ordinal));
        Assert.Equal(all.Families + all.Distractors + all.Scenes, halfA.Count + halfB.Count);
        // Any other half does not parse (exit 1, System.CommandLine's message).
        Assert.Equal(1, (await Cli.RunAsync("sample", In("c"), "--source", source.FullName, "--bases", "c")).Exit);
    }

    [Fact]
    public async Task Tiles_cut_each_photo_of_a_half_without_overlap_and_each_stands_beside_one_reproduction_of_a_detail()
    {
        var source = SmallSource();

        var (exit, text, error) = await Cli.RunAsync("sample", In("tiles"), "--source", source.FullName, "--layout", "tiles", "--bases", "b", "--seed", "7");

        Assert.True(exit == 0, error);
        // Half b: camera 512×512 (3×3 tiles of at least 160 px), coffee 600×400 (3×2), rocket 640×427 (4×2).
        Assert.Contains("23 tiles of 3 photos", text, StringComparison.Ordinal);
        var images = Images(In("tiles"));
        Assert.Equal(46, images.Length);
        Assert.All(images, p => Assert.Matches("^tiles/(camera|coffee|rocket)-r[0-9]c[0-9]/(original|detail-(colour|engraving|tilt))\\.jpg$", p));
        var tiles = images.GroupBy(p => p.Split('/')[1]).ToDictionary(g => g.Key, g => g.Order(StringComparer.Ordinal).ToArray());
        foreach (var (name, members) in tiles)
        {
            Assert.Equal(2, members.Length);
            var tile = Size(In($"tiles/tiles/{name}/original.jpg"));
            var copy = Size(In("tiles/" + members[0]));
            // A detail of 50–80 % of each side; a tilt of at most 12° then keeps more than 60 % of that.
            Assert.InRange(copy.Width, (int)(0.3 * tile.Width), (int)Math.Ceiling(0.8 * tile.Width) + 1);
            Assert.InRange(copy.Height, (int)(0.3 * tile.Height), (int)Math.Ceiling(0.8 * tile.Height) + 1);
        }
        // Non-overlapping and covering: a photo's tiles along a row add up to its width, down a column to its height.
        foreach (var (photo, width, height) in new[] { ("camera", 512, 512), ("coffee", 600, 400), ("rocket", 640, 427) })
        {
            var grid = tiles.Keys.Where(k => k.StartsWith(photo + "-", StringComparison.Ordinal)).ToArray();
            Assert.Equal(width, grid.Where(k => k.Contains("-r0c", StringComparison.Ordinal)).Sum(k => Size(In($"tiles/tiles/{k}/original.jpg")).Width));
            Assert.Equal(height, grid.Where(k => k.EndsWith("c0", StringComparison.Ordinal)).Sum(k => Size(In($"tiles/tiles/{k}/original.jpg")).Height));
        }
        // Ground truth: exactly one POSITIVE pair per tile, its original and its reproduction.
        var pairs = File.ReadAllLines(In("tiles/morphograph.csv")).Skip(1).Select(l => l.Split(',')).ToArray();
        Assert.Equal(tiles.Count, pairs.Length);
        Assert.All(pairs, p => Assert.Equal(("POSITIVE", p[2].Split('/')[1]), (p[1], p[3].Split('/')[1])));
        Assert.Equal(tiles.Keys.Order(StringComparer.Ordinal), pairs.Select(p => p[2].Split('/')[1]));

        // Reproducible by seed: the same bytes again; another seed keeps the tiles and redraws the reproductions.
        var written = Files(In("tiles"));
        SampleCollection.Write(new DirectoryInfo(In("again")), new SampleOptions(source) { Layout = SampleLayout.Tiles, Bases = SampleBases.HalfB, Seed = 7, Parallelism = 1 });
        Assert.Equal(written, Files(In("again")));
        SampleCollection.Write(new DirectoryInfo(In("other")), new SampleOptions(source) { Layout = SampleLayout.Tiles, Bases = SampleBases.HalfB, Seed = 8 });
        var other = Files(In("other"));
        Assert.All(tiles.Keys, k => Assert.Equal(written[$"tiles/{k}/original.jpg"], other[$"tiles/{k}/original.jpg"]));
        Assert.NotEqual(written.Keys.Where(k => k.Contains("detail-", StringComparison.Ordinal)).Select(k => written[k]),
            other.Keys.Where(k => k.Contains("detail-", StringComparison.Ordinal)).Select(k => other[k]));

        // Half a shares no photo with half b; --families has no meaning here and is refused in one line.
        var halfA = SampleCollection.Write(new DirectoryInfo(In("a")), new SampleOptions(source) { Layout = SampleLayout.Tiles, Bases = SampleBases.HalfA });
        Assert.Equal(2 * halfA.Families, Images(In("a")).Length);
        Assert.Empty(Images(In("a")).Select(p => p.Split('/')[1].Split("-r")[0]).Intersect(["camera", "coffee", "rocket"]));
        var refused = await Cli.RunAsync("sample", In("refused"), "--source", source.FullName, "--layout", "tiles", "--families", "2");
        Assert.Equal((2, "--families applies to --layout families only."), (refused.Exit, refused.Error.Trim()));
    }

    private static (int Width, int Height) Size(string path) =>
        ImageCodec.Validate(File.ReadAllBytes(path)) is ValidationResult.Accepted { Info: var info }
            ? (info.DisplayWidth, info.DisplayHeight)
            : throw new InvalidOperationException($"{path} does not validate");

    /// <summary>The source photos a sample shows on their own: its families' and distractors' names.</summary>
    private static HashSet<string> PhotosOf(string root) =>
    [
        .. Directory.GetDirectories(Path.Combine(root, "families")).Select(Path.GetFileName).OfType<string>(),
        .. Directory.GetFiles(Path.Combine(root, "distractors")).Select(Path.GetFileNameWithoutExtension).OfType<string>(),
    ];

    [Fact]
    public async Task A_non_empty_folder_that_is_not_a_sample_is_refused_and_left_alone()
    {
        var output = Directory.CreateDirectory(In("photos"));
        File.WriteAllText(Path.Combine(output.FullName, "holiday.jpg"), "mine");

        var (exit, text, error) = await Cli.RunAsync("sample", output.FullName, "--source", SmallSource().FullName);

        Assert.Equal(2, exit);
        Assert.Equal("", text);
        Assert.Contains("not a previous sample", error, StringComparison.Ordinal);
        Assert.Equal(["holiday.jpg"], Files(output.FullName).Keys);
    }

    [Fact]
    public async Task Overwriting_a_sample_removes_only_the_images_it_wrote_before()
    {
        var source = SmallSource();
        var output = In("sample");
        Assert.Equal(0, (await Cli.RunAsync("sample", output, "--source", source.FullName, "--families", "4")).Exit);
        File.WriteAllText(Path.Combine(output, "notes.txt"), "a curator's notes");
        File.WriteAllText(Path.Combine(output, "families", "extra.jpg"), "not the sample's");

        var (exit, _, error) = await Cli.RunAsync("sample", output, "--source", source.FullName, "--families", "2");

        Assert.True(exit == 0, error);
        var gallery = File.ReadAllLines(Path.Combine(output, SampleCollection.ImagesFile));
        Assert.Equal(gallery.Append("families/extra.jpg").Order(StringComparer.Ordinal), Images(output));
        Assert.Equal(2, Directory.GetDirectories(Path.Combine(output, "families")).Length);
        Assert.True(File.Exists(Path.Combine(output, "notes.txt")));
    }

    [Fact]
    public async Task A_source_with_too_few_photos_is_refused()
    {
        var source = Directory.CreateDirectory(In("few"));
        File.WriteAllBytes(Path.Combine(source.FullName, "coffee.png"), TestData.Photo("coffee.png"));
        File.WriteAllBytes(Path.Combine(source.FullName, "tiny.jpg"), ImageFixtures.Jpeg(200, 150));

        var (exit, _, error) = await Cli.RunAsync("sample", In("out"), "--source", source.FullName);

        Assert.Equal(2, exit);
        Assert.Contains("1 usable photo", error, StringComparison.Ordinal);
        Assert.Equal(2, (await Cli.RunAsync("sample", In("out"), "--source", In("missing"))).Exit);
    }
}
