using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Motif.Imaging.Interop;

/// <summary>
/// Process-wide libvips state: initialisation, the hostile-input settings, GLib logging, and the gate
/// that attributes libvips' error messages to the call that caused them.
/// </summary>
internal static unsafe class VipsRuntime
{
    private static readonly Lazy<bool> Initialised = new(Initialise, LazyThreadSafetyMode.ExecutionAndPublication);

    // libvips keeps ONE error buffer for the whole process (error.c appends under a global mutex), so a
    // message read after a failed call may hold other threads' messages too. Worse, a call can return success
    // after a failure: when a loader fails inside a tile, the tile cache (iofuncs/tilecache.c) blacks the tile
    // out, emits g_warning("error in tile %d x %d") and stops the pipeline, and vips_avg or a thumbnail then
    // returns 0 over partly black pixels. The GLib handler below counts those warnings.
    //
    // So calls run concurrently under the read side of this lock, and a call that fails, or during which the
    // tile-failure count moved, is run again alone under the write side after clearing the buffer: that rerun's
    // outcome and message are the verdict (another thread's tile failure only costs a harmless rerun). libvips
    // is deterministic for the same bytes and options, so the rerun fails the same way; failures are rare
    // (hostile input), so the success path keeps full parallelism.
    private static readonly ReaderWriterLockSlim Gate = new(LockRecursionPolicy.NoRecursion);

    private static long tileFailures;

    // G_LOG_LEVEL_MASK plus G_LOG_FLAG_FATAL and G_LOG_FLAG_RECURSION: every level.
    private const int GLogLevelMask = ~0;

    private static ILogger logger = NullLogger.Instance;

    internal static ILogger Logger
    {
        get => Volatile.Read(ref logger);
        set => Volatile.Write(ref logger, value ?? NullLogger.Instance);
    }

    internal static void EnsureInitialised() => _ = Initialised.Value;

    /// <summary>Runs <paramref name="operation"/>; if it signals <see cref="VipsFailure"/> or a tile failed while it
    /// ran, reruns it alone and throws <see cref="VipsException"/> carrying exactly that rerun's message.</summary>
    internal static T Run<T>(Func<T> operation)
    {
        EnsureInitialised();
        Gate.EnterReadLock();
        try
        {
            var failuresBefore = Interlocked.Read(ref tileFailures);
            var result = operation();
            if (Interlocked.Read(ref tileFailures) == failuresBefore)
            {
                return result;
            }
            Discard(result);
        }
        catch (VipsFailure)
        {
            // fall through to the exclusive rerun below
        }
        finally
        {
            Gate.ExitReadLock();
        }

        // Outside the read lock: ReaderWriterLockSlim cannot upgrade.
        Gate.EnterWriteLock();
        try
        {
            LibVips.vips_error_clear();
            var failuresBefore = Interlocked.Read(ref tileFailures);
            T result;
            try
            {
                result = operation();
            }
            catch (VipsFailure)
            {
                throw new VipsException(ReadErrorBuffer());
            }
            if (Interlocked.Read(ref tileFailures) != failuresBefore)
            {
                Discard(result);
                throw new VipsException(ReadErrorBuffer());
            }
            return result;
        }
        finally
        {
            LibVips.vips_error_clear();
            Gate.ExitWriteLock();
        }
    }

    // A result that will not be returned may own native memory (rendered pixels): free it.
    private static void Discard<T>(T result) => (result as IDisposable)?.Dispose();

    private static string ReadErrorBuffer()
    {
        var text = Marshal.PtrToStringUTF8(LibVips.vips_error_buffer()) ?? string.Empty;
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var message = lines.Length == 0 ? "libvips failed without a message" : string.Join("; ", lines.Distinct());
        return message.Length <= 1000 ? message : message[..1000] + "…";
    }

    private static bool Initialise()
    {
        int status;
        try
        {
            status = LibVips.vips_init("motif");
        }
        catch (DllNotFoundException e)
        {
            throw new InvalidOperationException(
                "libvips 8.14 (libvips.so.42) is not installed. Run `make setup` (Debian package libvips-dev).", e);
        }
        if (status != 0)
        {
            throw new InvalidOperationException("libvips failed to initialise: " + ReadErrorBuffer());
        }

        // A handler of its own for libvips' domain, installed after vips_init: vips_init silences that domain
        // when VIPS_WARNING is set, and the tile-failure count must never be silenced.
        LibVips.g_log_set_handler("VIPS", GLogLevelMask, &OnGLibLog, 0);
        LibVips.g_log_set_default_handler(&OnGLibLog, 0);

        // Uploaded files are hostile: refuse the loaders libvips marks untrusted (ImageMagick, matrix, csv, ...),
        // and turn off the operation cache, which would otherwise keep references to caller buffers
        // (vips_image_new_from_buffer does not copy) and key later lookups on their addresses.
        LibVips.vips_block_untrusted_set(1);
        LibVips.vips_cache_set_max(0);
        return true;
    }

    // GLib's default handler prints to stderr; route every domain (VIPS, GLib, GLib-GObject) into the logger.
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnGLibLog(nint domain, int levelFlags, nint message, nint userData)
    {
        try
        {
            var text = Marshal.PtrToStringUTF8(message) ?? string.Empty;
            if (text.StartsWith("error in tile", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref tileFailures);
            }
            var level = (levelFlags & 0xFC) switch // G_LOG_LEVEL_MASK without the recursion/fatal flag bits
            {
                var l when (l & 0x04) != 0 => LogLevel.Critical,    // G_LOG_LEVEL_ERROR
                var l when (l & 0x08) != 0 => LogLevel.Error,       // G_LOG_LEVEL_CRITICAL
                var l when (l & 0x10) != 0 => LogLevel.Warning,     // G_LOG_LEVEL_WARNING
                var l when (l & 0x60) != 0 => LogLevel.Information, // G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO
                _ => LogLevel.Debug,
            };
            var log = Logger;
            if (log.IsEnabled(level))
            {
                log.Log(level, "{Domain}: {Message}", Marshal.PtrToStringUTF8(domain) ?? "GLib", text);
            }
        }
        catch
        {
            // An exception must never unwind into GLib's C frames.
        }
    }
}

/// <summary>Raised inside an operation when a libvips call returns an error; carries no text on purpose
/// (the buffer is not yet attributable). <see cref="VipsRuntime.Run{T}"/> turns it into a <see cref="VipsException"/>.</summary>
internal sealed class VipsFailure : Exception
{
    internal static readonly VipsFailure Instance = new();
}

/// <summary>A libvips failure with the message of the call that caused it.</summary>
internal sealed class VipsException(string message) : Exception(message);
