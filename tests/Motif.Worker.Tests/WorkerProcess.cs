using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Motif.Testing;

namespace Motif.Worker.Tests;

/// <summary>
/// Motif.Worker started as its own process (<c>dotnet Motif.Worker.dll</c>) with settings in its environment, as a
/// container starts it: the packaged ResNet-50, huge pages, two engine threads, HTTP on a free loopback port.
/// Its output is kept for assertions; disposing kills it if it still runs.
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private WorkerProcess(Process process, int port)
    {
        (_process, Port) = (process, port);
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public int Port { get; }

    public HttpClient Http { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public IReadOnlyList<string> Output => [.. _output];

    /// <summary>The settings every test's worker gets; <paramref name="settings"/> add to or replace them.</summary>
    public static WorkerProcess Start(IReadOnlyDictionary<string, string?> settings, int? port = null, params string[] arguments)
    {
        var chosen = port ?? FreePort();
        var dll = Path.Combine(TestData.RepositoryRoot, "artifacts", "bin", "Motif.Worker", new DirectoryInfo(AppContext.BaseDirectory).Name, "Motif.Worker.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1";
        start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        start.Environment["MOTIF_HOME"] = TestData.RepositoryRoot;
        start.Environment["Motif__Threads"] = "2";
        start.Environment["Motif__BatchSize"] = "2";
        start.Environment["Motif__Worker__Urls"] = $"http://127.0.0.1:{chosen}";
        start.Environment["Motif__Worker__ReceiveWaitSeconds"] = "1";
        start.Environment["Motif__Worker__ShutdownTimeoutSeconds"] = "15";
        start.Environment["DOTNET_gcServer"] = "0";
        foreach (var (key, value) in settings)
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var worker = new WorkerProcess(process, chosen);
        process.OutputDataReceived += (_, e) => worker.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>Waits until /readyz answers 200 (or the process ends, which fails the wait).</summary>
    public async Task WaitUntilReadyAsync(TimeSpan deadline)
    {
        var until = DateTime.UtcNow + deadline;
        while (DateTime.UtcNow < until)
        {
            Assert.False(_process.HasExited, $"The worker exited ({(_process.HasExited ? _process.ExitCode : 0)}):\n{string.Join('\n', Output)}");
            try
            {
                if ((await Http.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(100);
        }
        Assert.Fail($"The worker was not ready within {deadline}:\n{string.Join('\n', Output)}");
    }

    /// <summary>Waits until a line of output satisfies <paramref name="match"/>.</summary>
    public async Task WaitForOutputAsync(Func<string, bool> match, TimeSpan deadline)
    {
        var until = DateTime.UtcNow + deadline;
        while (!_output.Any(match))
        {
            Assert.True(DateTime.UtcNow < until, $"No such output within {deadline}:\n{string.Join('\n', Output)}");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits for the process to end; false if it has not within <paramref name="deadline"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan deadline)
    {
        using var timeout = new CancellationTokenSource(deadline);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
            _process.WaitForExit();   // drains the output readers
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>SIGTERM, as Container Apps sends on scale-in.</summary>
    public void Terminate() => Assert.Equal(0, Kill(_process.Id, 15));

    /// <summary>SIGKILL: no chance to settle anything.</summary>
    public void KillHard() => _process.Kill();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        Http.Dispose();
        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
