using System.Diagnostics;
using System.Text.RegularExpressions;
using Motif.Testing;

namespace Motif.Web.Tests;

/// <summary>
/// A small sample workspace, made once per test class with <c>motif run</c>, served by <c>motif serve --port 0</c> —
/// both real processes of the built CLI — for the browser tests to open. Seven images: a family of three (one
/// photograph and two variants), a pair whose names are hostile markup, a pair of another photograph, and one
/// unrelated image, so the clusters view has several cards and one cluster has three reachability bars; and a
/// metadata.csv (<see cref="MetadataCsv"/>). Run twice, the family's third image joining in the second run, so that
/// the clusters have changes since a previous run to show.
/// </summary>
public sealed partial class ServedWorkspace : IAsyncLifetime
{
    /// <summary>Names that are markup: they must appear as text, never run.</summary>
    public const string ImgOnError = "\"><img src=x onerror=alert(1)>.png";
    public const string ScriptTag = "<script>alert(2)<script>.jpg";

    /// <summary>A title that is markup, on coffee-crop.jpg: it must appear as text, never run.</summary>
    public const string ScriptTitle = "<script>alert(3)</script><img src=x onload=alert(4)>";

    /// <summary>
    /// The sample's metadata.csv: PixPlot-style columns in mixed case, one ignored column, a title that is markup with a
    /// javascript: link (dropped), and a row naming no file (reported by the run).
    /// </summary>
    public const string MetadataCsv =
        "Filename,Title,Creator,Year,Category,Permalink,Notes\n" +
        "coffee-warm.jpg,Warm coffee,Bob Painter,1890,Prints,https://example.org/works/warm,kept out\n" +
        "coffee-crop.jpg,\"<script>alert(3)</script><img src=x onload=alert(4)>\",Eve,,Prints,javascript:alert(5),\n" +
        "astronaut.png,Astronaut,Nasa Archive,1984,Photographs,https://example.org/works/astronaut,\n" +
        "missing.jpg,Not here,,,,,\n";

    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("motif-web-");
    private Process? _serve;

    /// <summary>The app's root, <c>http://127.0.0.1:{port}/</c>.</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>What the second <c>motif run</c> printed (its report, with the metadata.csv line).</summary>
    public string RunOutput { get; private set; } = null!;

    /// <summary>A query image for search: a variant of the hostile pair's photograph, not itself in the collection.</summary>
    public string QueryImage { get; private set; } = null!;

    /// <summary>Where screenshots go: under the test output folder, kept as the run's artefacts.</summary>
    public static string Screenshots { get; } = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;

    public async Task InitializeAsync()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_scratch.FullName, "collection")).FullName;
        var coffee = TestData.Photo("coffee.png");
        await File.WriteAllBytesAsync(Path.Combine(folder, "coffee.png"), coffee);
        await File.WriteAllBytesAsync(Path.Combine(folder, "coffee-warm.jpg"), ImageFixtures.Variant(coffee, 0.93, (1.05, 1.0, 0.95)));
        await File.WriteAllBytesAsync(Path.Combine(folder, "coffee-crop.jpg"), ImageFixtures.Variant(coffee, 0.88, (1.0, 1.0, 1.0)));
        var chelsea = TestData.Photo("chelsea.png");
        await File.WriteAllBytesAsync(Path.Combine(folder, ImgOnError), chelsea);
        await File.WriteAllBytesAsync(Path.Combine(folder, ScriptTag), ImageFixtures.Variant(chelsea, 0.95, (1.02, 1, 1)));
        var astronaut = TestData.Photo("astronaut.png");
        await File.WriteAllBytesAsync(Path.Combine(folder, "astronaut.png"), astronaut);
        await File.WriteAllBytesAsync(Path.Combine(folder, "astronaut-copy.jpg"), ImageFixtures.Variant(astronaut, 0.94, (1.0, 1.03, 1.0)));
        await File.WriteAllBytesAsync(Path.Combine(folder, "rocket.jpg"), TestData.Photo("rocket.jpg"));
        QueryImage = Path.Combine(_scratch.FullName, "query.jpg");
        await File.WriteAllBytesAsync(QueryImage, ImageFixtures.Variant(chelsea, 0.9, (0.97, 1, 1.03)));

        await File.WriteAllTextAsync(Path.Combine(folder, "metadata.csv"), MetadataCsv);

        // Two runs, so that the clusters view has changes to show: the first without the crop, the second with it.
        var workspace = Path.Combine(_scratch.FullName, "workspace");
        var crop = Path.Combine(folder, "coffee-crop.jpg");
        var aside = Path.Combine(_scratch.FullName, "coffee-crop.jpg");
        File.Move(crop, aside);
        await RunAsync(folder, workspace);
        File.Move(aside, crop);
        RunOutput = await RunAsync(folder, workspace);

        _serve = Start("serve", "--out", workspace, "--port", "0");
        // "Serving http://127.0.0.1:PORT/ (Ctrl-C to stop)": the one line serve prints once it listens.
        var line = await _serve.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException($"motif serve printed nothing: {await _serve.StandardError.ReadToEndAsync()}");
        var match = ServingLine().Match(line);
        Assert.True(match.Success, $"motif serve said: {line}");
        Url = new Uri(match.Groups[1].Value);
        _ = _serve.StandardOutput.ReadToEndAsync();
        _ = _serve.StandardError.ReadToEndAsync();
    }

    public async Task DisposeAsync()
    {
        if (_serve is { HasExited: false })
        {
            _serve.Kill(entireProcessTree: true);
            await _serve.WaitForExitAsync();
        }
        _serve?.Dispose();
        _scratch.Delete(recursive: true);
    }

    private static async Task<string> RunAsync(string folder, string workspace)
    {
        using var run = Start("run", folder, "--out", workspace);
        var error = run.StandardError.ReadToEndAsync();
        var output = run.StandardOutput.ReadToEndAsync();
        await run.WaitForExitAsync();
        Assert.True(run.ExitCode == 0, $"motif run exited {run.ExitCode}: {await error} {await output}");
        return await output;
    }

    /// <summary>The CLI this test build built (same configuration folder), run with the environment ./motif gives it.</summary>
    private static Process Start(params string[] arguments)
    {
        var configuration = Path.GetFileName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory));
        var dll = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "Motif.Cli", configuration, "motif.dll"));
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["MOTIF_HOME"] = TestData.RepositoryRoot;
        start.Environment["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1";
        return Process.Start(start)!;
    }

    [GeneratedRegex(@"^Serving (http://127\.0\.0\.1:\d+)/? ")]
    private static partial Regex ServingLine();
}
