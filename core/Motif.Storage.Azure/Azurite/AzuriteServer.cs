using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Motif.Storage.Azure.Azurite;

/// <summary>How to start Azurite (the Azure Storage emulator, npm package <c>azurite</c>).</summary>
public sealed record AzuriteOptions
{
    /// <summary>Azurite's entry script, <c>node_modules/azurite/dist/src/azurite.js</c> (installed by <c>infra/setup.sh</c>).</summary>
    public required string Script { get; init; }

    /// <summary>The folder Azurite keeps its data in; it survives a restart of the process (the fault tests rely on that).</summary>
    public required string Location { get; init; }

    /// <summary>The Node.js executable.</summary>
    public string Node { get; init; } = "node";

    /// <summary>How long to wait for all three services to accept connections.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The Azurite script below a repository root (or an installation with the same node_modules layout).</summary>
    public static string ScriptBelow(string root) => Path.Combine(root, "node_modules", "azurite", "dist", "src", "azurite.js");
}

/// <summary>
/// An Azurite process serving Blob, Queue and Table Storage on free loopback ports, for the offline mode
/// (<c>motif run --storage azurite</c>) and the tests. Stopped gracefully on dispose (it saves its data); a watchdog
/// kills it if this process dies first, so a crashed test run leaves no emulator behind.
/// </summary>
/// <remarks>
/// Azurite authenticates with its well-known development account (<see cref="AccountName"/>, <see cref="AccountKey"/>),
/// which is public and only ever valid against an emulator. Telemetry is off (the machines Motif runs on may have no
/// network), the API-version check is skipped (the SDKs may be newer than the emulator), and it binds 127.0.0.1 only.
/// </remarks>
public sealed class AzuriteServer : IAsyncDisposable
{
    /// <summary>The development storage account every Azurite serves.</summary>
    public const string AccountName = "devstoreaccount1";

    /// <summary>Its key, published in Azurite's and Azure's documentation: a development key, never a secret.</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private const int StartAttempts = 3;

    private readonly AzuriteOptions _options;
    private readonly StringBuilder _output = new();
    private Process? _process;
    private Process? _watchdog;

    private AzuriteServer(AzuriteOptions options, int blobPort, int queuePort, int tablePort)
    {
        _options = options;
        (BlobPort, QueuePort, TablePort) = (blobPort, queuePort, tablePort);
    }

    public int BlobPort { get; }

    public int QueuePort { get; }

    public int TablePort { get; }

    /// <summary>The emulator's process id while it runs (null once stopped or killed here).</summary>
    public int? ProcessId => _process?.Id;

    /// <summary>Whether the emulator is not running: stopped or killed here, or exited by itself (a crash, a signal from elsewhere).</summary>
    public bool HasExited => _process is not { HasExited: false };

    public Uri BlobEndpoint => Endpoint(BlobPort);

    public Uri QueueEndpoint => Endpoint(QueuePort);

    public Uri TableEndpoint => Endpoint(TablePort);

    /// <summary>A storage connection string for the three endpoints with the development account's key.</summary>
    public string ConnectionString => ConnectionStringFor(BlobPort, QueuePort, TablePort);

    /// <summary>The connection string of an Azurite already listening on these loopback ports (another process's, e.g. a running <c>motif dev</c>).</summary>
    public static string ConnectionStringFor(int blobPort, int queuePort, int tablePort) =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
        $"BlobEndpoint={Endpoint(blobPort)};QueueEndpoint={Endpoint(queuePort)};TableEndpoint={Endpoint(tablePort)};";

    /// <summary>Starts Azurite on three free loopback ports and waits until every service accepts connections.</summary>
    /// <exception cref="AzuriteException">Node or the script is missing, or Azurite did not come up (its output is in the message).</exception>
    public static async Task<AzuriteServer> StartAsync(AzuriteOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!File.Exists(options.Script))
        {
            throw new AzuriteException($"Azurite is not installed ({options.Script} is missing): run `make setup`.");
        }
        Directory.CreateDirectory(options.Location);
        for (var attempt = 1; ; attempt++)
        {
            // A free port can be taken by someone else between our probe and Azurite's bind: then try new ones.
            var server = new AzuriteServer(options, FreePort(), FreePort(), FreePort());
            try
            {
                await server.RunAsync(cancellationToken).ConfigureAwait(false);
                return server;
            }
            catch (AzuriteException) when (attempt < StartAttempts && server.LastOutput.Contains("EADDRINUSE", StringComparison.Ordinal))
            {
                await server.DisposeAsync().ConfigureAwait(false);
            }
            catch
            {
                await server.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    /// <summary>
    /// Stops the emulator as a service manager would (SIGTERM): it refuses new connections and saves its metadata, then
    /// exits; clients in the middle of a request see their connection drop. Killed if it does not exit within 30 s (a kill could lose its last writes).
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_process is { HasExited: false } process && SendSignal(process.Id, SigTerm) == 0)
        {
            using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            grace.CancelAfter(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // It did not stop in time: kill it below.
            }
        }
        Kill();
    }

    /// <summary>
    /// Kills the emulator at once (SIGKILL), as a crash would. Its data folder stays, but Azurite saves its metadata only
    /// every 5 seconds, so writes it acknowledged in the last 5 seconds are gone after a restart (Azure keeps every
    /// acknowledged write: AzuriteDifferences shows this one).
    /// </summary>
    public void Kill()
    {
        if (_process is { } process)
        {
            try
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            process.Dispose();
            _process = null;
        }
        _watchdog?.Dispose();
        _watchdog = null;
    }

    /// <summary>Starts the emulator again on the same ports and data folder (after <see cref="StopAsync"/> or <see cref="Kill"/>).</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        Kill();
        await RunAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the emulator gracefully (<see cref="StopAsync"/>), so that everything it acknowledged is on disk.</summary>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private string LastOutput
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        lock (_output)
        {
            _output.Clear();
        }
        // A session of its own: a Ctrl-C at the terminal reaches the host, which settles its work and then stops the
        // emulator, instead of reaching the emulator too and cutting the host's last requests off.
        var start = new ProcessStartInfo("setsid")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            _options.Node, _options.Script, "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--location", _options.Location,
            "--blobHost", "127.0.0.1", "--blobPort", $"{BlobPort}", "--queueHost", "127.0.0.1", "--queuePort", $"{QueuePort}",
            "--tableHost", "127.0.0.1", "--tablePort", $"{TablePort}",
        })
        {
            start.ArgumentList.Add(argument);
        }
        try
        {
            _process = Process.Start(start) ?? throw new AzuriteException($"Could not start {_options.Node}.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new AzuriteException($"Could not start Azurite with '{_options.Node}': {e.Message}. Node.js is required (`make setup`).");
        }
        _process.OutputDataReceived += (_, e) => Collect(e.Data);
        _process.ErrorDataReceived += (_, e) => Collect(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _watchdog = StartWatchdog(_process.Id);

        var deadline = DateTimeOffset.UtcNow + _options.StartTimeout;
        foreach (var port in new[] { BlobPort, QueuePort, TablePort })
        {
            while (!await AcceptsAsync(port, cancellationToken).ConfigureAwait(false))
            {
                if (_process.HasExited || DateTimeOffset.UtcNow > deadline)
                {
                    var why = _process.HasExited ? $"exited with code {_process.ExitCode}" : $"did not answer within {_options.StartTimeout.TotalSeconds:0} s";
                    throw new AzuriteException($"Azurite {why}: {LastOutput.Trim()}");
                }
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private void Collect(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    // Stops Azurite if this process dies without disposing the server (a crashed or killed host): SIGTERM, so that it
    // saves what it acknowledged, then SIGKILL if it is still there 10 s later. In a session of its own, like Azurite.
    private static Process? StartWatchdog(int child)
    {
        // Its output is discarded, so that it never holds the host's stdout open (a pipe reader would wait for it).
        var start = new ProcessStartInfo("setsid") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("/bin/sh");
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"while kill -0 {Environment.ProcessId} 2>/dev/null && kill -0 {child} 2>/dev/null; do sleep 1; done; kill -TERM {child} 2>/dev/null; " +
                               $"for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 {child} 2>/dev/null || exit 0; sleep 1; done; kill -9 {child} 2>/dev/null");
        try
        {
            return Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static async Task<bool> AcceptsAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Uri Endpoint(int port) => new($"http://127.0.0.1:{port}/{AccountName}");

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}

/// <summary>Azurite could not be started; the message says why in one line.</summary>
public sealed class AzuriteException(string message) : Exception(message);
