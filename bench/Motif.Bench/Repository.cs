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

    /// <summary>glibc's huge pages for an anchor: without them PyTorch and PIL pay a page fault per fresh page,
    /// about 4× slower in this kind of VM, and an anchor must run at its best.</summary>
    public static IReadOnlyDictionary<string, string> HugePages { get; } = new Dictionary<string, string> { ["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1" };

    /// <summary>Runs an anchor script with Debian's Python (the python3 first on PATH cannot see Debian's packages)
    /// and parses the JSON line it prints.</summary>
    public static JsonElement Python(IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start /usr/bin/python3");
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"/usr/bin/python3 {string.Join(' ', arguments)} exited with {process.ExitCode}");
        }
        var lastLine = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "null";
        return JsonDocument.Parse(lastLine).RootElement.Clone();
    }
}
