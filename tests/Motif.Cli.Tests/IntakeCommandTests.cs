using System.Text.Json;
using Motif.Testing;

namespace Motif.Cli.Tests;

public sealed class IntakeCommandTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("motif-intake-");

    public void Dispose() => _folder.Delete(recursive: true);

    private void Write(string relativePath, byte[] bytes)
    {
        var path = Path.Combine(_folder.FullName, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }


    private void WriteMixedCollection()
    {
        var photo = ImageFixtures.Jpeg(320, 240);
        Write("paintings/a.jpg", photo);
        Write("paintings/copies/a-again.jpg", photo);
        Write("b.png", ImageFixtures.Png(200, 150));
        Write("c.tif", ImageFixtures.Tiff16(200, 150));
        Write("animation.gif", ImageFixtures.Gif());
        Write("broken/cut.jpg", ImageFixtures.Truncated(ImageFixtures.Jpeg(320, 240)));
        Write("broken/empty.jpg", []);
        Write("broken/notes.jpg", ImageFixtures.TextNamedJpeg());
        Write("broken/bomb.png", ImageFixtures.PngDeclaring(30_000, 30_000));
        Write("tiny.jpg", ImageFixtures.Jpeg(40, 30));
        Write(".hidden.jpg", ImageFixtures.Jpeg(100, 100));
        File.CreateSymbolicLink(Path.Combine(_folder.FullName, "link.jpg"), "/etc/passwd");
        Directory.CreateSymbolicLink(Path.Combine(_folder.FullName, "linked-dir"), "/etc");
    }

    [Fact]
    public async Task The_metadata_csv_at_the_root_is_not_an_image_but_one_deeper_down_is_an_ordinary_file()
    {
        Write("a.jpg", ImageFixtures.Jpeg(320, 240));
        Write("metadata.csv", "filename,title\na.jpg,A\n"u8.ToArray());
        Write("prints/metadata.csv", "filename,title\na.jpg,A\n"u8.ToArray());

        var (exit, output, _) = await Cli.RunAsync("intake", _folder.FullName, "--json");

        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(["a.jpg", "prints/metadata.csv"], json.RootElement.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("path").GetString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Json_report_accounts_for_every_file_with_a_reason()
    {
        WriteMixedCollection();

        var (exit, output, _) = await Cli.RunAsync("intake", _folder.FullName, "--json");

        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        var reasons = root.GetProperty("items").EnumerateArray().ToDictionary(
            i => i.GetProperty("path").GetString()!,
            i => i.GetProperty("reason").GetString() ?? "accepted:" + i.GetProperty("format").GetString());
        Assert.Equal(new Dictionary<string, string>
        {
            [".hidden.jpg"] = "accepted:jpeg",
            ["animation.gif"] = "unsupported-format",
            ["b.png"] = "accepted:png",
            ["broken/bomb.png"] = "too-many-pixels",
            ["broken/cut.jpg"] = "corrupt",
            ["broken/empty.jpg"] = "empty",
            ["broken/notes.jpg"] = "unknown-format",
            ["c.tif"] = "accepted:tiff",
            ["link.jpg"] = "unreadable",
            ["linked-dir"] = "unreadable",
            ["paintings/a.jpg"] = "accepted:jpeg",
            ["paintings/copies/a-again.jpg"] = "accepted:jpeg",
            ["tiny.jpg"] = "too-small",
        }, reasons);
        Assert.Equal((13, 5, 8, 1), (root.GetProperty("files").GetInt32(), root.GetProperty("accepted").GetInt32(),
            root.GetProperty("rejected").GetInt32(), root.GetProperty("duplicateContent").GetInt32()));
        Assert.Equal(2, root.GetProperty("rejectedByReason").GetProperty("unreadable").GetInt32());
        Assert.Matches("^[0-9a-f]{64}$", root.GetProperty("items")[0].GetProperty("sha256").GetString());
    }

    [Fact]
    public async Task Text_report_counts_by_format_and_reason_and_escapes_hostile_names()
    {
        Write("good.jpg", ImageFixtures.Jpeg(320, 240));
        Write("evil\u001b[2J\u202Egpj.jpg", []);

        var (exit, output, _) = await Cli.RunAsync("intake", _folder.FullName);

        Assert.Equal(0, exit);
        Assert.Contains("2 files: 1 accepted, 1 rejected", output);
        Assert.Matches(@"jpeg\s+1", output);
        Assert.Matches(@"empty\s+1", output);
        Assert.Contains(@"evil\u{001B}[2J\u{202E}gpj.jpg", output);
        Assert.DoesNotContain("\u001b", output);
    }

    [Fact]
    public async Task Limits_come_from_the_options()
    {
        Write("photo.jpg", ImageFixtures.Jpeg(320, 240));

        var (_, output, _) = await Cli.RunAsync("intake", _folder.FullName, "--json", "--min-side", "500");

        Assert.Contains("\"too-small\"", output);
    }

    [Fact]
    public async Task A_missing_folder_is_a_clear_error()
    {
        var (exit, _, error) = await Cli.RunAsync("intake", Path.Combine(_folder.FullName, "nope"));

        Assert.Equal(2, exit);
        Assert.Contains("No such folder", error);
    }
}
