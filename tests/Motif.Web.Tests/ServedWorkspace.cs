using System.Diagnostics;
using System.Text.RegularExpressions;
using Motif.Testing;

namespace Motif.Web.Tests;

/// <summary>
/// A small sample workspace, made once per test class with <c>motif run</c>, served by <c>motif serve --port 0</c> —
/// both real processes of the built CLI — for the browser tests to open. Seven images: a family of three (one
/// photograph and two variants), a pair whose names are hostile markup, a pair of another photograph, and one
/// unrelated image, so the clusters view has several cards and one cluster has three reachability bars.
/// </summary>
public sealed partial class ServedWorkspace : IAsyncLifetime
{
    /// <summary>Names that are markup: they must appear as text, never run.</summary>
    public const string ImgOnError = "\"><img src=x onerror=alert(1)>.png";
    public const string ScriptTag = "<script>alert(2)<script>.jpg";

    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("motif-web-");
    private Process? _serve;

    /// <summary>The app's root, <c>http://127.0.0.1:{port}/</c>.</summary>
    public Uri Url { get; private set; } = null!;

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

        var workspace = Path.Combine(_scratch.FullName, "workspace");
        using (var run = Start("run", folder, "--out", workspace))
        {
            var error = run.StandardError.ReadToEndAsync();
            var output = run.StandardOutput.ReadToEndAsync();
            await run.WaitForExitAsync();
            Assert.True(run.ExitCode == 0, $"motif run exited {run.ExitCode}: {await error} {await output}");
        }

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
