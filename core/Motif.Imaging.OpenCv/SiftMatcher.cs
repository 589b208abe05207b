using System.Globalization;
using Motif.Imaging.LocalFeatures;
using OpenCvSharp;
using OpenCvSharp.Features2D;

namespace Motif.Imaging.OpenCv;

/// <summary>
/// <see cref="ILocalFeatureMatcher"/> over OpenCV: SIFT features (Lowe 2004), compared as RootSIFT (Arandjelović and
/// Zisserman, "Three things everyone should know to improve object retrieval", CVPR 2012: each descriptor L1-normalised
/// and square-rooted, so that Euclidean distance compares them as the Hellinger kernel does), matched by Lowe's ratio
/// test, made one-to-one, and checked with RANSAC for one similarity transform (OpenCV's estimateAffinePartial2D:
/// rotation, uniform scale and shift, which is how a detail, a tilted or a resized copy relates to its source). SIFT is
/// not invariant to reflection, so the mirror image's features are found too, and a pair counts the better of its
/// matches with the other image and with the other's mirror image (a print reverses its model).
/// </summary>
/// <remarks>
/// <para><b>One-to-one.</b> SIFT gives one location several features when it has several dominant orientations, and
/// a repetitive texture lets many features match one; RANSAC then finds many "inliers" that are one point. Matches are
/// taken best ratio first and a match is dropped when either of its locations (to the pixel) is taken already.</para>
/// <para><b>Plausible transforms.</b> A transform that shrinks or enlarges areas by more than 36 (sides by 6) is a
/// degenerate fit of a few collinear or clustered points, not a copy: such a pair counts 0.</para>
/// <para><b>Deterministic.</b> OpenCV's RANSAC seeds its generator the same way on every call, the matcher is exact
/// (brute force), and ties are broken by index, so a pair gives the same count every time.</para>
/// </remarks>
public sealed class SiftMatcher : ILocalFeatureMatcher
{
    private const double MaxAreaScale = 36;
    private const int RansacIterations = 2000;
    private const double RansacConfidence = 0.99;

    private readonly SiftMatcherOptions _options;

    public SiftMatcher(SiftMatcherOptions? options = null)
    {
        // OpenCV's library carries and exports its own builds of libpng, libjpeg and OpenJPEG. Loaded before libvips,
        // it lends libvips' decoders those symbols, which crash them (measured: a segmentation fault at the first PNG);
        // loaded after, it changes nothing. So libvips is loaded first, here, before the first call into OpenCV.
        Libvips.LibvipsRuntime.EnsureInitialised();
        _options = options ?? new SiftMatcherOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.ContrastThreshold, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxFeatures, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.MaxFeatures, LocalFeatureSet.MaxCount, nameof(options));
        if (!(_options.Ratio is > 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.Ratio, "The ratio test's ratio is between 0 and 1.");
        }
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.ReprojectionPixels, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.VerifiedInliers, 3, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.ImageSide, 32, nameof(options));
        var o = _options;
        Version = string.Create(CultureInfo.InvariantCulture,
            $"opencv{Cv2.GetVersionString()}-rootsift-s{o.ImageSide}-c{o.ContrastThreshold:R}-n{o.MaxFeatures}-mirror-r{o.Ratio:R}-a{o.ReprojectionPixels:R}-t{o.VerifiedInliers}");
    }

    /// <inheritdoc />
    public string Version { get; }

    /// <inheritdoc />
    public int VerifiedInliers => _options.VerifiedInliers;

    /// <inheritdoc />
    public int ImageSide => _options.ImageSide;

    /// <inheritdoc />
    public LocalFeatureSet Extract(GreyImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var pixels = Mat.FromPixelData(image.Height, image.Width, MatType.CV_8UC1, image.Pixels);
        using var mirror = new Mat();
        Cv2.Flip(pixels, mirror, FlipMode.Y);
        var (points, descriptors) = Detect(pixels);
        var (mirrorPoints, mirrorDescriptors) = Detect(mirror);
        return LocalFeatureSet.Create(points, descriptors, mirrorPoints, mirrorDescriptors);
    }

    private (float[] Points, byte[] Descriptors) Detect(Mat pixels)
    {
        using var sift = SIFT.Create(nFeatures: _options.MaxFeatures, contrastThreshold: _options.ContrastThreshold);
        using var descriptors = new Mat();
        sift.DetectAndCompute(pixels, null, out var keypoints, descriptors);
        if (keypoints.Length == 0)
        {
            return ([], []);
        }
        var points = new float[2 * keypoints.Length];
        for (var k = 0; k < keypoints.Length; k++)
        {
            (points[2 * k], points[2 * k + 1]) = (keypoints[k].Pt.X, keypoints[k].Pt.Y);
        }
        // OpenCV's SIFT descriptors are float32 holding whole numbers 0–255 (saturate_cast to uchar): bytes lose nothing.
        descriptors.GetArray(out float[] values);
        var bytes = new byte[values.Length];
        for (var k = 0; k < values.Length; k++)
        {
            bytes[k] = (byte)Math.Clamp(MathF.Round(values[k]), 0, 255);
        }
        return (points, bytes);
    }

    /// <inheritdoc />
    public int Inliers(LocalFeatureSet a, LocalFeatureSet b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        using var image = Features.Of(a.Points, a.Descriptors);
        using var other = Features.Of(b.Points, b.Descriptors);
        using var otherMirror = Features.Of(b.MirrorPoints, b.MirrorDescriptors);
        // A and B, or A and the mirror of B (the mirror of A against B is the same pair seen in a mirror), each way.
        return Math.Max(Math.Max(Directed(image, other), Directed(other, image)), Math.Max(Directed(image, otherMirror), Directed(otherMirror, image)));
    }

    /// <summary>One side's features for matching: positions, and RootSIFT descriptors as one float32 row each.</summary>
    private sealed class Features(float[] points, Mat? root) : IDisposable
    {
        public float[] Points { get; } = points;

        /// <summary>Null with fewer than 3 features: no transform can be fitted.</summary>
        public Mat? Root { get; } = root;

        public static Features Of(ReadOnlySpan<float> points, ReadOnlySpan<byte> descriptors)
        {
            const int length = LocalFeatureSet.DescriptorLength;
            var count = points.Length / 2;
            if (count < 3)
            {
                return new(points.ToArray(), null);
            }
            var values = new float[count * length];
            for (var f = 0; f < count; f++)
            {
                var row = descriptors.Slice(f * length, length);
                var sum = 0;
                foreach (var v in row)
                {
                    sum += v;
                }
                var scale = 1f / Math.Max(sum, 1);
                for (var k = 0; k < length; k++)
                {
                    values[f * length + k] = MathF.Sqrt(row[k] * scale);
                }
            }
            return new(points.ToArray(), Mat.FromPixelData(count, length, MatType.CV_32FC1, values));
        }

        public void Dispose() => Root?.Dispose();
    }

    /// <summary>Inliers of the features of <paramref name="query"/> matched into <paramref name="train"/>.</summary>
    private int Directed(Features query, Features train)
    {
        if (query.Root is null || train.Root is null)
        {
            return 0;
        }
        using var matcher = new BFMatcher(NormTypes.L2);
        var candidates = new List<(float Ratio, int Query, int Train)>();
        foreach (var m in matcher.KnnMatch(query.Root, train.Root, 2))
        {
            if (m.Length == 2 && m[0].Distance < _options.Ratio * m[1].Distance)
            {
                candidates.Add((m[0].Distance / m[1].Distance, m[0].QueryIdx, m[0].TrainIdx));
            }
        }
        candidates.Sort();
        var (takenQuery, takenTrain) = (new HashSet<(int, int)>(), new HashSet<(int, int)>());
        var (from, to) = (new List<Point2f>(), new List<Point2f>());
        foreach (var (_, q, t) in candidates)
        {
            var (p, r) = (Point(query.Points, q), Point(train.Points, t));
            var (queryPixel, trainPixel) = (Pixel(p), Pixel(r));
            if (takenQuery.Contains(queryPixel) || takenTrain.Contains(trainPixel))
            {
                continue;
            }
            takenQuery.Add(queryPixel);
            takenTrain.Add(trainPixel);
            from.Add(p);
            to.Add(r);
        }
        if (from.Count < 3)
        {
            return 0;
        }
        using var fromPoints = Mat.FromArray(from.ToArray());
        using var toPoints = Mat.FromArray(to.ToArray());
        using var inliers = new Mat();
        using var transform = Cv2.EstimateAffinePartial2D(fromPoints, toPoints, inliers, RobustEstimationAlgorithms.RANSAC,
            _options.ReprojectionPixels, RansacIterations, RansacConfidence, 10);
        if (transform is null || transform.Empty())
        {
            return 0;
        }
        var area = transform.At<double>(0, 0) * transform.At<double>(1, 1) - transform.At<double>(0, 1) * transform.At<double>(1, 0);
        return area is > 1 / MaxAreaScale and < MaxAreaScale ? Cv2.CountNonZero(inliers) : 0;
    }

    private static Point2f Point(float[] points, int feature) => new(points[2 * feature], points[2 * feature + 1]);

    private static (int, int) Pixel(Point2f p) => ((int)MathF.Round(p.X), (int)MathF.Round(p.Y));
}
