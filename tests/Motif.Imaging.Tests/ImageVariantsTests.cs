using Motif.Imaging.Libvips;
using Motif.Testing;

namespace Motif.Imaging.Tests;

public sealed class ImageVariantsTests
{
    private static readonly byte[] Coffee = TestData.Photo("coffee.png"); // 600 × 400 sRGB

    /// <summary>Width, height, bands and interleaved pixels of an encoded image, decoded by libvips.</summary>
    private static (int Width, int Height, int Bands, byte[] Pixels) Decode(byte[] image) => LibvipsGate.Run(() =>
    {
        using var decoded = NetVips.Image.NewFromBuffer(image);
        return (decoded.Width, decoded.Height, decoded.Bands, decoded.WriteToMemory<byte>());
    });

    private static byte[] At((int Width, int Height, int Bands, byte[] Pixels) image, int x, int y) =>
        image.Pixels.AsSpan((y * image.Width + x) * image.Bands, image.Bands).ToArray();

    private static ImageInfo AssertValidJpeg(byte[] image)
    {
        var accepted = Assert.IsType<ValidationResult.Accepted>(ImageCodec.Validate(image));
        Assert.Equal(ImageFormat.Jpeg, accepted.Info.Format);
        Assert.Equal(SampleFormat.UInt8, accepted.Info.SampleFormat);
        Assert.Equal(1, accepted.Info.Orientation);
        return accepted.Info;
    }

    private static void AssertColour(ImageInfo info, int width, int height)
    {
        Assert.Equal((width, height), (info.Width, info.Height));
        Assert.Equal((ColourSpace.Srgb, 3), (info.ColourSpace, info.Bands));
    }

    private static void AssertNear(byte[] expected, byte[] actual, int tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"[{string.Join(", ", actual)}] is not within {tolerance} of [{string.Join(", ", expected)}]");
        }
    }

    [Fact]
    public void Crop_keeps_the_given_fractions_of_each_side()
    {
        var info = AssertValidJpeg(ImageVariants.Crop(Coffee, new RelativeArea(0.1, 0.2, 0.55, 0.75)));

        AssertColour(info, 330, 300);
    }

    [Fact]
    public void Crop_takes_the_pixels_of_the_area()
    {
        // The fixture's red channel ramps 0 → 255 from left to right: the right half starts near 128.
        var scene = ImageFixtures.Png(256, 128);

        var right = Decode(ImageVariants.Crop(scene, new RelativeArea(0.5, 0, 0.5, 1)));

        Assert.Equal((128, 128), (right.Width, right.Height));
        Assert.InRange(At(right, 0, 64)[0], 120, 136);
        Assert.InRange(At(right, 127, 64)[0], 245, 255);
    }

    [Fact]
    public void Mirror_swaps_left_and_right()
    {
        var scene = ImageFixtures.Png(256, 128);

        var mirrored = Decode(ImageVariants.Mirror(scene));

        Assert.Equal((256, 128, 3), (mirrored.Width, mirrored.Height, mirrored.Bands));
        Assert.InRange(At(mirrored, 2, 64)[0], 245, 255);   // red was on the right
        Assert.InRange(At(mirrored, 253, 64)[0], 0, 10);
        AssertColour(AssertValidJpeg(ImageVariants.Mirror(Coffee)), 600, 400);
    }

    [Theory]
    [InlineData(90, 400, 600)]
    [InlineData(-90, 400, 600)]
    [InlineData(180, 600, 400)]
    [InlineData(270, 400, 600)]
    [InlineData(360, 600, 400)]
    public void Rotate_by_right_angles_is_exact(double degrees, int width, int height)
    {
        AssertColour(AssertValidJpeg(ImageVariants.Rotate(Coffee, degrees)), width, height);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(-7.5)]
    [InlineData(12)]
    public void Rotate_by_small_angles_keeps_the_proportions_and_shows_no_empty_corner(double degrees)
    {
        // A white picture: any black background turned into view would show in a corner.
        var white = ImageFixtures.Encode(ImageFixtures.Solid(600, 400, 255, 255, 255), 600, 400, 3, ".png");

        var rotated = ImageVariants.Rotate(white, degrees);

        var info = AssertValidJpeg(rotated);
        Assert.Equal((ColourSpace.Srgb, 3), (info.ColourSpace, info.Bands));
        Assert.InRange(info.Width, 400, 596);
        Assert.InRange((double)info.Width / info.Height, 1.48, 1.52);
        var pixels = Decode(rotated);
        foreach (var (x, y) in new[] { (0, 0), (info.Width - 1, 0), (0, info.Height - 1), (info.Width - 1, info.Height - 1) })
        {
            Assert.All(At(pixels, x, y), v => Assert.InRange(v, 235, 255));
        }
    }

    [Fact]
    public void Colour_shift_applies_gain_and_offset_per_channel_and_clips()
    {
        var grey = ImageFixtures.Encode(ImageFixtures.Solid(64, 64, 100, 100, 100), 64, 64, 3, ".png");

        var shifted = Decode(ImageVariants.ColourShift(grey, [1.2, 1.0, 3.0], [10, 0, 0]));

        AssertNear([130, 100, 255], At(shifted, 32, 32), tolerance: 2);
        AssertColour(AssertValidJpeg(ImageVariants.ColourShift(Coffee, [1.1, 0.9, 0.8], [5, 0, -20])), 600, 400);
    }

    [Fact]
    public void Engraving_is_a_greyscale_image_of_the_same_size_with_more_contrast()
    {
        var engraving = ImageVariants.Engraving(Coffee);

        var info = AssertValidJpeg(engraving);
        Assert.Equal((600, 400), (info.Width, info.Height));
        Assert.Equal((ColourSpace.Greyscale, 1), (info.ColourSpace, info.Bands));
        var pixels = Decode(engraving).Pixels;
        // Contrast raised until it clips: a real share of pure black and pure white.
        Assert.True(pixels.Count(v => v < 16) > pixels.Length / 50, "too little black");
        Assert.True(pixels.Count(v => v > 240) > pixels.Length / 50, "too little white");
    }

    [Fact]
    public void Occlude_covers_the_area_with_the_colour_and_leaves_the_rest()
    {
        var grey = ImageFixtures.Encode(ImageFixtures.Solid(200, 100, 128, 128, 128), 200, 100, 3, ".png");

        var occluded = Decode(ImageVariants.Occlude(grey, new RelativeArea(0.25, 0.2, 0.5, 0.6), 200, 30, 40));

        Assert.Equal((200, 100, 3), (occluded.Width, occluded.Height, occluded.Bands));
        AssertNear([200, 30, 40], At(occluded, 100, 50), tolerance: 4);
        AssertNear([128, 128, 128], At(occluded, 10, 10), tolerance: 3);
        AssertNear([128, 128, 128], At(occluded, 190, 90), tolerance: 3);
    }

    [Fact]
    public void Paste_into_keeps_the_scene_size_and_places_the_scaled_pattern()
    {
        var blue = ImageFixtures.Encode(ImageFixtures.Solid(800, 600, 0, 0, 255), 800, 600, 3, ".png");
        var red = ImageFixtures.Encode(ImageFixtures.Solid(300, 200, 255, 0, 0), 300, 200, 3, ".png");

        // Half the scene: 400 × 267 (limited by the width), at the bottom-right corner.
        var pasted = Decode(ImageVariants.PasteInto(red, blue, 0.5, x: 1, y: 1));

        Assert.Equal((800, 600, 3), (pasted.Width, pasted.Height, pasted.Bands));
        AssertNear([255, 0, 0], At(pasted, 600, 470), tolerance: 4);
        AssertNear([0, 0, 255], At(pasted, 390, 470), tolerance: 4);
        AssertNear([0, 0, 255], At(pasted, 600, 325), tolerance: 4);
        AssertColour(AssertValidJpeg(ImageVariants.PasteInto(Coffee, TestData.Photo("rocket.jpg"), 0.45, 0.3, 0.6)), 640, 427);
    }

    public static TheoryData<string, Func<byte[]>> OtherInputs => new()
    {
        { "greyscale png", () => ImageFixtures.GreyPng(96, 64) },
        { "rgba png", () => ImageFixtures.RgbaPng(96, 64) },
        { "cmyk jpeg", () => ImageFixtures.CmykJpeg(96, 64) },
        { "16-bit tiff", () => ImageFixtures.Tiff16(96, 64) },
        { "webp", () => ImageFixtures.WebP(96, 64) },
    };

    [Theory]
    [MemberData(nameof(OtherInputs))]
    public void Any_readable_input_gives_an_8_bit_srgb_jpeg(string name, Func<byte[]> make)
    {
        var info = AssertValidJpeg(ImageVariants.Mirror(make()));

        Assert.True(info is { Width: 96, Height: 64, ColourSpace: ColourSpace.Srgb, Bands: 3 }, $"{name}: {info}");
    }

    [Fact]
    public void Exif_orientation_is_applied_before_the_transform()
    {
        var info = AssertValidJpeg(ImageVariants.Crop(ImageFixtures.SidewaysJpeg(80, 160), RelativeArea.Whole));

        Assert.Equal((80, 160), (info.Width, info.Height));
    }

    [Fact]
    public void The_same_input_and_arguments_give_the_same_bytes()
    {
        Assert.Equal(ImageVariants.Engraving(Coffee, 1.8, 0.7), ImageVariants.Engraving(Coffee, 1.8, 0.7));
        Assert.Equal(ImageVariants.Rotate(Coffee, 7), ImageVariants.Rotate(Coffee, 7));
        Assert.NotEqual(ImageVariants.Rotate(Coffee, 7), ImageVariants.Rotate(Coffee, -7));
    }

    public static TheoryData<string, Func<byte[]>, string> BadImages => new()
    {
        { "zero bytes", () => [], "empty" },
        { "text", ImageFixtures.TextNamedJpeg, "cannot be decoded" },
        { "truncated jpeg", () => ImageFixtures.Truncated(ImageFixtures.Jpeg(320, 240)), "cannot be decoded" },
        { "damaged png", () => ImageFixtures.Damaged(ImageFixtures.Png(320, 240)), "cannot be decoded" },
        { "30000×30000 png header", () => ImageFixtures.PngDeclaring(30_000, 30_000), "the limit is" },
    };

    [Theory]
    [MemberData(nameof(BadImages))]
    public void A_bad_image_is_an_argument_exception_that_says_why(string name, Func<byte[]> make, string because)
    {
        var bytes = make();

        var error = Assert.Throws<ArgumentException>(() => ImageVariants.Mirror(bytes));
        Assert.Equal("image", error.ParamName);
        Assert.Contains(because, error.Message, StringComparison.Ordinal);

        var scene = Assert.Throws<ArgumentException>(() => ImageVariants.PasteInto(Coffee, bytes, 0.5));
        Assert.True(scene.ParamName == "scene", name);
        var pattern = Assert.Throws<ArgumentException>(() => ImageVariants.PasteInto(bytes, Coffee, 0.5));
        Assert.True(pattern.ParamName == "pattern", name);
    }

    [Fact]
    public void Arguments_out_of_range_are_refused_before_any_decoding()
    {
        Assert.Equal("area", Assert.Throws<ArgumentException>(() => ImageVariants.Crop(Coffee, new RelativeArea(0.5, 0, 0.6, 1))).ParamName);
        Assert.Equal("area", Assert.Throws<ArgumentException>(() => ImageVariants.Crop(Coffee, new RelativeArea(0, 0, 0, 1))).ParamName);
        Assert.Equal("area", Assert.Throws<ArgumentException>(() => ImageVariants.Occlude(Coffee, new RelativeArea(double.NaN, 0, 0.5, 0.5), 0, 0, 0)).ParamName);
        Assert.Equal("degrees", Assert.Throws<ArgumentException>(() => ImageVariants.Rotate(Coffee, double.PositiveInfinity)).ParamName);
        Assert.Equal("gains", Assert.Throws<ArgumentException>(() => ImageVariants.ColourShift(Coffee, [1, 1], [0, 0, 0])).ParamName);
        Assert.Equal("gains", Assert.Throws<ArgumentException>(() => ImageVariants.ColourShift(Coffee, [1, -1, 1], [0, 0, 0])).ParamName);
        Assert.Equal("offsets", Assert.Throws<ArgumentException>(() => ImageVariants.ColourShift(Coffee, [1, 1, 1], [0, 300, 0])).ParamName);
        Assert.Equal("contrast", Assert.Throws<ArgumentException>(() => ImageVariants.Engraving(Coffee, contrast: 0.5)).ParamName);
        Assert.Equal("edgeWeight", Assert.Throws<ArgumentException>(() => ImageVariants.Engraving(Coffee, edgeWeight: -1)).ParamName);
        Assert.Equal("relativeSize", Assert.Throws<ArgumentException>(() => ImageVariants.PasteInto(Coffee, Coffee, 1.5)).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => ImageVariants.PasteInto(Coffee, Coffee, 0.5, x: -0.1)).ParamName);
        Assert.Equal("quality", Assert.Throws<ArgumentOutOfRangeException>(() => ImageVariants.Mirror(Coffee, quality: 0)).ParamName);
    }
}
