using System.Collections.Concurrent;
using NetVips;

namespace Motif.Imaging.Libvips;

/// <summary>
/// libvips as Motif uses it: the system library (Debian's libvips42, 8.14) loaded by NetVips, with the settings
/// that hostile uploads need, applied once per process before the first call.
/// </summary>
internal static class LibvipsRuntime
{
    /// <summary>The loader class hierarchy that Motif takes out of libvips' untrusted set (see <see cref="Configure"/>).</summary>
    internal const string Jpeg2000Loader = "VipsForeignLoadJp2k";

    private static readonly Lazy<bool> Configured = new(Configure, LazyThreadSafetyMode.ExecutionAndPublication);

    // Block states never change after Configure, so each loader is asked once.
    private static readonly ConcurrentDictionary<string, bool> Blocked = new(StringComparer.Ordinal);

    /// <summary>Initialises libvips (NetVips' module initialiser ran vips_init) and applies Motif's settings; idempotent.</summary>
    internal static void EnsureInitialised() => _ = Configured.Value;

    /// <summary>Whether libvips refuses to run <paramref name="operation"/> (a type name or nickname) in this process.</summary>
    internal static bool IsBlocked(string operation)
    {
        EnsureInitialised();
        return Blocked.GetOrAdd(operation, static name =>
        {
            using var instance = Operation.NewFromName(name);
            return instance.GetFlags().HasFlag(Enums.OperationFlags.BLOCKED);
        });
    }

    // Loader types never change after vips_init, so each buffer loader's twin is looked up once.
    private static readonly ConcurrentDictionary<string, string?> SourceTwins = new(StringComparer.Ordinal);

    /// <summary>
    /// The source loader of the same format as <paramref name="bufferLoader"/> (VipsForeignLoadJpegBuffer →
    /// VipsForeignLoadJpegSource), or null when libvips has none. In libvips 8.14 a buffer loader wraps its blob in a
    /// memory source and runs the source loader's code, so the two decode alike; the source loader can read a
    /// caller's memory in place, where a buffer argument is first copied into a new blob.
    /// </summary>
    internal static string? SourceTwin(string bufferLoader)
    {
        EnsureInitialised();
        return SourceTwins.GetOrAdd(bufferLoader, static name =>
        {
            if (!name.EndsWith("Buffer", StringComparison.Ordinal))
            {
                return null;
            }
            var twin = string.Concat(name.AsSpan(0, name.Length - "Buffer".Length), "Source");
            return global::NetVips.NetVips.TypeFromName(twin) != 0 ? twin : null;
        });
    }

    private static bool Configure()
    {
        if (!ModuleInitializer.VipsInitialized)
        {
            throw new InvalidOperationException(
                "libvips 8.14 (libvips.so.42) could not be loaded. Run `make setup` (Debian package libvips-dev).",
                ModuleInitializer.Exception);
        }

        // Before anything can log: GLib's default handler would print libvips' warnings on stderr, and the gate's
        // tile-failure count depends on seeing them.
        LibvipsLog.Install();

        // Uploaded files are hostile: refuse every loader libvips marks untrusted (ImageMagick, PDF, SVG, JPEG XL,
        // Radiance, CSV, FITS, vips format...; `vips -l` shows the flag). libvips 8.14 counts its JPEG 2000 loader
        // among them, but museums' IIIF image servers deliver JP2 masters, so that one loader is unblocked again,
        // alone: it reads through Debian's openjpeg (libopenjp2-7), which gets the distribution's security updates.
        // The order matters: vips_block_untrusted_set blocks the whole untrusted set, then vips_operation_block_set
        // clears the flag on the jp2k subtree only (VipsForeignLoadJp2kFile, ...Buffer, ...Source).
        global::NetVips.NetVips.BlockUntrusted = true;
        Operation.Block(Jpeg2000Loader, false);

        // No operation cache: it would keep decoded images, and the copies of the uploads they read from, alive
        // after each call, and every upload is decoded once anyway.
        Cache.Max = 0;
        return true;
    }
}
