using Motif.Testing;

namespace Motif.Cli.Tests;

/// <summary>
/// Every command on a disk that fills up or is mounted read-only: one line on stderr and exit code 2, never a stack
/// trace, and nothing lost (a run that hit a full disk completes once there is space). The disks are real: small
/// tmpfs mounts (<see cref="ScratchMount"/>), since the tests run as root, where permissions stop nothing.
/// </summary>
public sealed class DiskFailureTests : IDisposable
{
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("motif-disk-");

    public void Dispose() => _scratch.Delete(recursive: true);

    private string Collection()
    {
        var folder = Path.Combine(_scratch.FullName, "collection");
        SampleCollection.Write(new DirectoryInfo(folder), new SampleOptions(new DirectoryInfo(SampleCollection.DefaultSource)) { Families = 2 });
        return folder;
    }

    private static void AssertOneLine(int exit, string error, string expected)
    {
        Assert.True(exit == 2, $"exit {exit}: {error}");
        Assert.Contains(expected, error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public async Task Run_on_a_full_disk_says_so_and_completes_once_there_is_space()
    {
        var folder = Collection();
        var images = File.ReadAllLines(Path.Combine(folder, SampleCollection.ImagesFile)).Length;
        using var disk = ScratchMount.Tmpfs(256 * 1024);
        var workspace = Path.Combine(disk.Path, "workspace");

        var (exit, _, error) = await Cli.RunAsync("run", folder, "--out", workspace, "--max-eps", "0.3");
        AssertOneLine(exit, error, "is full");

        disk.Resize(256L * 1024 * 1024);
        (exit, var output, error) = await Cli.RunAsync("run", folder, "--out", workspace, "--max-eps", "0.3");
        Assert.True(exit == 0, error);
        Assert.Contains($"signatures          {images,8}", output);
        Assert.Contains("(published)", output);
    }

    [Fact]
    public async Task Commands_on_a_workspace_on_a_read_only_disk_say_so()
    {
        var folder = Collection();
        using var disk = ScratchMount.Tmpfs(256L * 1024 * 1024);
        var workspace = Path.Combine(disk.Path, "workspace");
        var (exit, _, error) = await Cli.RunAsync("run", folder, "--out", workspace, "--max-eps", "0.3");
        Assert.True(exit == 0, error);
        disk.MakeReadOnly();

        (exit, _, error) = await Cli.RunAsync("run", folder, "--out", workspace, "--max-eps", "0.3");
        AssertOneLine(exit, error, "read-only");
        (exit, _, error) = await Cli.RunAsync("clusters", "--out", workspace);
        AssertOneLine(exit, error, "read-only");
        (exit, _, error) = await Cli.RunAsync("search", Path.Combine(folder, File.ReadLines(Path.Combine(folder, SampleCollection.ImagesFile)).First()), "--out", workspace);
        AssertOneLine(exit, error, "read-only");
        (exit, _, error) = await Cli.RunAsync("morphograph", "import", Path.Combine(folder, "morphograph.csv"), "--out", workspace);
        AssertOneLine(exit, error, "read-only");
    }

    [Fact]
    public async Task Sample_onto_a_full_disk_says_so()
    {
        using var disk = ScratchMount.Tmpfs(64 * 1024);
        var (exit, _, error) = await Cli.RunAsync("sample", Path.Combine(disk.Path, "collection"));
        AssertOneLine(exit, error, "The disk is full");
    }

    [Fact]
    public async Task Sample_onto_a_read_only_disk_says_so()
    {
        using var disk = ScratchMount.Tmpfs(64 * 1024);
        disk.MakeReadOnly();
        var (exit, _, error) = await Cli.RunAsync("sample", Path.Combine(disk.Path, "collection"));
        AssertOneLine(exit, error, "read-only");
    }

    [Fact]
    public async Task Embed_onto_a_full_disk_says_so()
    {
        var folder = Collection();
        using var disk = ScratchMount.Tmpfs(16 * 1024);
        var (exit, _, error) = await Cli.RunAsync("embed", folder, "--out", Path.Combine(disk.Path, "signatures.npy"));
        AssertOneLine(exit, error, "The disk is full");
    }
}
