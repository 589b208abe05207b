using System.Diagnostics;
using Motif.Testing;

namespace Motif.Cli.Tests;

/// <summary>
/// End to end on the Azure adapters: <c>motif run --storage azurite</c> starts Azurite for the run (its data in the
/// workspace folder) and gives the report the embedded run gives; later commands find the same collection; Azure
/// settings that are missing or hold a secret are one-line errors.
/// </summary>
public sealed class AzuriteRunTests : IDisposable
{
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("motif-azurite-run-");

    public void Dispose() => _scratch.Delete(recursive: true);

    private string In(string relative) => Path.Combine(_scratch.FullName, relative);

    [Fact]
    public async Task A_run_on_Azurite_reports_what_the_embedded_run_reports_and_later_commands_find_it()
    {
        var folder = In("collection");
        SampleCollection.Write(new DirectoryInfo(folder), new SampleOptions(new DirectoryInfo(SampleCollection.DefaultSource)) { Families = 3 });
        File.WriteAllText(Path.Combine(folder, "notes.jpg"), "not an image");

        var (exit, embedded, error) = await Cli.RunAsync("run", folder, "--out", In("embedded"), "--max-eps", "0.3");
        Assert.True(exit == 0, error);
        (exit, var azurite, error) = await Cli.RunAsync("run", folder, "--out", In("azurite"), "--storage", "azurite", "--max-eps", "0.3");
        Assert.True(exit == 0, error);

        Assert.Contains("(Azurite on 127.0.0.1:", azurite);
        Assert.Equal(Facts(embedded), Facts(azurite));
        Assert.Contains("(published)", azurite);
        Assert.True(Directory.Exists(In("azurite/azurite")));

        // A later command starts Azurite again on the same data: the manifest it published is there.
        (exit, var clusters, error) = await Cli.RunAsync("clusters", "--out", In("azurite"), "--storage", "azurite");
        Assert.True(exit == 0, error);
        Assert.Contains("│ cluster │ size │ medoid", clusters);
        (exit, var again, error) = await Cli.RunAsync("run", folder, "--out", In("azurite"), "--storage", "azurite", "--max-eps", "0.3");
        Assert.True(exit == 0, error);
        Assert.Contains("(0 new or changed,", again);
        Assert.Contains("(0 computed in this run)", again);
        Assert.Contains("(unchanged input: the latest manifest stands)", again);
    }

    [Fact]
    public async Task Commands_on_a_workspace_that_is_not_there_say_so_in_one_line()
    {
        var (exit, _, error) = await Cli.RunAsync("clusters", "--out", In("nothing"), "--storage", "azurite");

        Assert.Equal(2, exit);
        Assert.Equal($"No workspace in {In("nothing")}: run `motif run <folder> --out <dir>` first.", error.Trim());
        Assert.False(Directory.Exists(In("nothing")));
    }

    [Theory]
    [InlineData(null, "--storage azure needs the MotifStorage settings")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=museum;AccountKey=bm90IGEga2V5;EndpointSuffix=core.windows.net", "holds a connection string with a key or token")]
    [InlineData("UseDevelopmentStorage=false;SharedAccessSignature=sv=2024&sig=x", "holds a connection string with a key or token")]
    public async Task Azure_settings_that_are_missing_or_hold_a_secret_are_refused_in_one_line(string? connection, string expected)
    {
        var environment = new Dictionary<string, string?> { ["MotifStorage"] = connection };
        Directory.CreateDirectory(In("collection"));

        var (exit, output, error) = await RunProcessAsync(environment, "run", In("collection"), "--out", In("workspace"), "--storage", "azure");

        Assert.True(exit == 2, output + error);
        Assert.Contains(expected, error);
        Assert.Single(error.Trim().Split('\n'));   // one line, no stack trace
    }

    [Fact]
    public async Task A_client_secret_in_the_identity_settings_is_refused()
    {
        var environment = new Dictionary<string, string?>
        {
            ["MotifStorage__blobServiceUri"] = "https://museum.blob.core.windows.net",
            ["MotifStorage__clientSecret"] = "s3cret",
        };

        var (exit, _, error) = await RunProcessAsync(environment, "clusters", "--out", In("workspace"), "--storage", "azure");

        Assert.Equal(2, exit);
        Assert.Contains("MotifStorage__clientSecret is a secret; use a managed identity", error);
        Assert.DoesNotContain("s3cret", error);
    }

    /// <summary>The report's lines that must not depend on where the workspace is (timings and paths do).</summary>
    private static string[] Facts(string report) => report.Split('\n')
        .Where(l => l.StartsWith("  ", StringComparison.Ordinal) && !l.Contains(" s  ", StringComparison.Ordinal) && !l.TrimEnd().EndsWith(" s", StringComparison.Ordinal)
                    && !l.Contains("manifest ", StringComparison.Ordinal))
        .Select(l => l.TrimEnd())
        .ToArray();

    private static async Task<(int Exit, string Output, string Error)> RunProcessAsync(IReadOnlyDictionary<string, string?> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "motif.dll"), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MotifStorage", StringComparison.Ordinal) || k.StartsWith("MotifServiceBus", StringComparison.Ordinal)).ToArray())
        {
            start.Environment.Remove(key);
        }
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }
}
