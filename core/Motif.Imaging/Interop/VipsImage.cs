using System.Runtime.InteropServices;

namespace Motif.Imaging.Interop;

/// <summary>
/// An owned reference to a VipsImage. Operations return new images (libvips images are immutable; a
/// result keeps its inputs alive through its own references), so every handle can be disposed as soon
/// as the next step exists. Failures throw <see cref="VipsFailure"/>: call only inside <see cref="VipsRuntime.Run{T}"/>.
/// </summary>
internal sealed unsafe class VipsImage : SafeHandle
{
    private VipsImage(nint handle) : base(0, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        LibVips.g_object_unref(handle);
        return true;
    }

    private static VipsImage Wrap(nint image) => image != 0 ? new VipsImage(image) : throw VipsFailure.Instance;

    private static VipsImage Wrap(int status, nint image) => status == 0 ? Wrap(image) : throw VipsFailure.Instance;

    /// <summary>Opens from memory that the caller keeps pinned until this image and its descendants are disposed.</summary>
    public static VipsImage FromBuffer(byte* data, nuint length, string options) =>
        Wrap(LibVips.vips_image_new_from_buffer(data, length, options, 0));

    /// <summary>Copies interleaved 8-bit pixels into a new image (used to build fixtures and test scenes).</summary>
    public static VipsImage FromPixels(ReadOnlySpan<byte> pixels, int width, int height, int bands)
    {
        fixed (byte* p = pixels)
        {
            return Wrap(LibVips.vips_image_new_from_memory_copy(p, (nuint)pixels.Length, width, height, bands, VipsBandFormat.UChar));
        }
    }

    /// <summary>vips_thumbnail_buffer: decode with shrink-on-load, apply EXIF orientation, resize into width × height.</summary>
    public static VipsImage Thumbnail(byte* data, nuint length, int width, int height, VipsSize size, VipsInteresting crop, string loadOptions) =>
        Wrap(LibVips.vips_thumbnail_buffer(data, length, out var output, width, "height", height, "size", size, "crop", crop, "option_string", loadOptions, 0), output);

    public int Width => LibVips.vips_image_get_width(handle);

    public int Height => LibVips.vips_image_get_height(handle);

    public int Bands => LibVips.vips_image_get_bands(handle);

    public VipsBandFormat Format => LibVips.vips_image_get_format(handle);

    public VipsInterpretation Interpretation => LibVips.vips_image_get_interpretation(handle);

    public int Orientation => LibVips.vips_image_get_orientation(handle);

    public int Pages => LibVips.vips_image_get_n_pages(handle);

    public bool HasAlpha => LibVips.vips_image_hasalpha(handle) != 0;

    public void SetInt(string name, int value) => LibVips.vips_image_set_int(handle, name, value);

    /// <summary>Mean of all samples. Forces every pixel to be decoded, so it is how validation proves the data is whole.</summary>
    public double Average() =>
        LibVips.vips_avg(handle, out var average, 0) == 0 ? average : throw VipsFailure.Instance;

    public VipsImage Colourspace(VipsInterpretation space) =>
        Wrap(LibVips.vips_colourspace(handle, out var output, space, 0), output);

    public VipsImage Resize(double scale) => Wrap(LibVips.vips_resize(handle, out var output, scale, 0), output);

    public VipsImage AutoRotate() => Wrap(LibVips.vips_autorot(handle, out var output, 0), output);

    public VipsImage CopyMemory() => Wrap(LibVips.vips_image_copy_memory(handle));

    public VipsImage Cast(VipsBandFormat format) => Wrap(LibVips.vips_cast(handle, out var output, format, 0), output);

    public VipsImage ExtractArea(int left, int top, int width, int height) =>
        Wrap(LibVips.vips_extract_area(handle, out var output, left, top, width, height, 0), output);

    public VipsImage ExtractBands(int first, int count) =>
        Wrap(LibVips.vips_extract_band(handle, out var output, first, "n", count, 0), output);

    /// <summary>Removes the alpha band by compositing over a solid background.</summary>
    public VipsImage Flatten(ReadOnlySpan<double> background)
    {
        using var array = new DoubleArray(background);
        return Wrap(LibVips.vips_flatten(handle, out var output, "background", array.Handle, 0), output);
    }

    /// <summary>Places the image at (x, y) inside a width × height canvas filled with <paramref name="background"/>.</summary>
    public VipsImage Embed(int x, int y, int width, int height, ReadOnlySpan<double> background)
    {
        using var array = new DoubleArray(background);
        return Wrap(LibVips.vips_embed(handle, out var output, x, y, width, height, "extend", VipsExtend.Background, "background", array.Handle, 0), output);
    }

    // --- operations used by ImageVariants (derived images for sample collections) ---------------------

    /// <summary>Mirror image: vips_flip.</summary>
    public VipsImage Flip(VipsDirection direction) => Wrap(LibVips.vips_flip(handle, out var output, direction, 0), output);

    /// <summary>Exact rotation by a multiple of 90° (clockwise): vips_rot.</summary>
    public VipsImage Rot(VipsAngle angle) => Wrap(LibVips.vips_rot(handle, out var output, angle, 0), output);

    /// <summary>Any angle in degrees (clockwise), bilinear; the output is the bounding box with black corners: vips_rotate.</summary>
    public VipsImage Rotate(double angle) => Wrap(LibVips.vips_rotate(handle, out var output, angle, 0), output);

    /// <summary>out = a × this + b on every band, as float.</summary>
    public VipsImage Linear(double a, double b)
    {
        double scale = a, offset = b;
        return Wrap(LibVips.vips_linear(handle, out var output, &scale, &offset, 1, 0), output);
    }

    /// <summary>out = a[k] × this + b[k] on band k, rounded and clipped to 8 bits.</summary>
    public VipsImage LinearUChar(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException("vips_linear needs as many offsets as gains.", nameof(b));
        }
        fixed (double* pa = a, pb = b)
        {
            return Wrap(LibVips.vips_linear(handle, out var output, pa, pb, a.Length, "uchar", 1, 0), output);
        }
    }

    /// <summary>Pixelwise sum (format widened): vips_add.</summary>
    public VipsImage Add(VipsImage right) => Wrap(LibVips.vips_add(handle, right.handle, out var output, 0), output);

    public VipsImage GaussBlur(double sigma) => Wrap(LibVips.vips_gaussblur(handle, out var output, sigma, 0), output);

    /// <summary>Edge magnitude: vips_sobel.</summary>
    public VipsImage Sobel() => Wrap(LibVips.vips_sobel(handle, out var output, 0), output);

    /// <summary>Histogram equalisation: vips_hist_equal.</summary>
    public VipsImage HistEqual() => Wrap(LibVips.vips_hist_equal(handle, out var output, 0), output);

    /// <summary><paramref name="sub"/> placed over this image at (x, y); the output has this image's size: vips_insert.</summary>
    public VipsImage Insert(VipsImage sub, int x, int y) => Wrap(LibVips.vips_insert(handle, sub.handle, out var output, x, y, 0), output);

    /// <summary>
    /// Paints a filled rectangle IN PLACE (vips_draw_rect): call it only on an image that nothing else shares,
    /// such as the result of <see cref="Detach"/>.
    /// </summary>
    public void DrawRect(ReadOnlySpan<double> ink, int left, int top, int width, int height)
    {
        fixed (double* p = ink)
        {
            if (LibVips.vips_draw_rect(handle, p, ink.Length, left, top, width, height, "fill", 1, 0) != 0)
            {
                throw VipsFailure.Instance;
            }
        }
    }

    /// <summary>Renders every pixel into a new memory image that depends on nothing else (no source buffer, no pipeline).</summary>
    public VipsImage Detach()
    {
        var memory = LibVips.vips_image_write_to_memory(handle, out var size);
        if (memory == 0)
        {
            throw VipsFailure.Instance;
        }
        try
        {
            return Wrap(LibVips.vips_image_new_from_memory_copy((byte*)memory, size, Width, Height, Bands, Format));
        }
        finally
        {
            LibVips.g_free(memory);
        }
    }

    /// <summary>Encodes with the saver that <paramref name="suffix"/> selects, e.g. ".jpg[Q=85,strip]".</summary>
    public byte[] Encode(string suffix)
    {
        if (LibVips.vips_image_write_to_buffer(handle, suffix, out var buffer, out var size, 0) != 0)
        {
            throw VipsFailure.Instance;
        }
        try
        {
            return new ReadOnlySpan<byte>((void*)buffer, checked((int)size)).ToArray();
        }
        finally
        {
            LibVips.g_free(buffer);
        }
    }

    /// <summary>Renders all pixels, interleaved (height × width × bands samples), into native memory.</summary>
    public NativePixels Render()
    {
        var memory = LibVips.vips_image_write_to_memory(handle, out var size);
        return memory != 0 ? new NativePixels(memory, checked((int)size)) : throw VipsFailure.Instance;
    }

    /// <summary>A VipsArrayDouble, for the background arguments (doubles may not travel as varargs, see <see cref="LibVips"/>).</summary>
    private readonly ref struct DoubleArray
    {
        public DoubleArray(ReadOnlySpan<double> values)
        {
            fixed (double* p = values)
            {
                Handle = LibVips.vips_array_double_new(p, values.Length);
            }
        }

        public nint Handle { get; }

        public void Dispose() => LibVips.vips_area_unref(Handle);
    }
}

/// <summary>A g_malloc'd pixel buffer returned by libvips; freed on dispose.</summary>
internal readonly unsafe struct NativePixels(nint memory, int length) : IDisposable
{
    public ReadOnlySpan<byte> Span => new((void*)memory, length);

    public void Dispose() => LibVips.g_free(memory);
}
