using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Motif.Imaging;
using Motif.Testing;

namespace Motif.Cli.Tests;

/// <summary>
/// The folder side of the fuzz pass (issue 12, item 5), with a fixed seed: hostile names (bytes that are not UTF-8,
/// control characters, bidirectional overrides, backslashes, '%', quotes, leading dashes, names of 255 bytes), special
/// files (FIFOs, sockets, a character device, links inside, outside, dangling and looping, a folder named like an image)
/// and contents (every format libvips writes here, pristine or mutated, random bytes, empty). The oracle: intake ends
/// within its patience; every entry appears exactly once in the report under the id its bytes map to; every rejection
/// has a reason and a message; a pristine image of an accepted format with an ordinary file behind it is accepted;
/// whatever is accepted validates again from the same bytes; the text report prints no control character.
/// </summary>
public sealed partial class IntakeFuzzTests : IDisposable
{
    private const int Seed = 20261130;
    private const int Files = 240;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("motif-fuzz-");
    private readonly List<Socket> _sockets = [];

    public void Dispose()
    {
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }
        // rm, not Directory.Delete: .NET cannot name a file whose name is not UTF-8.
        using var rm = System.Diagnostics.Process.Start("rm", ["-rf", _folder.FullName]);
        rm.WaitForExit();
    }

    /// <summary>What the test put at one path, and what intake must say about it.</summary>
    private sealed record Entry(byte[] RelativePath, string Kind, bool MustBeAccepted);

    [Fact]
    public async Task A_hostile_folder_is_accounted_for_file_by_file_under_byte_exact_ids()
    {
        var random = new Random(Seed);
        var entries = new List<Entry>();
        var contents = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        (string Name, byte[] Bytes, bool Accepted)[] formats =
        [
            ("jpeg", ImageFixtures.Jpeg(), true), ("png", ImageFixtures.Png(), true), ("webp", ImageFixtures.WebP(), true),
            ("tiff", ImageFixtures.Tiff(), true), ("tiff16", ImageFixtures.Tiff16(), true), ("grey-png", ImageFixtures.GreyPng(), true),
            ("cmyk-jpeg", ImageFixtures.CmykJpeg(), true), ("rgba-png", ImageFixtures.RgbaPng(), true), ("sideways-jpeg", ImageFixtures.SidewaysJpeg(80, 160), true),
            ("gif", ImageFixtures.Gif(), false), ("text", ImageFixtures.TextNamedJpeg(), false),
        ];

        for (var i = 0; i < Files; i++)
        {
            var path = HostileRelativePath(random, i);
            byte[] bytes;
            bool pristine;
            switch (random.Next(10))
            {
                case < 5:
                    var format = formats[random.Next(formats.Length)];
                    (bytes, pristine) = (format.Bytes, format.Accepted);
                    break;
                case < 8:
                    (bytes, pristine) = (Mutate(formats[random.Next(formats.Length)].Bytes, random), false);
                    break;
                case 8:
                    (bytes, pristine) = (new byte[random.Next(1, 4096)], false);
                    random.NextBytes(bytes);
                    break;
                default:
                    (bytes, pristine) = ([], false);
                    break;
            }
            WriteFile(path, bytes);
            entries.Add(new Entry(path, "file", pristine));
            contents[FolderImageId.Of(path)] = bytes;
        }

        // An ordinary image under an ordinary name, and the links below pointing at it.
        WriteFile(Bytes("plain.jpg"), formats[0].Bytes);
        entries.Add(new Entry(Bytes("plain.jpg"), "file", true));
        contents["plain.jpg"] = formats[0].Bytes;

        // Special files at the top and in a hostile subfolder; none may be opened, all must be reported.
        var sub = Bytes("d\\e\u202Ef%/");
        MakeDirectory(sub);
        foreach (var parent in new[] { ""u8.ToArray(), sub })
        {
            byte[] At(string name) => [.. parent, .. Encoding.UTF8.GetBytes(name)];
            Check(MkFifo(Z(At("fifo.jpg")), 0b110_100_100), "mkfifo");
            entries.Add(new Entry(At("fifo.jpg"), "fifo", false));
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Bind(new UnixDomainSocketEndPoint(Path.Combine(_folder.FullName, Encoding.UTF8.GetString(At("socket.png")))));
            _sockets.Add(socket);
            entries.Add(new Entry(At("socket.png"), "socket", false));
            // makedev(1, 3): /dev/null's numbers. A device's length reads 0, so a size check alone would let it through.
            Check(MkNod(Z(At("device.tif")), 0x2000 | 0b110_100_100, (1UL << 8) | 3), "mknod");
            entries.Add(new Entry(At("device.tif"), "device", false));
            var plain = parent.Length == 0 ? "plain.jpg" : "../plain.jpg";
            foreach (var (name, target) in new[] { ("inside.jpg", plain), ("outside.jpg", "/etc/passwd"), ("dangling.jpg", "no-such-file"), ("loop.jpg", "loop.jpg") })
            {
                // The target as it is, relative to the link: links are refused whatever they point at.
                Check(SymLink([.. Encoding.UTF8.GetBytes(target), 0], Z(At(name))), "symlink");
                entries.Add(new Entry(At(name), "link", false));
            }
        }
        // A folder named like an image is a folder: walked, not reported.
        MakeDirectory(Bytes("folder.jpg/"));

        var run = Task.Run(() => Cli.RunAsync("intake", _folder.FullName, "--json"));
        var (exit, output, error) = await run.WaitAsync(Patience);
        Assert.True(exit == 0, error);
        using var json = JsonDocument.Parse(output);
        var items = json.RootElement.GetProperty("items").EnumerateArray().ToDictionary(
            i => i.GetProperty("path").GetString()!,
            i => (Reason: i.GetProperty("reason").GetString(), Message: i.GetProperty("message").GetString()));

        // Exactly once each, under the id its bytes map to, and nothing else.
        Assert.Equal(entries.Count, json.RootElement.GetProperty("files").GetInt32());
        Assert.Equal(entries.Select(e => FolderImageId.Of(e.RelativePath)).Order(StringComparer.Ordinal), items.Keys.Order(StringComparer.Ordinal));
        var problems = new List<string>();
        foreach (var entry in entries)
        {
            var id = FolderImageId.Of(entry.RelativePath);
            var (reason, message) = items[id];
            Assert.Equal(entry.RelativePath, FolderImageId.BytesOf(id));
            if (reason is not null && string.IsNullOrWhiteSpace(message))
            {
                problems.Add($"{id}: {reason} without a message");
            }
            if (entry.Kind != "file" && reason != "unreadable")
            {
                problems.Add($"{id} ({entry.Kind}): {reason ?? "accepted"}, expected unreadable");
            }
            if (entry.MustBeAccepted && reason is not null)
            {
                problems.Add($"{id}: a pristine image was rejected: {reason}: {message}");
            }
            if (entry.Kind == "file" && reason is null && ImageCodec.Validate(contents[id]) is ValidationResult.Rejected again)
            {
                problems.Add($"{id}: accepted by intake, rejected on a second validation: {again.Message}");
            }
        }
        Assert.True(problems.Count == 0, string.Join('\n', problems));

        // The text report names every file through Display.Safe: no control character reaches the terminal.
        var (textExit, text, textError) = await Cli.RunAsync("intake", _folder.FullName);
        Assert.True(textExit == 0, textError);
        Assert.DoesNotContain(text, c => (char.IsControl(c) && c is not '\n' and not '\r') || c is '\u202E');
    }

    /// <summary>One to three hostile segments below the folder, with an image-like extension most of the time.</summary>
    private byte[] HostileRelativePath(Random random, int index)
    {
        var path = new List<byte>();
        for (var depth = random.Next(3); depth > 0; depth--)
        {
            path.AddRange(HostileName(random, maxLength: 40));
            path.Add((byte)'/');
            MakeDirectory([.. path]);
        }
        string[] extensions = [".jpg", ".JPG", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".gif", ".jp2", ".heic", ".txt", ""];
        // The index keeps names unique whatever the draw; a name of 255 bytes (NAME_MAX) now and then.
        var name = HostileName(random, maxLength: random.Next(20) == 0 ? 240 : 30);
        path.AddRange(name);
        path.AddRange(Encoding.UTF8.GetBytes($"~{index}{extensions[random.Next(extensions.Length)]}"));
        return [.. path];
    }

    private static byte[] HostileName(Random random, int maxLength)
    {
        string[] pieces = ["a", "Z", "0", " ", "\\", "%", "%41", "*", "?", "\"", "'", "<", ">", "|", ":", ";", "$", "&", "(", "{", "[", "!", "#", "~", "`",
            "\n", "\t", "\r", "\u001b[31m", "\u202E", "\u200F", "é", "字", "🖼", "-rf ", "..", "=cmd|' -C calc'!A0", "+", "@"];
        var name = new List<byte>();
        if (random.Next(8) == 0)
        {
            name.Add((byte)'.');   // hidden files are files too
        }
        while (name.Count < random.Next(1, maxLength + 1))
        {
            if (random.Next(5) == 0)
            {
                name.Add((byte)random.Next(0x80, 0x100));   // alone, never valid UTF-8
            }
            else if (random.Next(12) == 0)
            {
                name.Add((byte)random.Next(1, 0x20));   // any control byte but NUL
            }
            else
            {
                name.AddRange(Encoding.UTF8.GetBytes(pieces[random.Next(pieces.Length)]));
            }
        }
        // A segment may not be "." or "..": those name folders, not files.
        return name is [(byte)'.'] or [(byte)'.', (byte)'.'] ? [.. name, (byte)'_'] : [.. name];
    }

    private static byte[] Mutate(byte[] seed, Random random)
    {
        var data = (byte[])seed.Clone();
        switch (random.Next(3))
        {
            case 0:
                for (var k = random.Next(1, 9); k > 0; k--)
                {
                    data[random.Next(data.Length)] ^= (byte)(1 << random.Next(8));
                }
                return data;
            case 1:
                return data[..random.Next(data.Length)];
            default:
                data[random.Next(Math.Min(64, data.Length))] = (byte)random.Next(256);
                return data;
        }
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>An absolute, NUL-terminated path under the test folder, from raw relative bytes.</summary>
    private byte[] Z(byte[] relative) => [.. Encoding.UTF8.GetBytes(_folder.FullName + "/"), .. relative, 0];

    private void WriteFile(byte[] relative, byte[] content)
    {
        // .NET cannot name a file whose name is not UTF-8: write under a plain name, then rename by bytes.
        var staging = Path.Combine(_folder.FullName, ".staging");
        File.WriteAllBytes(staging, content);
        Check(Rename(Z(Bytes(".staging")), Z(relative)), $"rename to {FolderImageId.Of(relative)}");
    }

    private void MakeDirectory(byte[] relative)
    {
        if (MkDir(Z(relative), 0b111_101_101) != 0 && Marshal.GetLastPInvokeError() != 17)   // EEXIST: made by an earlier path
        {
            Check(-1, "mkdir");
        }
    }

    private static void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new InvalidOperationException($"{call} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "rename", SetLastError = true)]
    private static partial int Rename(byte[] from, byte[] to);

    [LibraryImport("libc.so.6", EntryPoint = "mkdir", SetLastError = true)]
    private static partial int MkDir(byte[] path, uint mode);

    [LibraryImport("libc.so.6", EntryPoint = "mkfifo", SetLastError = true)]
    private static partial int MkFifo(byte[] path, uint mode);

    [LibraryImport("libc.so.6", EntryPoint = "mknod", SetLastError = true)]
    private static partial int MkNod(byte[] path, uint mode, ulong device);

    [LibraryImport("libc.so.6", EntryPoint = "symlink", SetLastError = true)]
    private static partial int SymLink(byte[] target, byte[] path);
}
