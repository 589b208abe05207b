using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Motif.Imaging.Libvips;

namespace Motif.Imaging;

/// <summary>What libvips holds once per process, and so what <see cref="ImagingProcess.Configure"/> sets.</summary>
public sealed record ImagingProcessOptions
{
    /// <summary>
    /// Receives GLib's and libvips' log messages (the decoders' warnings among them) at their levels. GLib has one log
    /// handler per domain for the whole process, so there is one logger; by default they are dropped, never printed on
    /// stderr behind the host's back.
    /// </summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>
    /// libvips' own worker threads per image pipeline (vips_concurrency_set, VIPS_CONCURRENCY). Null leaves libvips'
    /// default: VIPS_CONCURRENCY if set, else one per core. A caller that decodes many images in parallel wants 1, so
    /// that its threads are not multiplied by libvips' own.
    /// </summary>
    public int? Concurrency { get; init; }
}

/// <summary>
/// The process-wide side of libvips, set in one place. libvips keeps its log handler and its thread count in globals
/// (GLib's g_log_set_handler, vips_concurrency_set), so these are not options of a call: a host sets them once at
/// start-up (core/Motif.Pipeline/Composition's MotifProcess does it for every Motif host), before it decodes anything.
/// Tests never call this while other tests run; a test process sets it once, before its first test.
/// </summary>
public static class ImagingProcess
{
    /// <summary>Routes libvips' messages to <see cref="ImagingProcessOptions.Logger"/> and applies its <see cref="ImagingProcessOptions.Concurrency"/>.</summary>
    /// <remarks>Safe to call while images are decoded (each global is swapped atomically), but a later call replaces an earlier one.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">A concurrency below 1.</exception>
    /// <exception cref="InvalidOperationException">libvips cannot be loaded.</exception>
    public static void Configure(ImagingProcessOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Logger);
        if (options.Concurrency is { } threads)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1, nameof(options.Concurrency));
        }
        LibvipsRuntime.EnsureInitialised();
        LibvipsLog.Logger = options.Logger;
        if (options.Concurrency is { } concurrency)
        {
            global::NetVips.NetVips.Concurrency = concurrency;
        }
    }

    /// <summary>libvips' worker threads per pipeline in this process (see <see cref="ImagingProcessOptions.Concurrency"/>).</summary>
    public static int Concurrency
    {
        get
        {
            LibvipsRuntime.EnsureInitialised();
            return global::NetVips.NetVips.Concurrency;
        }
    }
}
