namespace Motif.Imaging.LocalFeatures;

/// <summary>
/// Finds an image's local features and says whether two images share a region: whether enough of their features
/// match and agree on one geometric transform (a shift, a rotation and a change of scale: a detail, a tilted or
/// resized copy). This is the check copy detection makes after a global signature's ranking (Philbin et al., "Object
/// retrieval with large vocabularies and fast spatial matching", CVPR 2007), and what tells a copy of one tile of a
/// photograph from its neighbouring tiles, which a global signature finds alike (the same sky, cloth or gravel).
/// </summary>
/// <remarks>
/// Guarantees every adapter keeps:
/// <list type="bullet">
/// <item><see cref="Extract"/> and <see cref="Inliers"/> are deterministic: the same image gives the same features,
/// and the same pair the same count, on every call, thread and process (verdicts are stored and must not drift).</item>
/// <item><see cref="Inliers"/> is symmetric, and 0 when either image has too few features to fit a transform.</item>
/// <item>Both are safe to call from several threads at once.</item>
/// <item><see cref="Version"/> changes whenever a setting that changes a feature or a count changes, so stored
/// features and verdicts of another version are never mixed with these.</item>
/// </list>
/// </remarks>
public interface ILocalFeatureMatcher
{
    /// <summary>Names the detector, the matching and the geometric check with their settings, e.g. "rootsift-c0.005-n1000-r0.8-a4".</summary>
    string Version { get; }

    /// <summary>The longest side, in pixels, that an image is shrunk to (never enlarged) before its features are found
    /// (<see cref="ImageCodec.Grey"/>): it bounds a large image's features and their matching cost.</summary>
    int ImageSide { get; }

    /// <summary>Matched features that must agree on one transform for a pair to be a shared region; an image with
    /// fewer features than this cannot be verified either way.</summary>
    int VerifiedInliers { get; }

    /// <summary>The local features of <paramref name="image"/> and of its mirror image, positions in their pixels.</summary>
    LocalFeatureSet Extract(GreyImage image);

    /// <summary>How many matched features of <paramref name="a"/> and <paramref name="b"/> agree on the transform that
    /// most of them agree on (RANSAC's inliers): the most over both matching directions, and over <paramref name="b"/>
    /// and its mirror image (a mirror-image copy shares a region with its model through the mirror).</summary>
    int Inliers(LocalFeatureSet a, LocalFeatureSet b);
}
