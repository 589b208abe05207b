using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Motif.Storage.Catalog;
using Motif.Testing;

namespace Motif.Cli.Tests;

/// <summary>
/// Folders a hostile tester made (issue 12): names that are not UTF-8, FIFOs and sockets named like images, a backslash
/// in a name, paths longer than the system allows, and a workspace inside the collection it reads. Every file must be
/// accounted for, nothing may hang, and no two files may share an image id.
/// </summary>
public sealed class IntakeHostileFolderTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("motif-hostile-");

    // rm, not Directory.Delete: .NET cannot name a file whose name is not UTF-8, nor reach below 4,096 bytes of path.
    public void Dispose() => Shell("rm -rf \"$1\"", _folder.FullName);

    private string In(string relative) => Path.Combine(_folder.FullName, relative);

    /// <summary>Runs a POSIX shell script with positional arguments (what .NET strings cannot express: raw bytes, deep paths).</summary>
    private static void Shell(string script, params string[] args)
    {
        var start = new ProcessStartInfo("sh") { RedirectStandardError = true };
        foreach (var a in (string[])["-c", script, "sh", .. args])
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(Patience), "the shell did not finish");
        Assert.True(process.ExitCode == 0, error);
    }

    /// <summary>The intake report as path → reason (or accepted:format) and path → message, within <see cref="Patience"/>.</summary>
    private async Task<(Dictionary<string, string> Outcomes, Dictionary<string, string> Messages, int Files)> IntakeAsync()
    {
        var run = Task.Run(() => Cli.RunAsync("intake", _folder.FullName, "--json"));
        var (exit, output, error) = await run.WaitAsync(Patience);
        Assert.True(exit == 0, error);
        using var json = JsonDocument.Parse(output);
        var items = json.RootElement.GetProperty("items").EnumerateArray().ToArray();
        var paths = items.Select(i => i.GetProperty("path").GetString()!).ToArray();
        Assert.Equal(paths.Length, paths.Distinct(StringComparer.Ordinal).Count());
        return (
            items.ToDictionary(i => i.GetProperty("path").GetString()!, i => i.GetProperty("reason").GetString() ?? "accepted:" + i.GetProperty("format").GetString()),
            items.ToDictionary(i => i.GetProperty("path").GetString()!, i => i.GetProperty("message").GetString() ?? ""),
            json.RootElement.GetProperty("files").GetInt32());
    }

    [Fact]
    public async Task A_name_that_is_not_UTF8_is_read_by_its_bytes_and_gets_a_printable_percent_escaped_id()
    {
        File.WriteAllBytes(In("source.jpg"), ImageFixtures.Jpeg(320, 240));
        // caf\351 is "café" in Latin-1: the byte 0xE9 alone is not UTF-8.
        Shell("cd \"$1\" && cp source.jpg \"$(printf 'caf\\351.jpg')\" && cp source.jpg café.jpg && cp source.jpg 100%.jpg && rm source.jpg", _folder.FullName);

        var (outcomes, _, files) = await IntakeAsync();

        Assert.Equal(3, files);
        Assert.Equal(new Dictionary<string, string>
        {
            // A literal '%' is escaped too, so no valid name can imitate an escaped one.
            ["100%25.jpg"] = "accepted:jpeg",
            ["caf%E9.jpg"] = "accepted:jpeg",
            ["café.jpg"] = "accepted:jpeg",
        }, outcomes);
    }

    [Fact]
    public async Task A_FIFO_and_a_socket_named_like_images_are_refused_without_being_opened()
    {
        File.WriteAllBytes(In("good.jpg"), ImageFixtures.Jpeg(320, 240));
        Shell("mkfifo \"$1\"", In("x.jpg"));
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(In("s.jpg")));

        // Opening a FIFO for reading blocks until a writer comes: the old intake hung here, deaf to SIGINT.
        var (outcomes, messages, _) = await IntakeAsync();

        Assert.Equal(new Dictionary<string, string>
        {
            ["good.jpg"] = "accepted:jpeg",
            ["s.jpg"] = "unreadable",
            ["x.jpg"] = "unreadable",
        }, outcomes);
        Assert.Contains("Not a regular file", messages["x.jpg"]);
        Assert.Contains("FIFO", messages["x.jpg"]);
        Assert.Contains("socket", messages["s.jpg"]);
    }

    [Fact]
    public async Task A_backslash_is_an_ordinary_name_character_and_no_two_files_share_an_id()
    {
        var photo = ImageFixtures.Jpeg(320, 240);
        File.WriteAllBytes(In("x\\y.jpg"), photo);
        Directory.CreateDirectory(In("x"));
        File.WriteAllBytes(In("x/y.jpg"), ImageFixtures.Png(200, 150));

        var (outcomes, _, files) = await IntakeAsync();

        Assert.Equal(2, files);
        Assert.Equal(new Dictionary<string, string> { ["x\\y.jpg"] = "accepted:jpeg", ["x/y.jpg"] = "accepted:png" }, outcomes);
    }

    [Fact]
    public async Task Paths_longer_than_the_system_allows_are_reported_with_a_reason()
    {
        File.WriteAllBytes(In("good.jpg"), ImageFixtures.Jpeg(320, 240));
        var segment = new string('d', 200);
        // 21 nested folders of 200 characters pass 4,096 bytes; cd -P descends relative to the current folder,
        // which the kernel allows at any depth (only one path given to a call is limited).
        Shell("cd -P \"$1\" && i=0 && while [ $i -lt 21 ]; do mkdir \"$2\" && cd -P \"$2\" || exit 1; i=$((i+1)); done && : > deep.jpg", _folder.FullName, segment);
        var longest = string.Join('/', Enumerable.Repeat(segment, 20));
        Shell($"cd -P \"$1\" && {string.Concat(Enumerable.Repeat("cd -P \"$2\" && ", 20))} cp \"$3\" \"$4\"", _folder.FullName, segment, In("good.jpg"),
            new string('f', 120) + ".jpg");

        var (outcomes, messages, _) = await IntakeAsync();

        Assert.Equal("accepted:jpeg", outcomes["good.jpg"]);
        var tooLong = outcomes.Where(o => o.Key.StartsWith(longest + "/", StringComparison.Ordinal)).ToArray();
        // The 21st folder (its files cannot be listed) and the file beside it, each reported once.
        Assert.Equal(2, tooLong.Length);
        Assert.All(tooLong, o => Assert.Equal("unreadable", o.Value));
        Assert.All(tooLong, o => Assert.Contains("longer than the system allows", messages[o.Key]));
    }

    [Fact]
    public async Task A_workspace_inside_the_collection_is_refused_before_anything_is_written()
    {
        File.WriteAllBytes(In("collection/a.jpg").CreateParent(), ImageFixtures.Jpeg(320, 240));
        Directory.CreateSymbolicLink(In("alias"), In("collection"));

        foreach (var workspace in new[] { In("collection/motif-data"), In("collection"), In("alias/ws") })
        {
            var (exit, output, error) = await Cli.RunAsync("run", In("collection"), "--out", workspace);

            Assert.Equal(2, exit);
            Assert.Contains("inside the collection", error);
            Assert.Single(error.TrimEnd().Split('\n'));
            Assert.Equal("", output);
        }
        Assert.Equal(["a.jpg"], Directory.GetFileSystemEntries(In("collection")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_run_over_a_name_that_is_not_UTF8_succeeds_and_reruns()
    {
        File.WriteAllBytes(In("collection/source.jpg").CreateParent(), ImageFixtures.Jpeg(320, 240));
        Shell("cd \"$1\" && mv source.jpg \"$(printf 'caf\\351.jpg')\"", In("collection"));
        var workspace = In("workspace");

        for (var run = 0; run < 2; run++)
        {
            var (exit, output, error) = await Cli.RunAsync("run", In("collection"), "--out", workspace);
            Assert.True(exit == 0, error);
            Assert.Contains("accepted                   1", output);
        }
        using var catalog = new SqliteImageCatalog(Path.Combine(workspace, "motif.db"));
        Assert.Equal(["caf%E9.jpg"], (await catalog.ListImagesAsync()).Select(i => i.ImageId));
    }
}
