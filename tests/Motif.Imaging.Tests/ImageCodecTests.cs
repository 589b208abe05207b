using Motif.Testing;
using Motif.Core;
using Motif.Imaging.Libvips;

namespace Motif.Imaging.Tests;

public sealed class ImageCodecTests
{
    public static TheoryData<string, Func<byte[]>, ImageFormat, ColourSpace, SampleFormat, int> AcceptedImages => new()
    {
        { "jpeg", () => ImageFixtures.Jpeg(), ImageFormat.Jpeg, ColourSpace.Srgb, SampleFormat.UInt8, 3 },
        { "png", () => ImageFixtures.Png(), ImageFormat.Png, ColourSpace.Srgb, SampleFormat.UInt8, 3 },
        { "webp", () => ImageFixtures.WebP(), ImageFormat.WebP, ColourSpace.Srgb, SampleFormat.UInt8, 3 },
        { "tiff", () => ImageFixtures.Tiff(), ImageFormat.Tiff, ColourSpace.Srgb, SampleFormat.UInt8, 3 },
        { "16-bit tiff", () => ImageFixtures.Tiff16(), ImageFormat.Tiff, ColourSpace.Rgb16, SampleFormat.UInt16, 3 },
        { "greyscale png", () => ImageFixtures.GreyPng(), ImageFormat.Png, ColourSpace.Greyscale, SampleFormat.UInt8, 1 },
        { "cmyk jpeg", () => ImageFixtures.CmykJpeg(), ImageFormat.Jpeg, ColourSpace.Cmyk, SampleFormat.UInt8, 4 },
        { "rgba png", () => ImageFixtures.RgbaPng(), ImageFormat.Png, ColourSpace.Srgb, SampleFormat.UInt8, 4 },
    };

    [Theory]
    [MemberData(nameof(AcceptedImages))]
    public void Validate_accepts_each_supported_kind_and_describes_it(string name, Func<byte[]> make, ImageFormat format, ColourSpace space, SampleFormat sample, int bands)
    {
        var result = ImageCodec.Validate(make());

        var accepted = Assert.IsType<ValidationResult.Accepted>(result);
        Assert.True(accepted.Info == accepted.Info with { Format = format, ColourSpace = space, SampleFormat = sample, Bands = bands },
            $"{name}: {accepted.Info}");
        Assert.Equal((96, 64), (accepted.Info.Width, accepted.Info.Height));
    }

    public static TheoryData<string, Func<byte[]>, RejectionReason> RejectedImages => new()
    {
        { "zero bytes", () => [], RejectionReason.Empty },
        { "text file named .jpg", ImageFixtures.TextNamedJpeg, RejectionReason.UnknownFormat },
        { "gif", () => ImageFixtures.Gif(), RejectionReason.UnsupportedFormat },
        { "truncated jpeg", () => ImageFixtures.Truncated(ImageFixtures.Jpeg(320, 240)), RejectionReason.Corrupt },
        { "jpeg cut inside its header", () => ImageFixtures.Truncated(ImageFixtures.Jpeg(320, 240), 0.05), RejectionReason.Corrupt },
        { "damaged png", () => ImageFixtures.Damaged(ImageFixtures.Png(320, 240)), RejectionReason.Corrupt },
        { "truncated png", () => ImageFixtures.Truncated(ImageFixtures.Png(320, 240)), RejectionReason.Corrupt },
        { "30000×30000 png header over a few bytes", () => ImageFixtures.PngDeclaring(30_000, 30_000), RejectionReason.TooManyPixels },
        { "32×32 jpeg", () => ImageFixtures.Jpeg(32, 32), RejectionReason.TooSmall },
        { "200×40 jpeg (short side 40)", () => ImageFixtures.Jpeg(200, 40), RejectionReason.TooSmall },
    };

    [Theory]
    [MemberData(nameof(RejectedImages))]
    public void Validate_rejects_with_the_right_reason(string name, Func<byte[]> make, RejectionReason reason)
    {
        var rejected = Assert.IsType<ValidationResult.Rejected>(ImageCodec.Validate(make()));

        Assert.True(reason == rejected.Reason, $"{name}: expected {reason}, got {rejected.Reason}: {rejected.Message}");
        Assert.False(string.IsNullOrWhiteSpace(rejected.Message));
    }

    [Fact]
    public void The_pixel_limit_is_checked_on_the_header_before_any_decoding()
    {
        // The same lying PNG is corrupt when decoded (its data holds 64 bytes of 2.7 billion)...
        var liar = ImageFixtures.PngDeclaring(30_000, 30_000);
        var generous = ValidationLimits.Default with { MaxPixels = long.MaxValue };
        Assert.Equal(RejectionReason.Corrupt, Assert.IsType<ValidationResult.Rejected>(ImageCodec.Validate(liar, generous)).Reason);

        // ...so a too-many-pixels verdict under the default limits proves that no decode was attempted.
        var rejected = Assert.IsType<ValidationResult.Rejected>(ImageCodec.Validate(liar));
        Assert.Equal(RejectionReason.TooManyPixels, rejected.Reason);
        Assert.Contains("30000×30000", rejected.Message);
    }

    [Fact]
    public void Files_over_the_byte_limit_are_rejected_before_libvips_sees_them()
    {
        var limits = ValidationLimits.Default with { MaxBytes = 100 };

        var rejected = Assert.IsType<ValidationResult.Rejected>(ImageCodec.Validate(ImageFixtures.Jpeg(), limits));

        Assert.Equal(RejectionReason.FileTooLarge, rejected.Reason);
    }

    [Fact]
    public void Accepted_formats_are_configurable()
    {
        var limits = ValidationLimits.Default with { AcceptedFormats = new HashSet<ImageFormat> { ImageFormat.Gif } };

        Assert.Equal(ImageFormat.Gif, Assert.IsType<ValidationResult.Accepted>(ImageCodec.Validate(ImageFixtures.Gif(), limits)).Info.Format);
        Assert.Equal(RejectionReason.UnsupportedFormat, Assert.IsType<ValidationResult.Rejected>(ImageCodec.Validate(ImageFixtures.Jpeg(), limits)).Reason);
    }

    [Fact]
    public void Probe_reads_the_header_only()
    {
        var info = ImageCodec.Probe(ImageFixtures.PngDeclaring(30_000, 20_000));

        Assert.Equal(new ImageInfo(ImageFormat.Png, 30_000, 20_000, 3, ColourSpace.Srgb, SampleFormat.UInt8, 1, false, 1), info);
    }

    [Fact]
    public void Probe_reports_exif_orientation_and_the_displayed_size()
    {
        var info = ImageCodec.Probe(ImageFixtures.SidewaysJpeg(60, 120));

        Assert.Equal((6, 120, 60), (info.Orientation, info.Width, info.Height));
        Assert.Equal((60, 120), (info.DisplayWidth, info.DisplayHeight));
    }

    [Fact]
    public void Probe_refuses_what_it_cannot_recognise()
    {
        Assert.Equal(RejectionReason.Empty, Assert.Throws<ImageRejectedException>(() => ImageCodec.Probe([])).Reason);
        Assert.Equal(RejectionReason.UnknownFormat, Assert.Throws<ImageRejectedException>(() => ImageCodec.Probe(ImageFixtures.TextNamedJpeg())).Reason);
    }

    [Fact]
    public void Derivative_applies_exif_orientation_so_the_image_ends_up_upright()
    {
        var derivative = ImageCodec.Derivative(ImageFixtures.SidewaysJpeg(60, 120), maxSide: 400);

        using var pixels = Decoded(derivative, out var width, out var height, out var bands);
        Assert.Equal((60, 120, 3), (width, height, bands));
        var top = Pixel(pixels.Span, width, 30, 10);
        var bottom = Pixel(pixels.Span, width, 30, 100);
        Assert.True(top.R > 180 && top.B < 80, $"top should be red, was {top}");
        Assert.True(bottom.B > 180 && bottom.R < 80, $"bottom should be blue, was {bottom}");
        Assert.Equal(1, ImageCodec.Probe(derivative).Orientation);
    }

    [Fact]
    public void Derivative_is_srgb_jpeg_bounded_by_max_side_and_never_enlarged()
    {
        var large = ImageCodec.Probe(ImageCodec.Derivative(ImageFixtures.Jpeg(640, 480), maxSide: 200));
        var small = ImageCodec.Probe(ImageCodec.Derivative(ImageFixtures.Jpeg(96, 64), maxSide: 200));

        Assert.Equal(new ImageInfo(ImageFormat.Jpeg, 200, 150, 3, ColourSpace.Srgb, SampleFormat.UInt8, 1, false, 1), large);
        Assert.Equal((96, 64), (small.Width, small.Height));
    }

    public static TheoryData<string, Func<byte[]>> ConvertedImages => new()
    {
        { "cmyk jpeg", () => ImageFixtures.CmykJpeg() },
        { "16-bit tiff", () => ImageFixtures.Tiff16() },
        { "greyscale png", () => ImageFixtures.GreyPng() },
        { "rgba png", () => ImageFixtures.RgbaPng() },
        { "webp", () => ImageFixtures.WebP() },
    };

    [Theory]
    [MemberData(nameof(ConvertedImages))]
    public void Derivative_converts_every_kind_to_8_bit_srgb(string name, Func<byte[]> make)
    {
        var info = ImageCodec.Probe(ImageCodec.Derivative(make(), maxSide: 128));

        Assert.True((ImageFormat.Jpeg, ColourSpace.Srgb, SampleFormat.UInt8, 3) == (info.Format, info.ColourSpace, info.SampleFormat, info.Bands), $"{name}: {info}");
    }

    [Fact]
    public void Derivative_keeps_cmyk_colours()
    {
        var red = ImageFixtures.CmykJpeg(96, 64, ImageFixtures.Solid(96, 64, 200, 30, 30));

        using var pixels = Decoded(ImageCodec.Derivative(red, 96), out var width, out _, out _);

        var p = Pixel(pixels.Span, width, 48, 32);
        Assert.True(p.R > 150 && p.G < 90 && p.B < 90, $"expected a red, got {p}");
    }

    [Fact]
    public void Derivative_flattens_transparency_onto_white()
    {
        using var pixels = Decoded(ImageCodec.Derivative(ImageFixtures.RgbaPng(), 96), out var width, out _, out _);

        var opaque = Pixel(pixels.Span, width, 10, 32);
        var transparent = Pixel(pixels.Span, width, 86, 32);
        Assert.True(opaque.R > 240 && opaque.G < 20, $"opaque half should stay red, was {opaque}");
        Assert.True(transparent is { R: > 245, G: > 245, B: > 245 }, $"transparent half should be white, was {transparent}");
    }

    [Fact]
    public void Derivative_of_a_broken_image_throws_with_a_reason()
    {
        var e = Assert.Throws<ImageRejectedException>(() => ImageCodec.Derivative(ImageFixtures.Truncated(ImageFixtures.Jpeg(320, 240)), 100));

        Assert.Equal(RejectionReason.Corrupt, e.Reason);
    }

    [Fact]
    public void Preprocess_normalises_each_channel_in_the_requested_order()
    {
        var red = ImageFixtures.Encode(ImageFixtures.Solid(120, 90, 255, 0, 0), 120, 90, 3, ".png");
        var caffe = PreprocessSpec.Caffe(32);
        var imagenet = PreprocessSpec.ImageNet(32);
        var bgr = new float[caffe.ValuesPerImage];
        var rgb = new float[imagenet.ValuesPerImage];

        ImageCodec.Preprocess(red, caffe, bgr);
        ImageCodec.Preprocess(red, imagenet, rgb);

        const int plane = 32 * 32;
        Assert.All(bgr[..plane], v => Assert.Equal(0 - 103.939f, v, 3));            // B
        Assert.All(bgr[plane..(2 * plane)], v => Assert.Equal(0 - 116.779f, v, 3)); // G
        Assert.All(bgr[(2 * plane)..], v => Assert.Equal(255 - 123.68f, v, 3));     // R
        Assert.All(rgb[..plane], v => Assert.Equal((255 - 123.675f) / 58.395f, v, 4));
        Assert.All(rgb[(2 * plane)..], v => Assert.Equal((0 - 103.53f) / 57.375f, v, 4));
    }

    [Fact]
    public void Centre_crop_keeps_the_middle_and_letterbox_keeps_everything()
    {
        // 300×100: red, green and blue vertical thirds.
        var thirds = new byte[300 * 100 * 3];
        for (var i = 0; i < 300 * 100; i++)
        {
            thirds[3 * i + (i % 300) / 100] = 255;
        }
        var image = ImageFixtures.Encode(thirds, 300, 100, 3, ".png");
        var crop = new float[3 * 60 * 60];
        var box = new float[3 * 60 * 60];
        var unit = (0f, 0f, 0f);

        ImageCodec.Preprocess(image, new PreprocessSpec(60, ResizeMode.ShortSideCentreCrop, ChannelOrder.Rgb, unit, (1, 1, 1), resizeTo: 60), crop);
        ImageCodec.Preprocess(image, new PreprocessSpec(60, ResizeMode.Letterbox, ChannelOrder.Rgb, (10, 20, 30), (1, 1, 1)), box);

        // Centre crop of the 180×60 resize: x 60..119, the green third. Columns next to the colour edges are
        // blended by the resampling kernel, so look inside them.
        var interior = Enumerable.Range(0, 60 * 60).Where(i => i % 60 is >= 6 and < 54).ToArray();
        Assert.All(interior, i => Assert.Equal(255, Channel(crop, 60, 1)[i], 1));
        Assert.All(interior, i => Assert.Equal(0, Channel(crop, 60, 0)[i], 1));
        // Letterbox: 60×20 in the middle rows, padded with the mean (0 after normalisation) above and below.
        var red = Channel(box, 60, 0);
        Assert.All(red[..(60 * 19)], v => Assert.Equal(0, v, 1));
        Assert.All(red[(60 * 41)..], v => Assert.Equal(0, v, 1));
        Assert.Equal(255 - 10, red[30 * 60 + 8], 1);   // inside the left (red) third of the middle row
        Assert.Equal(0 - 10, red[30 * 60 + 50], 1);    // inside the right (blue) third
    }

    [Theory]
    [InlineData(451, 300, 256, true, 384, 256)]   // torchvision: int(256 × 451 / 300) = int(384.85) = 384, not 385
    [InlineData(300, 451, 256, true, 256, 384)]
    [InlineData(2000, 1500, 256, true, 341, 256)]
    [InlineData(427, 640, 256, true, 256, 383)]
    [InlineData(300, 100, 60, false, 60, 20)]     // letterbox: the long side becomes the target
    public void The_model_input_is_resized_to_torchvisions_size(int width, int height, int target, bool crop, int expectedWidth, int expectedHeight)
    {
        Assert.Equal((expectedWidth, expectedHeight), ImageCodec.ResizedSize(width, height, target, crop));
    }

    [Fact]
    public void Preprocess_applies_exif_orientation()
    {
        var raw = new PreprocessSpec(64, ResizeMode.Letterbox, ChannelOrder.Rgb, (0, 0, 0), (1, 1, 1));
        var input = new float[raw.ValuesPerImage];

        ImageCodec.Preprocess(ImageFixtures.SidewaysJpeg(120, 240), raw, input);

        // Upright 120×240 letterboxed into 64²: 32×64 in the middle, red top third, blue below.
        var (red, blue) = (Channel(input, 64, 0), Channel(input, 64, 2));
        Assert.True(red[8 * 64 + 32] > 180 && blue[8 * 64 + 32] < 80, $"top should be red: R {red[8 * 64 + 32]} B {blue[8 * 64 + 32]}");
        Assert.True(blue[50 * 64 + 32] > 180 && red[50 * 64 + 32] < 80, $"bottom should be blue: R {red[50 * 64 + 32]} B {blue[50 * 64 + 32]}");
    }

    [Fact]
    public void Jpeg_shrink_on_load_matches_a_full_decode()
    {
        // The same 1600×1200 picture as JPEG (decoded at 1/4 by DCT scaling) and as PNG (decoded in full).
        var pixels = ImageFixtures.Scene(1600, 1200);
        var raw = new PreprocessSpec(224, ResizeMode.ShortSideCentreCrop, ChannelOrder.Rgb, (0, 0, 0), (1, 1, 1));
        var fromJpeg = new float[raw.ValuesPerImage];
        var fromPng = new float[raw.ValuesPerImage];

        ImageCodec.Preprocess(ImageFixtures.Encode(pixels, 1600, 1200, 3, ".jpg[Q=95]"), raw, fromJpeg);
        ImageCodec.Preprocess(ImageFixtures.Encode(pixels, 1600, 1200, 3, ".png"), raw, fromPng);

        // Red and green are smooth ramps; blue is an 8-pixel checker that any two resamplers alias differently.
        var planes = 2 * 224 * 224;
        var meanDifference = fromJpeg[..planes].Zip(fromPng[..planes], (a, b) => Math.Abs(a - b)).Average();
        Assert.True(meanDifference < 2.0, $"mean |JPEG − PNG| over R and G is {meanDifference:0.00} levels");
    }

    [Fact]
    public void A_large_png_is_box_reduced_while_streaming_and_still_resized_like_pil()
    {
        // 2400×1800 PNG → short side 1800 for a 256 resize: box-averaged 3× by libvips (≥ 512 left), then PIL's
        // bilinear; compared with PIL's bilinear straight from the full pixels (ModelInput on the raw array).
        var pixels = ImageFixtures.Scene(2400, 1800);
        var raw = new PreprocessSpec(224, ResizeMode.ShortSideCentreCrop, ChannelOrder.Rgb, (0, 0, 0), (1, 1, 1));
        var (viaCodec, direct) = (new float[raw.ValuesPerImage], new float[raw.ValuesPerImage]);

        ImageCodec.Preprocess(ImageFixtures.Encode(pixels, 2400, 1800, 3, ".png"), raw, viaCodec);
        ModelInput.Render(pixels, 2400, 1800, raw, direct);

        // Red and green are smooth ramps; blue is an 8-pixel checker that a box and a triangle alias differently.
        var planes = 2 * 224 * 224;
        var meanDifference = viaCodec[..planes].Zip(direct[..planes], (a, b) => Math.Abs(a - b)).Average();
        Assert.True(meanDifference < 1.0, $"mean |box + PIL − PIL| over R and G is {meanDifference:0.00} levels");
    }

    [Fact]
    public void PreprocessBatch_fills_each_slot_and_isolates_broken_images()
    {
        var spec = PreprocessSpec.ImageNet(48);
        var good = ImageFixtures.Jpeg(200, 150);
        var other = ImageFixtures.Png(120, 160);
        ReadOnlyMemory<byte>[] batch = [good, ImageFixtures.Truncated(ImageFixtures.Jpeg(320, 240)), other];
        var buffer = new float[3 * spec.ValuesPerImage];
        buffer.AsSpan().Fill(float.NaN);

        var results = ImageCodec.PreprocessBatch(batch, spec, buffer, maxDegreeOfParallelism: 2);

        Assert.Equal([true, false, true], results.Select(r => r.Succeeded));
        Assert.Equal(RejectionReason.Corrupt, results[1].Rejection);
        var single = new float[spec.ValuesPerImage];
        ImageCodec.Preprocess(other, spec, single);
        Assert.Equal(single, buffer[(2 * spec.ValuesPerImage)..]);
        Assert.All(buffer[spec.ValuesPerImage..(2 * spec.ValuesPerImage)], v => Assert.Equal(0f, v));
        Assert.DoesNotContain(buffer, float.IsNaN);
    }

    [Fact]
    public void Errors_are_attributed_to_the_call_that_caused_them_under_concurrency()
    {
        var truncatedJpeg = ImageFixtures.Truncated(ImageFixtures.Jpeg(320, 240));
        var damagedPng = ImageFixtures.Damaged(ImageFixtures.Png(320, 240));
        var good = ImageFixtures.Jpeg(320, 240);
        var inputs = Enumerable.Range(0, 240).Select(i => (i % 3) switch { 0 => truncatedJpeg, 1 => damagedPng, _ => good }).ToArray();
        var results = new ValidationResult[inputs.Length];

        Parallel.For(0, inputs.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => results[i] = ImageCodec.Validate(inputs[i]));

        for (var i = 0; i < inputs.Length; i++)
        {
            switch (i % 3)
            {
                case 0:
                    var jpeg = Assert.IsType<ValidationResult.Rejected>(results[i]);
                    Assert.Contains("jpeg", jpeg.Message, StringComparison.OrdinalIgnoreCase);
                    Assert.DoesNotContain("png", jpeg.Message, StringComparison.OrdinalIgnoreCase);
                    break;
                case 1:
                    var png = Assert.IsType<ValidationResult.Rejected>(results[i]);
                    Assert.Contains("png", png.Message, StringComparison.OrdinalIgnoreCase);
                    Assert.DoesNotContain("jpeg", png.Message, StringComparison.OrdinalIgnoreCase);
                    break;
                default:
                    Assert.IsType<ValidationResult.Accepted>(results[i]);
                    break;
            }
        }
    }

    private static NativePixels Decoded(byte[] image, out int width, out int height, out int bands)
    {
        NativePixels pixels;
        (pixels, width, height, bands) = LibvipsGate.Run(() =>
        {
            using var decoded = NetVips.Image.NewFromBuffer(image);
            return (NativePixels.Render(decoded), decoded.Width, decoded.Height, decoded.Bands);
        });
        return pixels;
    }

    private static (byte R, byte G, byte B) Pixel(ReadOnlySpan<byte> rgb, int width, int x, int y)
    {
        var i = 3 * (y * width + x);
        return (rgb[i], rgb[i + 1], rgb[i + 2]);
    }

    private static float[] Channel(float[] chw, int size, int channel) => chw[(channel * size * size)..((channel + 1) * size * size)];
}
