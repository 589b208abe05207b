using Motif.Imaging.LocalFeatures;
using Motif.Imaging.OpenCv;
using Motif.Testing;

namespace Motif.Imaging.Tests;

/// <summary>Local features: the grey image they are found in, their stored form, and <see cref="SiftMatcher"/>'s verdicts
/// on copies of a detail against the neighbouring part of the same photograph.</summary>
public sealed class LocalFeatureTests
{
    private static readonly byte[] Coffee = TestData.Photo("coffee.png"); // 600 × 400 sRGB
    private static readonly SiftMatcher Matcher = new();

    private static LocalFeatureSet Features(byte[] image) => Matcher.Extract(ImageCodec.Grey(image, Matcher.ImageSide));

    [Fact]
    public void Grey_is_the_luminance_shrunk_to_fit_and_never_enlarged()
    {
        var grey = ImageCodec.Grey(Coffee, 300);
        Assert.Equal((300, 200), (grey.Width, grey.Height));
        Assert.Equal(300 * 200, grey.Pixels.Length);
        var whole = ImageCodec.Grey(Coffee, 5000);
        Assert.Equal((600, 400), (whole.Width, whole.Height));

        // Pure green is brighter than pure blue, as the eye sees them.
        var green = ImageCodec.Grey(ImageFixtures.Encode(ImageFixtures.Solid(80, 80, 0, 255, 0), 80, 80, 3, ".png"), 100);
        var blue = ImageCodec.Grey(ImageFixtures.Encode(ImageFixtures.Solid(80, 80, 0, 0, 255), 80, 80, 3, ".png"), 100);
        Assert.True(green.Pixels[0] > blue.Pixels[0] + 100, $"green {green.Pixels[0]}, blue {blue.Pixels[0]}");
        Assert.Throws<ImageRejectedException>(() => ImageCodec.Grey(ImageFixtures.Truncated(ImageFixtures.Jpeg(200, 200)), 100));
        Assert.Throws<ArgumentException>(() => GreyImage.Of(3, 3, new byte[8]));
    }

    [Fact]
    public void A_copy_of_a_detail_is_verified_against_its_source_and_not_against_the_neighbouring_part()
    {
        // Two "tiles" of one photograph, side by side, and a copy of a detail of the left one: 60 % of each side,
        // turned 6°, recoloured.
        var left = ImageVariants.Crop(Coffee, new RelativeArea(0, 0, 0.5, 1));
        var right = ImageVariants.Crop(Coffee, new RelativeArea(0.5, 0, 0.5, 1));
        var detail = ImageVariants.Crop(left, new RelativeArea(0.2, 0.25, 0.6, 0.6));
        var copy = ImageVariants.ColourShift(ImageVariants.Rotate(detail, 6), [1.2, 0.9, 0.7], [10, 0, -20]);

        var (l, r, c) = (Features(left), Features(right), Features(copy));
        Assert.True(l.Count >= Matcher.VerifiedInliers && r.Count >= Matcher.VerifiedInliers && c.Count >= Matcher.VerifiedInliers);
        var source = Matcher.Inliers(l, c);
        var neighbour = Matcher.Inliers(r, c);
        Assert.True(source >= 3 * Matcher.VerifiedInliers, $"the source: {source} inliers");
        Assert.True(neighbour < Matcher.VerifiedInliers, $"the neighbouring part: {neighbour} inliers");

        // A mirror-image copy (a print reverses its model) shares the region through the mirror image's features.
        var print = Features(ImageVariants.Mirror(copy));
        Assert.True(Matcher.Inliers(l, print) >= 3 * Matcher.VerifiedInliers && Matcher.Inliers(print, l) >= 3 * Matcher.VerifiedInliers);
        Assert.True(Matcher.Inliers(r, print) < Matcher.VerifiedInliers);

        // Symmetric and deterministic: the same pair gives the same count either way round and every time.
        Assert.Equal(source, Matcher.Inliers(c, l));
        Assert.Equal(source, Matcher.Inliers(Features(left), Features(copy)));
        Assert.Equal(l.Encode(), Features(left).Encode());
    }

    [Fact]
    public void A_flat_image_has_no_features_and_verifies_nothing()
    {
        var flat = Features(ImageFixtures.Encode(ImageFixtures.Solid(120, 90, 128, 128, 128), 120, 90, 3, ".png"));
        Assert.Equal((0, 0), (flat.Count, flat.MirrorCount));
        Assert.Equal(0, Matcher.Inliers(flat, Features(Coffee)));
        Assert.Equal(0, Matcher.Inliers(LocalFeatureSet.Empty, LocalFeatureSet.Empty));
    }

    [Fact]
    public void A_feature_set_round_trips_and_damaged_bytes_are_refused()
    {
        var set = Features(Coffee);
        Assert.InRange(set.Count, 100, new SiftMatcherOptions().MaxFeatures);
        Assert.InRange(set.MirrorCount, 100, new SiftMatcherOptions().MaxFeatures);
        var bytes = set.Encode();
        Assert.Equal(12 + (set.Count + set.MirrorCount) * 136, bytes.Length);
        var back = LocalFeatureSet.Decode(bytes);
        Assert.Equal(set.Points.ToArray(), back.Points.ToArray());
        Assert.Equal(set.Descriptors.ToArray(), back.Descriptors.ToArray());
        Assert.Equal(set.MirrorPoints.ToArray(), back.MirrorPoints.ToArray());
        Assert.Equal(set.MirrorDescriptors.ToArray(), back.MirrorDescriptors.ToArray());

        Assert.Throws<InvalidDataException>(() => LocalFeatureSet.Decode(bytes.AsSpan(0, bytes.Length - 1)));
        Assert.Throws<InvalidDataException>(() => LocalFeatureSet.Decode([.. "MLF2"u8, .. bytes.AsSpan(4)]));
        Assert.Throws<InvalidDataException>(() => LocalFeatureSet.Decode([]));
        var notFinite = (byte[])bytes.Clone();
        BitConverter.GetBytes(float.NaN).CopyTo(notFinite, 12);
        Assert.Throws<InvalidDataException>(() => LocalFeatureSet.Decode(notFinite));
        var huge = (byte[])bytes.Clone();
        BitConverter.GetBytes(int.MaxValue).CopyTo(huge, 4);
        Assert.Throws<InvalidDataException>(() => LocalFeatureSet.Decode(huge));
        Assert.Throws<ArgumentException>(() => LocalFeatureSet.Create([1, 2, 3], new byte[128], [], []));
        Assert.Throws<ArgumentException>(() => LocalFeatureSet.Create([], [], [1, 2], new byte[127]));
    }

    [Fact]
    public void The_version_names_every_setting_and_bad_settings_are_refused()
    {
        Assert.StartsWith("opencv4.", Matcher.Version);
        Assert.NotEqual(Matcher.Version, new SiftMatcher(new SiftMatcherOptions { VerifiedInliers = 9 }).Version);
        Assert.NotEqual(Matcher.Version, new SiftMatcher(new SiftMatcherOptions { ContrastThreshold = 0.01 }).Version);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SiftMatcher(new SiftMatcherOptions { Ratio = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SiftMatcher(new SiftMatcherOptions { VerifiedInliers = 2 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SiftMatcher(new SiftMatcherOptions { MaxFeatures = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SiftMatcher(new SiftMatcherOptions { ImageSide = 16 }));
        Assert.NotEqual(Matcher.Version, new SiftMatcher(new SiftMatcherOptions { ImageSide = 1024 }).Version);
    }
}
