using System.Diagnostics;
using Motif.Testing;

namespace Motif.Cli.Tests;

/// <summary>
/// What the executable sets for its whole process (<see cref="CliProcess"/>): only a real <c>motif</c> process shows it,
/// since the in-process tests leave the test process's libvips alone.
/// </summary>
public sealed class ProcessSetUpTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("motif-process-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task The_executable_prints_libvips_warnings_about_a_damaged_image_on_stderr_one_line_each()
    {
        // Damage that libjpeg only warns about (DamagedImageTests): the decode fails inside a tile, and libvips' tile
        // cache says so through GLib's log ("error in tile 0 x N"), which the process routes to the CLI's logger; the
        // image itself is rejected in the report with libjpeg's words.
        await File.WriteAllBytesAsync(Path.Combine(_folder.FullName, "damaged.jpg"), ImageFixtures.FlippedBytes(ImageFixtures.Jpeg(320, 240), 97));
        await File.WriteAllBytesAsync(Path.Combine(_folder.FullName, "good.jpg"), ImageFixtures.Jpeg(320, 240));

        var (exit, output, error) = await RunMotifAsync("intake", _folder.FullName);

        Assert.True(exit == 0, error);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, line => line.StartsWith("motif: warning: VIPS: error in tile", StringComparison.Ordinal));
        Assert.All(lines, line => Assert.StartsWith("motif: warning: ", line, StringComparison.Ordinal));
        Assert.DoesNotContain("motif: warning", output, StringComparison.Ordinal);
        Assert.Contains("Corrupt JPEG data", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Commands_run_inside_another_process_leave_its_libvips_log_alone()
    {
        await File.WriteAllBytesAsync(Path.Combine(_folder.FullName, "damaged.jpg"), ImageFixtures.FlippedBytes(ImageFixtures.Jpeg(320, 240), 97));

        var (exit, _, error) = await Cli.RunAsync("intake", _folder.FullName);

        Assert.True(exit == 0, error);
        Assert.DoesNotContain("motif: warning", error, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Output, string Error)> RunMotifAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "motif.dll"), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var child = Process.Start(start)!;
        var (output, error) = (child.StandardOutput.ReadToEndAsync(), child.StandardError.ReadToEndAsync());
        await child.WaitForExitAsync();
        return (child.ExitCode, await output, await error);
    }
}
