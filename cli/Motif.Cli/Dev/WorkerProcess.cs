using System.Diagnostics;
using System.Globalization;

namespace Motif.Cli.Dev;

/// <summary>
/// The worker as <c>motif dev</c> runs it: a separate process (<c>dotnet Motif.Worker.dll</c>), the stand-in for the
/// GPU container, configured only through environment variables as Container Apps would configure it. Its output goes
/// to <c>&lt;out&gt;/worker.log</c>. Stopping it is what a scale-in does: SIGTERM, then SIGKILL after the grace period.
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    /// <summary>What Container Apps gives a replica between SIGTERM and SIGKILL by default.</summary>
    public static readonly TimeSpan GracePeriod = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Task _pumps;

    private WorkerProcess(Process process, StreamWriter log)
    {
        (_process, _log) = (process, log);
        _pumps = Task.WhenAll(PumpAsync(process.StandardOutput), PumpAsync(process.StandardError));
    }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The worker's assembly, built beside the CLI (the CLI's project references it for build order only).</summary>
    public static string Assembly => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "Motif.Worker", "release", "Motif.Worker.dll"));

    /// <summary>Starts the worker with <paramref name="environment"/> added to this process's environment.</summary>
    /// <exception cref="FileNotFoundException">The worker is not built.</exception>
    public static WorkerProcess Start(IReadOnlyDictionary<string, string> environment, string logFile)
    {
        var assembly = Assembly;
        if (!File.Exists(assembly))
        {
            throw new FileNotFoundException($"The worker is not built ({assembly}): run `dotnet build Serverless.sln -c Release`.", assembly);
        }
        var start = new ProcessStartInfo("dotnet", [assembly])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        var log = new StreamWriter(logFile, append: true) { AutoFlush = true };
        return new WorkerProcess(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start."), log);
    }

    /// <summary>SIGTERM, then SIGKILL if it has not exited after <paramref name="grace"/>. Returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan grace)
    {
        if (!_process.HasExited)
        {
            using (var signal = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await signal.WaitForExitAsync();
            }
            using var timeout = new CancellationTokenSource(grace);
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        await _pumps;
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(GracePeriod);
        _process.Dispose();
        await _log.DisposeAsync();
    }

    private async Task PumpAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (_log)
            {
                _log.WriteLine(line);
            }
        }
    }
}
