using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NetVips;

namespace Motif.Imaging.Libvips;

/// <summary>
/// GLib's log messages from libvips and the libraries under it, routed into the host's <see cref="ILogger"/>;
/// and the two facts <see cref="LibvipsGate"/> needs from them: how many tiles failed, and which warnings a
/// call emitted.
/// </summary>
/// <remarks>
/// Decoders report much of what they find through GLib warnings rather than libvips' error buffer: libpng's
/// warning callback in libvips' vipspng.c turns "IHDR: CRC error" into g_warning and the load then fails with an
/// empty buffer; the tile cache (iofuncs/tilecache.c) reports a loader failure inside a tile as
/// g_warning("error in tile %d x %d").
/// </remarks>
internal static class LibvipsLog
{
    // "VIPS" is libvips' own domain (its loaders relay libjpeg, libpng, libtiff... messages there); GLib and
    // GLib-GObject carry type-system and allocation complaints; GModule the loading of libvips' format modules.
    private static readonly string[] Domains = ["VIPS", "GLib", "GLib-GObject", "GModule"];

    private const string TileFailure = "error in tile";

    private static ILogger _logger = NullLogger.Instance;
    private static long _tileFailures;
    private static List<string>? _capture;

    internal static ILogger Logger
    {
        get => Volatile.Read(ref _logger);
        set => Volatile.Write(ref _logger, value ?? NullLogger.Instance);
    }

    /// <summary>How many "error in tile" warnings libvips has emitted in this process.</summary>
    internal static long TileFailures => Interlocked.Read(ref _tileFailures);

    internal static void Install()
    {
        foreach (var domain in Domains)
        {
            Log.SetLogHandler(domain, Enums.LogLevelFlags.All, OnMessage);
        }
    }

    /// <summary>
    /// Starts collecting the VIPS-domain warnings emitted from now on, instead of logging them. Only meaningful
    /// while no other libvips call runs, i.e. under the gate's exclusive side, for a rerun whose first run's
    /// messages were logged already; <see cref="EndCapture"/> returns them.
    /// </summary>
    internal static void BeginCapture() => Volatile.Write(ref _capture, []);

    internal static IReadOnlyList<string> EndCapture()
    {
        var captured = Interlocked.Exchange(ref _capture, null) ?? [];
        lock (captured)
        {
            return [.. captured];
        }
    }

    // Called on whatever thread GLib logs from (libvips' worker threads included): it must never throw, since an
    // exception would unwind into GLib's C frames.
    private static void OnMessage(string domain, Enums.LogLevelFlags flags, string message)
    {
        try
        {
            var text = (message ?? string.Empty).Trim();
            if (text.StartsWith(TileFailure, StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _tileFailures);
            }
            var level = Level(flags);
            if (Volatile.Read(ref _capture) is { } captured)
            {
                // A capture is the gate's exclusive rerun of a call that already ran, and logged, once in parallel:
                // libvips is deterministic, so every message now is a repeat. Keep the warnings for the reason and
                // log nothing, or each failing image's warnings would appear twice.
                if (level == LogLevel.Warning && domain == "VIPS")
                {
                    lock (captured)
                    {
                        captured.Add(text);
                    }
                }
                return;
            }
            var log = Logger;
            if (log.IsEnabled(level))
            {
                log.Log(level, "{Domain}: {Message}", domain ?? "GLib", text);
            }
        }
        catch
        {
            // see above
        }
    }

    private static LogLevel Level(Enums.LogLevelFlags flags) =>
        (flags & Enums.LogLevelFlags.LevelMask) switch
        {
            var l when l.HasFlag(Enums.LogLevelFlags.Error) => LogLevel.Critical,
            var l when l.HasFlag(Enums.LogLevelFlags.Critical) => LogLevel.Error,
            var l when l.HasFlag(Enums.LogLevelFlags.Warning) => LogLevel.Warning,
            var l when (l & (Enums.LogLevelFlags.Message | Enums.LogLevelFlags.Info)) != 0 => LogLevel.Information,
            _ => LogLevel.Debug,
        };
}
