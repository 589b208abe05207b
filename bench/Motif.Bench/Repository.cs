using System.Diagnostics;
using System.Text.Json;
using Motif.Core;

namespace Motif.Bench;

internal static class Repository
{
    /// <summary>The repository root (<see cref="MotifHome"/>, the locator the hosts use to find .cache/).</summary>
    public static string Root() => MotifHome.Folder;

    /// <summary>Median seconds per call after one warm-up call (medians: this kind of VM is noisy).</summary>
    public static double MedianSeconds(int runs, Action call)
    {
        call();
        var seconds = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            call();
            seconds[i] = clock.Elapsed.TotalSeconds;
        }
        Array.Sort(seconds);
        return seconds[runs / 2];
    }

    /// <summary>glibc's huge pages for an anchor: without them PyTorch and PIL pay a page fault per fresh page,
    /// about 4× slower in this kind of VM, and an anchor must run at its best.</summary>
    public static IReadOnlyDictionary<string, string> HugePages { get; } = new Dictionary<string, string> { ["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1" };

    /// <summary>Runs <c>./motif</c> with <paramref name="arguments"/> and returns what it printed; throws with its error output if it fails.</summary>
    public static string RunMotif(params string[] arguments)
    {
        var start = new ProcessStartInfo(Path.Combine(Root(), "motif")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start ./motif");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"motif {string.Join(' ', arguments)} exited with {process.ExitCode}: {error.Result}");
    }

    /// <summary>Runs an anchor script with Debian's Python (the python3 first on PATH cannot see Debian's packages)
    /// and parses the JSON line it prints.</summary>
    public static JsonElement Python(IReadOnlyDictionary<string, string>? environment, params string[] arguments) =>
        Python("/usr/bin/python3", environment, arguments);

    /// <summary>Runs an anchor script with <paramref name="interpreter"/> and parses the JSON line it prints.</summary>
    public static JsonElement Python(string interpreter, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(interpreter) { RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {interpreter}");
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{interpreter} {string.Join(' ', arguments)} exited with {process.ExitCode}");
        }
        var lastLine = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "null";
        return JsonDocument.Parse(lastLine).RootElement.Clone();
    }
}
