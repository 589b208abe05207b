namespace Motif.Imaging.OpenCv;

/// <summary>How <see cref="SiftMatcher"/> finds and verifies features. The defaults were chosen on the tiles benchmark's
/// half B (202 images, 101 copies of a detail of a tile among the photograph's other tiles): the measurements are in
/// bench/Motif.Bench/TrainingBench.cs's remarks ("The local-feature check").</summary>
public sealed record SiftMatcherOptions
{
    /// <summary>SIFT's contrast threshold (OpenCV's default is 0.04). Small tiles and engraved or recoloured copies have
    /// few strong extrema: at 0.04 a third of the benchmark's images have fewer than 10 features; at 0.005 six do.</summary>
    public double ContrastThreshold { get; init; } = 0.005;

    /// <summary>Most features kept per image (the strongest), which bounds a pair's matching cost on large images.</summary>
    public int MaxFeatures { get; init; } = 500;

    /// <summary>The longest side images are shrunk to before their features are found
    /// (<see cref="LocalFeatures.ILocalFeatureMatcher.ImageSide"/>).</summary>
    public int ImageSide { get; init; } = 512;

    /// <summary>Lowe's ratio test: a match counts when its descriptor distance is below this share of the second best's.</summary>
    public double Ratio { get; init; } = 0.8;

    /// <summary>RANSAC's reprojection threshold: a match agrees with a transform when it lands within this many pixels.</summary>
    public double ReprojectionPixels { get; init; } = 4;

    /// <summary>Inliers that make a pair a shared region (<see cref="LocalFeatures.ILocalFeatureMatcher.VerifiedInliers"/>).</summary>
    public int VerifiedInliers { get; init; } = 8;
}
