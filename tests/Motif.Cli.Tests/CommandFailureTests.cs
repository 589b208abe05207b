using System.Net;
using System.Net.Sockets;
using Motif.Testing;

namespace Motif.Cli.Tests;

/// <summary>
/// Ordinary failures of search, serve and run: one line on stderr and exit code 2 (usage or environment), never a
/// stack trace.
/// </summary>
/// <remarks>
/// Tests run as root here, where chmod does not stop writes. Besides a volume mounted read-only (<see cref="DiskFailureTests"/>),
/// a workspace SQLite itself treats as read-only stands in: a catalog whose header says its write format is newer than SQLite knows
/// (byte 18 = 3, rollback journal), which SQLite opens for reading only, so every write fails with
/// SQLITE_READONLY (8) "attempt to write a readonly database", as on a read-only folder. SQLITE_CANTOPEN (14),
/// "unable to open database file", comes from a directory where the catalog's write-ahead log must be opened.
/// </remarks>
public sealed class CommandFailureTests : IDisposable
{
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("motif-failures-");

    public void Dispose() => _scratch.Delete(recursive: true);

    private string In(string relative) => Path.Combine(_scratch.FullName, relative);

    /// <summary>A workspace with an empty catalog, closed again (its write-ahead log checkpointed and removed).</summary>
    private async Task<string> EmptyWorkspaceAsync()
    {
        var folder = In("workspace");
        await using (var workspace = (await Workspace.OpenAsync(new DirectoryInfo(folder), StorageKind.Embedded, create: true, CancellationToken.None))!)
        {
            await workspace.Catalog.ListImagesAsync();
        }
        Assert.False(File.Exists(Path.Combine(folder, "motif.db-wal")));
        return folder;
    }

    /// <summary>Marks the catalog's file format as one SQLite may read but not write.</summary>
    private static string ReadOnlyCatalog(string workspace)
    {
        using (var file = File.Open(Path.Combine(workspace, "motif.db"), FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = 18;
            file.Write([3, 1]);   // write version 3 (unknown: read-only), read version 1 (rollback journal)
        }
        return workspace;
    }

    private static void AssertOneLine(int exit, string error, string expected)
    {
        Assert.Equal(2, exit);
        Assert.Contains(expected, error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public async Task Search_with_a_negative_k_is_a_usage_error()
    {
        var (exit, _, error) = await Cli.RunAsync("search", "x.jpg", "-k", "-1", "--out", In("nowhere"));
        AssertOneLine(exit, error, "-k must be at least 1.");
    }

    [Fact]
    public async Task Serve_on_a_port_above_65535_is_a_usage_error()
    {
        var (exit, _, error) = await Cli.RunAsync("serve", "--port", "70000", "--out", In("nowhere"));
        AssertOneLine(exit, error, "--port must be from 0 to 65535");
    }

    [Fact]
    public async Task Serve_on_a_port_in_use_says_so()
    {
        var workspace = await EmptyWorkspaceAsync();
        var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var (exit, _, error) = await Cli.RunAsync("serve", "--port", port, "--out", workspace);
            AssertOneLine(exit, error, $"Cannot serve on 127.0.0.1:{port}");
            Assert.Contains("address already in use", error);
        }
        finally
        {
            taken.Stop();
        }
    }

    [Fact]
    public async Task Serve_on_a_read_only_workspace_says_so_before_serving()
    {
        var workspace = ReadOnlyCatalog(await EmptyWorkspaceAsync());
        var (exit, _, error) = await Cli.RunAsync("serve", "--port", "0", "--out", workspace);
        AssertOneLine(exit, error, $"The workspace {workspace} is read-only");
    }

    [Fact]
    public async Task Serve_on_a_workspace_that_cannot_be_opened_says_so_before_serving()
    {
        var workspace = await EmptyWorkspaceAsync();
        Directory.CreateDirectory(Path.Combine(workspace, "motif.db-wal"));
        var (exit, _, error) = await Cli.RunAsync("serve", "--port", "0", "--out", workspace);
        AssertOneLine(exit, error, $"The workspace {workspace} cannot be opened");
    }

    [Fact]
    public async Task Run_into_a_read_only_workspace_says_so()
    {
        var workspace = ReadOnlyCatalog(await EmptyWorkspaceAsync());
        var folder = In("collection");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "rocket.jpg"), TestData.Photo("rocket.jpg"));
        var (exit, _, error) = await Cli.RunAsync("run", folder, "--out", workspace);
        AssertOneLine(exit, error, $"The workspace {workspace} is read-only");
    }
}
