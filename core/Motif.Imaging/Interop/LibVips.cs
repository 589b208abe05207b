using System.Runtime.InteropServices;

namespace Motif.Imaging.Interop;

/// <summary>
/// The raw C API of libvips 8.14 (libvips.so.42) and the few GLib/GObject calls it needs.
/// Every entry point used by Motif is declared here and nowhere else.
/// </summary>
/// <remarks>
/// libvips' operations take optional arguments as a NULL-terminated varargs list of name/value pairs.
/// On Linux x64 (System V ABI) integer and pointer varargs travel in the same registers and stack slots
/// as fixed arguments, so each call shape gets one explicit P/Invoke signature with the pairs spelled
/// out and a trailing <see cref="IntPtr.Zero"/>. Floating-point varargs would not be safe this way
/// (the caller must set %al), so no signature here passes a double as an optional argument: arrays of
/// doubles go through <see cref="vips_array_double_new"/> as pointers.
/// </remarks>
internal static unsafe partial class LibVips
{
    private const string Vips = "libvips.so.42";
    private const string GObject = "libgobject-2.0.so.0";
    private const string GLib = "libglib-2.0.so.0";

    // --- lifecycle and global settings -------------------------------------------------------
    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int vips_init(string argv0);

    /// <summary>Blocks loaders marked untrusted (ImageMagick, matrix, csv, FITS...). Since 8.13.</summary>
    [LibraryImport(Vips)]
    internal static partial void vips_block_untrusted_set(int state);

    [LibraryImport(Vips)]
    internal static partial void vips_cache_set_max(int max);

    [LibraryImport(Vips)]
    internal static partial void vips_concurrency_set(int concurrency);

    [LibraryImport(Vips)]
    internal static partial int vips_concurrency_get();

    // --- errors --------------------------------------------------------------------------------
    [LibraryImport(Vips)]
    internal static partial nint vips_error_buffer();

    [LibraryImport(Vips)]
    internal static partial void vips_error_clear();

    // --- loading and header --------------------------------------------------------------------
    /// <summary>Name of the loader that recognises the buffer (e.g. "jpegload_buffer"), or NULL.</summary>
    [LibraryImport(Vips)]
    internal static partial nint vips_foreign_find_load_buffer(byte* data, nuint size);

    /// <summary>Opens an image from memory. Only the header is read here; pixels decode on demand.
    /// The buffer is not copied: it must stay pinned until the image and all images made from it are unreferenced.</summary>
    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint vips_image_new_from_buffer(byte* buf, nuint len, string optionString, nint terminator);

    [LibraryImport(Vips)]
    internal static partial nint vips_image_new_from_memory_copy(byte* data, nuint size, int width, int height, int bands, VipsBandFormat format);

    [LibraryImport(Vips)]
    internal static partial int vips_image_get_width(nint image);

    [LibraryImport(Vips)]
    internal static partial int vips_image_get_height(nint image);

    [LibraryImport(Vips)]
    internal static partial int vips_image_get_bands(nint image);

    [LibraryImport(Vips)]
    internal static partial VipsBandFormat vips_image_get_format(nint image);

    [LibraryImport(Vips)]
    internal static partial VipsInterpretation vips_image_get_interpretation(nint image);

    /// <summary>EXIF orientation 1..8 (1 when absent).</summary>
    [LibraryImport(Vips)]
    internal static partial int vips_image_get_orientation(nint image);

    [LibraryImport(Vips)]
    internal static partial int vips_image_get_n_pages(nint image);

    [LibraryImport(Vips)]
    internal static partial int vips_image_hasalpha(nint image);

    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial void vips_image_set_int(nint image, string name, int value);

    // --- operations (0 on success, -1 on error with the message in the error buffer) ----------------
    [LibraryImport(Vips)]
    internal static partial int vips_avg(nint input, out double average, nint terminator);

    /// <summary>vips_thumbnail_buffer(buf, len, &amp;out, width, "height", h, "size", s, "crop", c, "option_string", o, NULL):
    /// shrink-on-load decode, EXIF auto-rotation and resize in one pipeline.</summary>
    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int vips_thumbnail_buffer(
        byte* buf, nuint len, out nint output, int width,
        string heightName, int height, string sizeName, VipsSize size,
        string cropName, VipsInteresting crop, string optionStringName, string optionString, nint terminator);

    /// <summary>vips_resize(in, &amp;out, scale, NULL): lanczos3. The double is a fixed argument, so it is safe here.</summary>
    [LibraryImport(Vips)]
    internal static partial int vips_resize(nint input, out nint output, double scale, nint terminator);

    /// <summary>Rotates/flips by the image's EXIF orientation and removes the tag.</summary>
    [LibraryImport(Vips)]
    internal static partial int vips_autorot(nint input, out nint output, nint terminator);

    /// <summary>Renders the image into memory; the result allows random access (needed by rotation).</summary>
    [LibraryImport(Vips)]
    internal static partial nint vips_image_copy_memory(nint input);

    [LibraryImport(Vips)]
    internal static partial int vips_colourspace(nint input, out nint output, VipsInterpretation space, nint terminator);

    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int vips_flatten(nint input, out nint output, string backgroundName, nint background, nint terminator);

    [LibraryImport(Vips)]
    internal static partial int vips_cast(nint input, out nint output, VipsBandFormat format, nint terminator);

    [LibraryImport(Vips)]
    internal static partial int vips_extract_area(nint input, out nint output, int left, int top, int width, int height, nint terminator);

    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int vips_extract_band(nint input, out nint output, int band, string nName, int n, nint terminator);

    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int vips_embed(
        nint input, out nint output, int x, int y, int width, int height,
        string extendName, VipsExtend extend, string backgroundName, nint background, nint terminator);

    /// <summary>Renders the whole image into a new g_malloc'd buffer of interleaved pixels (free with g_free).</summary>
    [LibraryImport(Vips)]
    internal static partial nint vips_image_write_to_memory(nint input, out nuint size);

    /// <summary>Encodes with the saver chosen by <paramref name="suffix"/> (".jpg[Q=85,strip]"); the buffer is g_malloc'd.</summary>
    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int vips_image_write_to_buffer(nint input, string suffix, out nint buffer, out nuint size, nint terminator);

    [LibraryImport(Vips)]
    internal static partial nint vips_array_double_new(double* array, int n);

    [LibraryImport(Vips)]
    internal static partial void vips_area_unref(nint area);

    // --- GLib / GObject ------------------------------------------------------------------------
    [LibraryImport(GObject)]
    internal static partial void g_object_unref(nint gobject);

    [LibraryImport(GLib)]
    internal static partial void g_free(nint memory);

    [LibraryImport(GLib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial uint g_log_set_handler(string domain, int levels, delegate* unmanaged[Cdecl]<nint, int, nint, nint, void> handler, nint userData);

    [LibraryImport(GLib)]
    internal static partial nint g_log_set_default_handler(delegate* unmanaged[Cdecl]<nint, int, nint, nint, void> handler, nint userData);
}

// Enum values copied from libvips 8.14's headers (image.h, resample.h, conversion.h, enumtypes).
internal enum VipsBandFormat
{
    NotSet = -1, UChar = 0, Char = 1, UShort = 2, Short = 3, UInt = 4, Int = 5, Float = 6, Complex = 7, Double = 8, DpComplex = 9,
}

internal enum VipsInterpretation
{
    Error = -1, Multiband = 0, BW = 1, Histogram = 10, Xyz = 12, Lab = 13, Cmyk = 15, LabQ = 16, Rgb = 17, Cmc = 18,
    Lch = 19, LabS = 21, Srgb = 22, Yxy = 23, Fourier = 24, Rgb16 = 25, Grey16 = 26, Matrix = 27, ScRgb = 28, Hsv = 29,
}

internal enum VipsSize { Both = 0, Up = 1, Down = 2, Force = 3 }

internal enum VipsInteresting { None = 0, Centre = 1, Entropy = 2, Attention = 3, Low = 4, High = 5, All = 6 }

internal enum VipsExtend { Black = 0, Copy = 1, Repeat = 2, Mirror = 3, White = 4, Background = 5 }

// --- operations used by ImageVariants (derived images for sample collections) ---------------------
// Same rules as above: optional arguments are ints or pointers only; doubles travel as fixed arguments
// (vips_rotate's angle, vips_gaussblur's sigma) or as arrays (vips_linear, vips_draw_rect).
internal static unsafe partial class LibVips
{
    /// <summary>vips_flip(in, &amp;out, direction, NULL): mirror.</summary>
    [LibraryImport(Vips)]
    internal static partial int vips_flip(nint input, out nint output, VipsDirection direction, nint terminator);

    /// <summary>vips_rot(in, &amp;out, angle, NULL): exact rotation by a multiple of 90° (clockwise).</summary>
    [LibraryImport(Vips)]
    internal static partial int vips_rot(nint input, out nint output, VipsAngle angle, nint terminator);

    /// <summary>vips_rotate(in, &amp;out, angle, NULL): any angle in degrees (clockwise), bilinear, the output the
    /// bounding box of the rotated image with black corners. Needs random access to its input.</summary>
    [LibraryImport(Vips)]
    internal static partial int vips_rotate(nint input, out nint output, double angle, nint terminator);

    /// <summary>vips_linear(in, &amp;out, a, b, n, "uchar", TRUE, NULL): out = a × in + b per band, rounded and
    /// clipped to 8 bits.</summary>
    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int vips_linear(nint input, out nint output, double* a, double* b, int n, string ucharName, int uchar, nint terminator);

    /// <summary>vips_linear(in, &amp;out, a, b, n, NULL): out = a × in + b per band, as float.</summary>
    [LibraryImport(Vips)]
    internal static partial int vips_linear(nint input, out nint output, double* a, double* b, int n, nint terminator);

    /// <summary>vips_add(left, right, &amp;out, NULL): pixelwise sum (format widened).</summary>
    [LibraryImport(Vips)]
    internal static partial int vips_add(nint left, nint right, out nint output, nint terminator);

    /// <summary>vips_gaussblur(in, &amp;out, sigma, NULL).</summary>
    [LibraryImport(Vips)]
    internal static partial int vips_gaussblur(nint input, out nint output, double sigma, nint terminator);

    /// <summary>vips_sobel(in, &amp;out, NULL): edge magnitude.</summary>
    [LibraryImport(Vips)]
    internal static partial int vips_sobel(nint input, out nint output, nint terminator);

    /// <summary>vips_hist_equal(in, &amp;out, NULL): histogram equalisation.</summary>
    [LibraryImport(Vips)]
    internal static partial int vips_hist_equal(nint input, out nint output, nint terminator);

    /// <summary>vips_draw_rect(image, ink, n, left, top, width, height, "fill", TRUE, NULL): paints IN PLACE; the
    /// image must be a memory image that nothing else shares.</summary>
    [LibraryImport(Vips, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int vips_draw_rect(nint image, double* ink, int n, int left, int top, int width, int height, string fillName, int fill, nint terminator);

    /// <summary>vips_insert(main, sub, &amp;out, x, y, NULL): <paramref name="sub"/> placed over <paramref name="main"/> at (x, y);
    /// the output has main's size.</summary>
    [LibraryImport(Vips)]
    internal static partial int vips_insert(nint main, nint sub, out nint output, int x, int y, nint terminator);
}

internal enum VipsDirection { Horizontal = 0, Vertical = 1 }

internal enum VipsAngle { D0 = 0, D90 = 1, D180 = 2, D270 = 3 }
