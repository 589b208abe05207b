using System.Diagnostics;
using System.Text;

namespace Motif.Cli.Tests;

/// <summary>The pieces under folder intake: statx's file kinds, the bounded read, and the injective image ids of raw names.</summary>
public sealed class IntakeUnixFileTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("motif-unixfile-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public void Statx_tells_devices_folders_FIFOs_and_links_apart_without_opening_them()
    {
        Assert.Equal(UnixFileKind.CharacterDevice, UnixFile.TryGetStatus("/dev/null"u8, out _)?.Kind);
        Assert.Equal(UnixFileKind.Directory, UnixFile.TryGetStatus(Encoding.UTF8.GetBytes(_folder.FullName), out _)?.Kind);
        var fifo = Path.Combine(_folder.FullName, "pipe");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
        {
            Assert.True(mkfifo.WaitForExit(TimeSpan.FromSeconds(30)) && mkfifo.ExitCode == 0);
        }
        Assert.Equal(UnixFileKind.Fifo, UnixFile.TryGetStatus(Encoding.UTF8.GetBytes(fifo), out _)?.Kind);
        var link = Path.Combine(_folder.FullName, "link");
        File.CreateSymbolicLink(link, "/dev/null");
        Assert.Equal(UnixFileKind.SymbolicLink, UnixFile.TryGetStatus(Encoding.UTF8.GetBytes(link), out _)?.Kind);

        var file = Path.Combine(_folder.FullName, "f.bin");
        File.WriteAllBytes(file, new byte[1234]);
        var status = UnixFile.TryGetStatus(Encoding.UTF8.GetBytes(file), out _)!.Value;
        Assert.Equal((UnixFileKind.Regular, 1234L, new FileInfo(file).LastWriteTimeUtc), (status.Kind, status.Length, status.LastWriteUtc));

        Assert.Null(UnixFile.TryGetStatus(Encoding.UTF8.GetBytes(Path.Combine(_folder.FullName, "missing")), out var errno));
        Assert.Equal("No such file or directory", UnixFile.Message(errno));
        Assert.Null(UnixFile.TryGetStatus(Encoding.UTF8.GetBytes("/" + new string('a', UnixFile.PathMax)), out errno));
        Assert.Equal("File name too long", UnixFile.Message(errno));
    }

    [Fact]
    public void An_open_refuses_to_follow_a_link_and_the_opened_handle_says_what_it_is()
    {
        var link = Path.Combine(_folder.FullName, "link");
        File.CreateSymbolicLink(link, "/dev/null");
        Assert.Null(UnixFile.TryOpenForReading(Encoding.UTF8.GetBytes(link), out var errno));
        Assert.Equal(UnixFile.ELoop, errno);

        using var device = UnixFile.TryOpenForReading("/dev/null"u8, out _);
        Assert.Equal(UnixFileKind.CharacterDevice, UnixFile.GetStatus(device!).Kind);
    }

    [Fact]
    public async Task A_file_swapped_for_a_FIFO_or_a_link_after_it_was_listed_is_refused_without_blocking()
    {
        var fifo = Path.Combine(_folder.FullName, "x.jpg");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
        {
            Assert.True(mkfifo.WaitForExit(TimeSpan.FromSeconds(30)) && mkfifo.ExitCode == 0);
        }
        var link = Path.Combine(_folder.FullName, "y.jpg");
        File.CreateSymbolicLink(link, "/dev/zero");
        // What the listing saw a moment before: two regular files.
        var listed = new UnixFileStatus(UnixFileKind.Regular, 1000, DateTime.UtcNow);

        var (bytes, refused) = await FolderIntake.ReadAsync(new FolderFile("x.jpg", Encoding.UTF8.GetBytes(fifo), listed, null), Motif.Imaging.ValidationLimits.Default, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Null(bytes);
        Assert.Equal("Not a regular file but a FIFO (named pipe); it was not read.", refused!.Message);

        (bytes, refused) = await FolderIntake.ReadAsync(new FolderFile("y.jpg", Encoding.UTF8.GetBytes(link), listed, null), Motif.Imaging.ValidationLimits.Default, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Null(bytes);
        Assert.Equal("It, or a folder on its path, is a symbolic link now (it was not when listed); links are not followed.", refused!.Message);
    }

    [Fact]
    public async Task A_folder_swapped_for_a_link_to_outside_after_the_listing_cannot_redirect_the_read()
    {
        var collection = Directory.CreateDirectory(Path.Combine(_folder.FullName, "collection"));
        var album = Directory.CreateDirectory(Path.Combine(collection.FullName, "album", "1900"));
        File.WriteAllText(Path.Combine(album.FullName, "a.jpg"), "inside");
        var outside = Directory.CreateDirectory(Path.Combine(_folder.FullName, "outside", "1900"));
        File.WriteAllText(Path.Combine(outside.FullName, "a.jpg"), "a secret outside the collection");
        var listed = FolderIntake.List(collection).Single();
        Assert.Equal("album/1900/a.jpg", listed.Path);

        // Between listing and reading, the folder "album" becomes a link to a folder outside with the same layout.
        Directory.Move(Path.Combine(collection.FullName, "album"), Path.Combine(_folder.FullName, "album-moved"));
        Directory.CreateSymbolicLink(Path.Combine(collection.FullName, "album"), Path.Combine(_folder.FullName, "outside"));
        var (bytes, refused) = await FolderIntake.ReadAsync(listed, Motif.Imaging.ValidationLimits.Default, CancellationToken.None);

        Assert.Null(bytes);
        Assert.Equal(Motif.Core.RejectionReason.Unreadable, refused!.Rejection);
        Assert.Contains("a folder on its path, is a symbolic link now", refused.Message);
    }

    [Fact]
    public async Task A_collection_reached_through_a_link_is_still_read_only_its_inside_is_walked_without_links()
    {
        // The folder the user names may itself be a link (a mounted drive, a home folder elsewhere).
        var real = Directory.CreateDirectory(Path.Combine(_folder.FullName, "real", "sub"));
        File.WriteAllText(Path.Combine(real.FullName, "b.jpg"), "inside");
        var named = Path.Combine(_folder.FullName, "named");
        Directory.CreateSymbolicLink(named, Path.Combine(_folder.FullName, "real"));

        var listed = FolderIntake.List(new DirectoryInfo(named)).Single();
        var (bytes, refused) = await FolderIntake.ReadAsync(listed, Motif.Imaging.ValidationLimits.Default, CancellationToken.None);

        Assert.Null(refused);
        Assert.Equal("inside", Encoding.UTF8.GetString(bytes!));
    }

    [Fact]
    public async Task A_read_stops_one_byte_past_the_limit_whatever_the_length_said()
    {
        // /dev/zero never ends and reports length 0, as the device in issue 12 did before intake ran out of memory.
        using (var zero = File.OpenHandle("/dev/zero"))
        {
            Assert.Null(await FolderIntake.ReadAtMostAsync(zero, expectedLength: 0, maxBytes: 100_000, CancellationToken.None));
        }
        var file = Path.Combine(_folder.FullName, "f.bin");
        var bytes = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
        File.WriteAllBytes(file, bytes);
        using var handle = File.OpenHandle(file);
        Assert.Equal(bytes, await FolderIntake.ReadAtMostAsync(handle, expectedLength: 100_000, maxBytes: 100_000, CancellationToken.None));
        // A file longer than it said (it grew after statx) is read to its end, or refused past the limit.
        Assert.Equal(bytes, await FolderIntake.ReadAtMostAsync(handle, expectedLength: 10, maxBytes: 100_000, CancellationToken.None));
        Assert.Null(await FolderIntake.ReadAtMostAsync(handle, expectedLength: 10, maxBytes: 99_999, CancellationToken.None));
        Assert.Equal(bytes, await FolderIntake.ReadAtMostAsync(handle, expectedLength: 200_000, maxBytes: 200_000, CancellationToken.None));
    }

    [Fact]
    public void Ids_escape_bytes_that_are_not_UTF8_and_every_percent_and_map_back_to_the_exact_bytes()
    {
        Assert.Equal("caf%E9.jpg", FolderImageId.Of([0x63, 0x61, 0x66, 0xE9, 0x2E, 0x6A, 0x70, 0x67]));
        Assert.Equal("café.jpg", FolderImageId.Of("café.jpg"u8));
        Assert.Equal("100%25.jpg", FolderImageId.Of("100%.jpg"u8));
        Assert.Equal("x\\y.jpg", FolderImageId.Of("x\\y.jpg"u8));
        // A surrogate encoded in UTF-8 (CESU) and a truncated sequence are not valid UTF-8 either.
        Assert.Equal("%ED%A0%80%E2%82", FolderImageId.Of([0xED, 0xA0, 0x80, 0xE2, 0x82]));

        var random = new Random(12);
        var seen = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        byte[] alphabet = [(byte)'%', (byte)'2', (byte)'5', (byte)'E', (byte)'9', (byte)'a', (byte)'\\', 0xC3, 0xA9, 0xE9, 0xED, 0xA0, 0x80, 0xF0, 0x9F, 0x8E, 0xA8, 0xFF];
        for (var n = 0; n < 20_000; n++)
        {
            var name = Enumerable.Range(0, random.Next(1, 7)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray();
            var id = FolderImageId.Of(name);
            Assert.Equal(name, FolderImageId.BytesOf(id));
            // Printable text: no U+FFFD, no lone surrogate (either would not survive UTF-8 unchanged).
            Assert.DoesNotContain('\uFFFD', id);
            Assert.Equal(id, Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(id)));
            if (seen.TryGetValue(id, out var other))
            {
                Assert.Equal(other, name);
            }
            seen[id] = name;
        }
    }
}
