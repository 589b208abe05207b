using System.Diagnostics;
using System.Text.Json;

namespace Motif.Bench;

internal static class Repository
{
    /// <summary>The repository root: the nearest folder above the working directory that holds Serverless.sln.</summary>
    public static string Root()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Run the benchmarks from inside the repository (make bench).");
    }

    /// <summary>Runs an anchor script with Debian's Python (the python3 first on PATH cannot see Debian's packages).</summary>
    public static string Python(params string[] arguments)
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start /usr/bin/python3");
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"/usr/bin/python3 {string.Join(' ', arguments)} exited with {process.ExitCode}");
    }

    public static Dictionary<string, double> PythonJson(params string[] arguments) =>
        JsonSerializer.Deserialize<Dictionary<string, double>>(Python(arguments)) ?? [];
}
