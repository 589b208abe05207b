using Motif.Core;
using Motif.Imaging.Libvips;
using NetVips;
using VipsImage = NetVips.Image;

namespace Motif.Imaging;

/// <summary>The outcome of one image in <see cref="ImageCodec.PreprocessBatch"/>.</summary>
public readonly record struct PreprocessResult(RejectionReason? Rejection, string? Message)
{
    public bool Succeeded => Rejection is null;
}

/// <summary>
/// Image intake over libvips: header probe, strict validation, display derivatives and model input tensors.
/// Every method is thread-safe and treats its input as hostile: the format is recognised from the bytes
/// (never from a name), untrusted loaders are blocked, the pixel count is checked from the header before
/// anything is decoded, and decoding fails on truncated or damaged data instead of filling it with grey.
/// </summary>
public static class ImageCodec
{
    // Loaders fail on the decoder's warnings too, not only on errors. libvips' default (fail_on=none) decodes a
    // truncated JPEG "successfully" with the missing rows grey, and fail_on=error still accepts what libjpeg only
    // warns about: a 42 KB JPEG whose SOF claims 9459×9459 decodes with "Corrupt JPEG data: premature end of data
    // segment" and 99.8 % of its rows filled in by the decoder. Either would poison a signature. The cost: camera
    // files with "N extraneous bytes before marker" warnings are refused too; a museum can re-save them.
    internal const Enums.FailOn Strict = Enums.FailOn.Warning;

    /// <summary><see cref="Strict"/> as a load option string, for the operations that take one (vips_thumbnail).</summary>
    private const string StrictLoad = "fail_on=warning";

    private delegate T Decoder<out T>(byte[] data, Header header);

    /// <summary>What <see cref="ReadHeader"/> found: the header, the libvips loader that read it (a type name such as
    /// VipsForeignLoadJpegSource), which a pixel decode then calls by name, and the input it read.</summary>
    private readonly record struct Header(ImageInfo Info, Input Input);

    /// <summary>Reads format, size, colour space and orientation from the header only; no pixel is decoded.</summary>
    /// <exception cref="ImageRejectedException">Empty, unrecognised or unreadable header.</exception>
    public static ImageInfo Probe(ReadOnlySpan<byte> image) =>
        Decode(image, limits: null, static (_, header) => header.Info);

    /// <summary>
    /// Accepts the image only if it is within <paramref name="limits"/> and every pixel decodes under libvips'
    /// <c>fail_on=warning</c>: truncated, undecodable or damaged data is rejected, including damage the decoder
    /// would repair and only warn about (libjpeg's "Corrupt JPEG data: ...", libpng's "IDAT: CRC error"), and a
    /// PNG whose zlib checksum is wrong (<see cref="PngIntegrity"/>). The reason is the decoder's own message.
    /// </summary>
    public static ValidationResult Validate(ReadOnlySpan<byte> image, ValidationLimits? limits = null)
    {
        limits ??= ValidationLimits.Default;
        if (image.Length > limits.MaxBytes)
        {
            return new ValidationResult.Rejected(RejectionReason.FileTooLarge,
                $"The file has {image.Length:N0} bytes; the limit is {limits.MaxBytes:N0}.");
        }
        try
        {
            return Decode(image, limits, static (data, header) =>
            {
                // Decode() has checked the header; now decode everything (sequentially, in constant memory).
                using var decoded = header.Input.Load(sequential: true);
                decoded.Avg();
                RejectDamagedPng(data, header.Info);
                return (ValidationResult)new ValidationResult.Accepted(header.Info);
            });
        }
        catch (ImageRejectedException e)
        {
            return new ValidationResult.Rejected(e.Reason, e.Message);
        }
    }

    /// <summary>
    /// An 8-bit sRGB JPEG for display, at most <paramref name="maxSide"/> pixels on its longer side (never
    /// enlarged): EXIF orientation applied, CMYK/16-bit/greyscale converted, transparency flattened on white,
    /// metadata stripped. Large JPEGs are shrunk while they are decoded (shrink-on-load). A PNG whose zlib checksum
    /// is wrong is rejected as in <see cref="Validate"/>.
    /// </summary>
    /// <exception cref="ImageRejectedException">The image is outside <paramref name="limits"/> or fails to decode.</exception>
    public static byte[] Derivative(ReadOnlySpan<byte> image, int maxSide, int quality = 85, ValidationLimits? limits = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSide, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(quality, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quality, 100);
        var suffix = $".jpg[Q={quality},strip,optimize_coding]";
        return Decode(image, limits, (data, header) =>
        {
            using var display = DisplayWithin(data, maxSide);
            var jpeg = display.WriteToBuffer(suffix);
            RejectDamagedPng(data, header.Info);
            return jpeg;
        });
    }

    /// <summary>The image's luminance, shrunk (never enlarged) to fit <paramref name="maxSide"/>: what local features are
    /// found in (<see cref="LocalFeatures.ILocalFeatureMatcher"/>). Colour is rendered to sRGB first, as for a
    /// derivative, so every colour space gives the grey its display would.</summary>
    /// <exception cref="ImageRejectedException">The image is outside <paramref name="limits"/> or fails to decode.</exception>
    public static LocalFeatures.GreyImage Grey(ReadOnlySpan<byte> image, int maxSide, ValidationLimits? limits = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSide, 1);
        return Decode(image, limits, (data, header) =>
        {
            using var display = DisplayWithin(data, maxSide);
            using var grey = display.Colourspace(Enums.Interpretation.Bw);
            var pixels = grey.WriteToMemory<byte>();
            RejectDamagedPng(data, header.Info);
            return LocalFeatures.GreyImage.Of(grey.Width, grey.Height, pixels);
        });
    }

    /// <summary>The image shrunk (never enlarged) to fit <paramref name="maxSide"/>, rendered to 8-bit sRGB for display:
    /// what a derivative is encoded from and local features are found in.</summary>
    private static VipsImage DisplayWithin(byte[] data, int maxSide) =>
        // libvips 8.14's vips_thumbnail has no fail_on argument of its own: it goes to the loader as an option.
        // ToSrgb8 takes ownership of the thumbnail, which may be the image it returns.
        ToSrgb8(VipsImage.ThumbnailBuffer(data, maxSide, StrictLoad, height: maxSide, size: Enums.Size.Down));

    /// <summary>Writes the model input for one image, <see cref="PreprocessSpec.ValuesPerImage"/> floats in CHW order.</summary>
    /// <exception cref="ImageRejectedException">The image is outside <paramref name="limits"/> or fails to decode.</exception>
    public static void Preprocess(ReadOnlySpan<byte> image, PreprocessSpec spec, Span<float> destination, ValidationLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (destination.Length != spec.ValuesPerImage)
        {
            throw new ArgumentException($"The destination holds {destination.Length} floats; one image needs {spec.ValuesPerImage}.", nameof(destination));
        }
        using var pixels = Decode(image, limits, (data, header) =>
        {
            var rendered = DecodeModelPixels(data, header, spec);
            try
            {
                RejectDamagedPng(data, header.Info);
            }
            catch
            {
                rendered.Dispose();
                throw;
            }
            return rendered;
        });
        ModelInput.Render(pixels.Span, pixels.Width, pixels.Height, spec, destination);
    }

    /// <summary>
    /// Preprocesses a batch into one caller-provided buffer (image i at offset i × ValuesPerImage), in
    /// parallel across images. An image that cannot be used gets zeros and a rejection in its result; the
    /// others are unaffected.
    /// </summary>
    public static PreprocessResult[] PreprocessBatch(
        IReadOnlyList<ReadOnlyMemory<byte>> images, PreprocessSpec spec, Memory<float> destination,
        int maxDegreeOfParallelism = 1, ValidationLimits? limits = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(spec);
        var stride = spec.ValuesPerImage;
        if (destination.Length < (long)images.Count * stride)
        {
            throw new ArgumentException($"The destination holds {destination.Length} floats; {images.Count} images need {(long)images.Count * stride}.", nameof(destination));
        }
        var results = new PreprocessResult[images.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism, CancellationToken = cancellationToken };
        Parallel.For(0, images.Count, options, i =>
        {
            var slot = destination.Span.Slice(i * stride, stride);
            try
            {
                Preprocess(images[i].Span, spec, slot, limits);
                results[i] = default;
            }
            catch (ImageRejectedException e)
            {
                slot.Clear();
                results[i] = new PreprocessResult(e.Reason, e.Message);
            }
        });
        return results;
    }

    /// <summary>
    /// The Adler-32 rule of <see cref="Validate"/>, applied by every path that decodes pixels (Validate, Derivative,
    /// Preprocess) rather than trusted to a Validate beforehand: <c>motif embed</c> and query-by-image preprocess
    /// uploads that were never validated, and a check that depends on the caller's order is one a new caller
    /// forgets. Called after libvips has decoded the file, so that libpng's own verdict (chunk CRCs) comes first.
    /// </summary>
    private static void RejectDamagedPng(byte[] data, ImageInfo header)
    {
        if (header.Format == ImageFormat.Png && PngIntegrity.CompressedDataFailure(data) is { } damage)
        {
            throw new ImageRejectedException(RejectionReason.Corrupt, damage);
        }
    }

    /// <summary>
    /// Reads the header (format recognised by content; no pixel decoded), checks it against <paramref name="limits"/>
    /// when given (accepted format, pixel count, minimum side) and only then runs <paramref name="decoder"/>.
    /// libvips failures become <see cref="ImageRejectedException"/> with reason <see cref="RejectionReason.Corrupt"/>.
    /// </summary>
    private static T Decode<T>(ReadOnlySpan<byte> image, ValidationLimits? limits, Decoder<T> decoder)
    {
        if (image.IsEmpty)
        {
            throw new ImageRejectedException(RejectionReason.Empty, "The file is empty.");
        }
        // One managed copy that the closure can hold (NetVips copies it again into a VipsBlob for each load, so
        // no image outlives the caller's memory).
        var data = image.ToArray();
        try
        {
            return LibvipsGate.Run(() =>
            {
                // One input for every load of these bytes (libvips rewinds a source for each), disposed only after
                // the decoder has returned, so after every image that reads from it.
                using var input = Input.Open(data, Identify(data, limits));
                return decoder(data, ReadHeader(input, limits));
            });
        }
        catch (LibvipsException e)
        {
            throw new ImageRejectedException(RejectionReason.Corrupt, e.Message);
        }
    }

    private static Header ReadHeader(Input input, ValidationLimits? limits)
    {
        var format = input.Format;
        if (limits is not null && !limits.AcceptedFormats.Contains(format))
        {
            throw new ImageRejectedException(RejectionReason.UnsupportedFormat,
                $"{format.Code()} images are not accepted (accepted: {ImageFormats.List(limits.AcceptedFormats)}).");
        }
        using var header = input.Load(sequential: false);
        var info = Describe(header, format);
        if (limits is null)
        {
            return new(info, input);
        }
        if (info.Pixels > limits.MaxPixels)
        {
            throw new ImageRejectedException(RejectionReason.TooManyPixels,
                $"The header declares {info.Width}×{info.Height} = {info.Pixels:N0} pixels; the limit is {limits.MaxPixels:N0}.");
        }
        if (Math.Min(info.Width, info.Height) < limits.MinSide)
        {
            throw new ImageRejectedException(RejectionReason.TooSmall,
                $"The image is {info.Width}×{info.Height}; the shorter side must be at least {limits.MinSide} pixels.");
        }
        return new(info, input);
    }

    /// <summary>
    /// The bytes of one call and the loader <see cref="Identify"/> found for them, which every load of them runs by
    /// name: vips_image_new_from_buffer would search every loader's sniffer again for each load. Where the format has
    /// a source loader (JPEG, PNG, WebP, TIFF, GIF, HEIF, JPEG 2000), the loads read <c>data</c> in place through one
    /// memory source over the pinned array; a buffer argument would be copied into a new blob for each load.
    /// </summary>
    private sealed class Input : IDisposable
    {
        private readonly byte[] _data;
        private readonly string _loader;
        private readonly Source? _source;

        private Input(byte[] data, ImageFormat format, string loader, Source? source) =>
            (_data, Format, _loader, _source) = (data, format, loader, source);

        public ImageFormat Format { get; }

        public static Input Open(byte[] data, (ImageFormat Format, string Loader) found) =>
            LibvipsRuntime.SourceTwin(found.Loader) is { } twin
                ? new(data, found.Format, twin, Source.NewFromMemory(data))
                : new(data, found.Format, found.Loader, null);

        /// <summary>
        /// Header-only until pixels are asked for. A sequential load is a pixel decode: it fails on the decoder's
        /// warnings (<see cref="Strict"/>) and streams (libvips' access=sequential). <paramref name="shrink"/> is
        /// jpegload's DCT scale; only pass it for a JPEG.
        /// </summary>
        public VipsImage Load(bool sequential, int shrink = 1)
        {
            var options = new VOption();
            if (sequential)
            {
                options.Add("access", Enums.Access.Sequential);
                options.Add("fail_on", Strict);
            }
            if (shrink > 1)
            {
                options.Add("shrink", shrink);
            }
            return (VipsImage)Operation.Call(_loader, options, _source is null ? (object)_data : _source);
        }

        public void Dispose() => _source?.Dispose();
    }

    /// <summary>
    /// The format from the bytes' signature, as libvips' loaders recognise it. A file that only a blocked
    /// (untrusted) loader recognises is refused here, as unsupported, before anything tries to load it.
    /// </summary>
    private static (ImageFormat Format, string Loader) Identify(byte[] data, ValidationLimits? limits)
    {
        var accepted = ImageFormats.List((limits ?? ValidationLimits.Default).AcceptedFormats);
        var loader = VipsImage.FindLoadBuffer(data);
        if (loader is null)
        {
            throw new ImageRejectedException(RejectionReason.UnknownFormat,
                $"The content is not in any image format that Motif can read (accepted: {accepted}).");
        }
        // vips_foreign_find_load_buffer does not skip blocked loaders: a Radiance file finds radload_buffer.
        if (LibvipsRuntime.IsBlocked(loader))
        {
            throw new ImageRejectedException(RejectionReason.UnsupportedFormat,
                $"Only {loader}, a libvips loader blocked as untrusted, reads this content (accepted: {accepted}).");
        }
        // libvips returns the loader's type name, e.g. VipsForeignLoadJpegBuffer, VipsForeignLoadNsgifBuffer.
        return (loader.Replace("VipsForeignLoad", string.Empty, StringComparison.Ordinal).Replace("Buffer", string.Empty, StringComparison.Ordinal) switch
        {
            "Jpeg" => ImageFormat.Jpeg,
            "Png" => ImageFormat.Png,
            "Webp" => ImageFormat.WebP,
            "Tiff" => ImageFormat.Tiff,
            "Nsgif" or "Gif" => ImageFormat.Gif,
            "Jp2k" => ImageFormat.Jp2k,
            "Heif" => ImageFormat.Heif,
            "Jxl" => ImageFormat.Jxl,
            "Svg" => ImageFormat.Svg,
            "Pdf" => ImageFormat.Pdf,
            _ => ImageFormat.Other,
        }, loader);
    }

    private static ImageInfo Describe(VipsImage image, ImageFormat format) => new(
        format, image.Width, image.Height, image.Bands,
        image.Interpretation switch
        {
            Enums.Interpretation.Srgb or Enums.Interpretation.Rgb => ColourSpace.Srgb,
            Enums.Interpretation.Rgb16 => ColourSpace.Rgb16,
            Enums.Interpretation.Scrgb => ColourSpace.ScRgb,
            Enums.Interpretation.Bw => ColourSpace.Greyscale,
            Enums.Interpretation.Grey16 => ColourSpace.Grey16,
            Enums.Interpretation.Cmyk => ColourSpace.Cmyk,
            Enums.Interpretation.Lab or Enums.Interpretation.Labq or Enums.Interpretation.Labs => ColourSpace.Lab,
            Enums.Interpretation.Multiband => ColourSpace.Multiband,
            _ => ColourSpace.Other,
        },
        image.Format switch
        {
            Enums.BandFormat.Uchar => SampleFormat.UInt8,
            Enums.BandFormat.Char => SampleFormat.Int8,
            Enums.BandFormat.Ushort => SampleFormat.UInt16,
            Enums.BandFormat.Short => SampleFormat.Int16,
            Enums.BandFormat.Uint => SampleFormat.UInt32,
            Enums.BandFormat.Int => SampleFormat.Int32,
            Enums.BandFormat.Float => SampleFormat.Float32,
            Enums.BandFormat.Double => SampleFormat.Float64,
            _ => SampleFormat.Complex,
        },
        Math.Clamp(IntField(image, "orientation", 1), 1, 8), image.HasAlpha(), Math.Max(1, IntField(image, "n-pages", 1)));

    // vips_image_get_orientation and vips_image_get_n_pages read these metadata fields, 1 when absent.
    private static int IntField(VipsImage image, string name, int absent) =>
        image.Contains(name) && image.Get(name) is int value ? value : absent;

    /// <summary>
    /// The decoded pixels the model input is made from (<see cref="ModelInput"/>): upright, interleaved 8-bit sRGB,
    /// at the smallest size that still holds the model's resize. Not vips_thumbnail: for display quality it shrinks
    /// on load only to twice the target (a 2000×1500 JPEG decodes at 1000×750 for a 256 resize). A model input needs
    /// less: take the largest JPEG DCT shrink (1/2, 1/4, 1/8) that still leaves the target size, like PIL's
    /// Image.draft, so that the resize after it shrinks by less than 2×. The load is the only decode: it runs under
    /// <see cref="Strict"/>, so damage is rejected here, not by a separate validation pass.
    /// </summary>
    private static NativePixels DecodeModelPixels(byte[] data, Header found, PreprocessSpec spec)
    {
        var header = found.Info;
        var crop = spec.Resize == ResizeMode.ShortSideCentreCrop;
        // The side that must come out at `target` pixels: the short one for a crop, the long one for a letterbox.
        // Either is the same before and after an EXIF rotation, so the shrink can be chosen before it.
        int Side(int width, int height) => crop ? Math.Min(width, height) : Math.Max(width, height);
        var target = crop ? spec.ResizeTo : spec.InputSize;
        var shrink = header.Format == ImageFormat.Jpeg ? Array.Find([8, 4, 2], f => Side(header.Width, header.Height) / f >= target) : 0;

        using var loaded = found.Input.Load(sequential: true, shrink);
        using var decoded = ToSrgb8(loaded);
        // What is rendered to memory must stay small whatever the upload: a 89-megapixel PNG or TIFF (the pixel
        // limit; no DCT shrink for them) would otherwise be 268 MB per decoding thread. So an image still more than
        // twice the target after the DCT shrink is first box-averaged by the largest whole factor that keeps twice
        // the target, while libvips streams it (vips_shrink on a sequential decode holds a few rows): Pillow's own
        // Image.resize(..., reducing_gap=2.0). JPEGs of up to 8 × 2 × target pixels on that side never get here.
        var box = Side(decoded.Width, decoded.Height) / (2 * target);
        using var reduced = box > 1 ? decoded.Shrink(box, box) : null;
        var rgb = reduced ?? decoded;
        if (header.Orientation == 1)
        {
            return NativePixels.Render(rgb);
        }
        // Rotation needs random access, which a sequential decode lacks: apply it to the shrunk image in memory.
        using var inMemory = rgb.CopyMemory();
        using var upright = inMemory.Autorot();
        return NativePixels.Render(upright);
    }

    /// <summary>
    /// The size the model input is resized to before the crop or letterbox. For a crop, torchvision's Resize(int):
    /// the short side becomes <paramref name="target"/> and the long side <c>int(target × long / short)</c>, truncated
    /// (torchvision.transforms.functional._compute_resized_output_size), so each axis has its own scale; a single
    /// scale would round the long side instead (385 for a 451×300 picture where torchvision makes 384) and shift
    /// every sample of the crop by a fraction of a pixel. For a letterbox, the long side becomes the target.
    /// </summary>
    internal static (int Width, int Height) ResizedSize(int width, int height, int target, bool crop)
    {
        var (shortSide, longSide) = (Math.Min(width, height), Math.Max(width, height));
        var resizedLong = crop ? (int)((double)target * longSide / shortSide) : target;
        var resizedShort = crop ? target : Math.Max(1, (int)Math.Round((double)target * shortSide / longSide));
        return width >= height ? (resizedLong, resizedShort) : (resizedShort, resizedLong);
    }

    /// <summary>
    /// Brings any decoded image to 3-band 8-bit sRGB: colour spaces (CMYK, greyscale, 16-bit, float) through
    /// libvips' colourspace, transparency composited over white (how a cut-out looks on a page), extra bands
    /// dropped. Takes ownership of <paramref name="image"/> (NetVips' disposal is idempotent, so the caller's
    /// own <c>using</c> stays valid). Also the normalisation of <see cref="ImageVariants"/>' inputs.
    /// </summary>
    internal static VipsImage ToSrgb8(VipsImage image)
    {
        var current = image;
        try
        {
            if (current.Interpretation != Enums.Interpretation.Srgb || current.Format != Enums.BandFormat.Uchar)
            {
                current = Replace(current, current.Colourspace(Enums.Interpretation.Srgb));
            }
            if (current.HasAlpha())
            {
                current = Replace(current, current.Flatten([255, 255, 255]));
            }
            if (current.Bands > 3)
            {
                current = Replace(current, current.ExtractBand(0, 3));
            }
            if (current.Format != Enums.BandFormat.Uchar)
            {
                current = Replace(current, current.Cast(Enums.BandFormat.Uchar));
            }
            return current;
        }
        catch
        {
            current.Dispose();
            throw;
        }

        static VipsImage Replace(VipsImage previous, VipsImage next)
        {
            previous.Dispose();
            return next;
        }
    }
}
