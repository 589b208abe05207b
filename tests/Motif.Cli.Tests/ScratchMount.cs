using System.Diagnostics;

namespace Motif.Cli.Tests;

/// <summary>
/// A small tmpfs mounted on a fresh folder, to give a command a disk that really fills up or really is read-only: the
/// tests run as root, where chmod stops nothing, so only a file system that refuses writes itself can stand in for a
/// full disk (ENOSPC) or a read-only volume (EROFS). Needs the right to mount (root with CAP_SYS_ADMIN, as here and in CI).
/// </summary>
internal sealed class ScratchMount : IDisposable
{
    private ScratchMount(string path) => Path = path;

    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="bytes"/> (rounded up to pages by the kernel) on a new temporary folder.</summary>
    public static ScratchMount Tmpfs(long bytes)
    {
        var folder = Directory.CreateTempSubdirectory("motif-mount-").FullName;
        Mount("-t", "tmpfs", "-o", $"size={bytes},mode=0755", "tmpfs", folder);
        return new ScratchMount(folder);
    }

    /// <summary>Grows or shrinks the file system; what it holds stays.</summary>
    public void Resize(long bytes) => Mount("-o", $"remount,size={bytes}", Path);

    /// <summary>Makes the file system refuse every write from now on (EROFS); what it holds stays readable.</summary>
    public void MakeReadOnly() => Mount("-o", "remount,ro", Path);

    public void Dispose()
    {
        // Lazy: a file a failed test left open must not keep the mount (and the folder) around.
        Run("umount", "-l", Path);
        Directory.Delete(Path);
    }

    private static void Mount(params string[] arguments)
    {
        if (Run("mount", arguments) is { } problem)
        {
            throw new InvalidOperationException($"These tests need a tmpfs mount (root with CAP_SYS_ADMIN): mount {string.Join(' ', arguments)} failed: {problem}");
        }
    }

    /// <summary>Runs a command; null when it succeeded, else what it printed.</summary>
    private static string? Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd() + process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? null : error.Trim();
    }
}
