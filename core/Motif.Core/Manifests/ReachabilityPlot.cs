using System.Text.Json;
using System.Text.Json.Serialization;
using Motif.Core.Clustering;

namespace Motif.Core.Manifests;

/// <summary>
/// The reachability plot of a whole run (<c>reachability.json</c> beside its manifest): every clustered image in
/// OPTICS order with the reachability distance at which OPTICS reached it, its cluster, and the radius the clusters
/// were cut at. It is the picture OPTICS is read from (Ankerst, Breunig, Kriegel &amp; Sander, "OPTICS: Ordering
/// Points To Identify the Clustering Structure", SIGMOD 1999, §4.3): a valley is a cluster, a bar above the radius
/// separates clusters. The manifest alone cannot draw it, because it holds reachability only for cluster members, and
/// the bars between valleys (images in no cluster) are what make the valleys readable.
/// </summary>
/// <remarks>
/// <para>Parallel columns, all of length n, indexed by OPTICS <em>position</em> (not the manifest's row order):
/// <c>ids</c> (image ids), <c>reachability</c> (cosine distance rounded to 6 decimals, or <c>null</c> where OPTICS
/// reached the image first, from nothing: the start of the ordering and of every part of the graph no bar within the
/// radius leads into; scikit-learn's <c>inf</c>) and <c>cluster</c> (an index into <c>clusters</c>, the run's stable
/// cluster ids in the manifest's order, the same indices as the map's, or −1 for an image in no cluster).</para>
/// <para>Size: about 12–16 bytes a point plus the id (a reachability such as <c>0.123457,</c> is at most 9 bytes,
/// a cluster index with its comma 2–6, the id's quotes and comma 3): ~4.5 MB at 100,000 images with 30-character ids.
/// Parallel arrays rather than one object per point, so a browser reads them into typed arrays.</para>
/// </remarks>
public sealed record ReachabilityPlot
{
    /// <summary>Version of the document's shape; readers refuse other versions.</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>Decimals a reachability keeps: far below a pixel of any plot, and a third of the document's size.</summary>
    public const int Decimals = 6;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string RunId { get; init; }
    /// <summary>The radius the clusters were cut at: the DBSCAN eps when the run extracted with one, else OPTICS's
    /// max_eps (the graph's radius); null when the graph held every pair (an infinite radius draws no line).</summary>
    public required double? Radius { get; init; }
    /// <summary>min_samples after resolving a fraction (<see cref="OpticsResult.MinSamples"/>).</summary>
    public required int MinSamples { get; init; }
    public required IReadOnlyList<string> Clusters { get; init; }
    public required IReadOnlyList<string> Ids { get; init; }
    public required IReadOnlyList<double?> Reachability { get; init; }
    public required IReadOnlyList<int> Cluster { get; init; }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>The plot of <paramref name="manifest"/>, whose rows <paramref name="optics"/> ordered.</summary>
    public static ReachabilityPlot Create(ClusterManifest manifest, OpticsResult optics)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(optics);
        var n = manifest.Images.Count;
        if (optics.Ordering.Count != n || optics.Reachability.Count != n)
        {
            throw new ArgumentException($"An OPTICS result of {optics.Ordering.Count} points for a manifest of {n} images.", nameof(optics));
        }
        var clusters = manifest.Clusters.Select(c => c.Id).ToArray();
        var index = clusters.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i, StringComparer.Ordinal);
        var parameters = manifest.Parameters;
        var radius = parameters.Extraction == Extraction.Dbscan && parameters.Eps is { } eps ? eps : optics.MaxEps;
        return new ReachabilityPlot
        {
            RunId = manifest.RunId,
            Radius = double.IsFinite(radius) ? radius : null,
            MinSamples = optics.MinSamples,
            Clusters = clusters,
            Ids = [.. optics.Ordering.Select(row => manifest.Images[row].ImageId)],
            Reachability = [.. optics.Ordering.Select(row => Bar(optics.Reachability[row]))],
            Cluster = [.. optics.Ordering.Select(row => manifest.Images[row].ClusterId is { } c ? index[c] : -1)],
        };
    }

    /// <summary>A reachability as published: rounded, or null where it is undefined (∞).</summary>
    public static double? Bar(double reachability) =>
        double.IsFinite(reachability) ? Math.Round(reachability, Decimals) : null;

    /// <summary>Compact JSON (no indentation).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a plot, checking that its columns agree.</summary>
    /// <exception cref="FormatException">Not a reachability plot of this schema version, or its columns disagree.</exception>
    public static ReachabilityPlot FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        ReachabilityPlot? plot;
        try
        {
            plot = JsonSerializer.Deserialize<ReachabilityPlot>(json, Json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"Not a reachability plot: {e.Message}", e);
        }
        if (plot is null || plot.SchemaVersion != CurrentSchemaVersion)
        {
            throw new FormatException($"Expected a reachability plot of schema version {CurrentSchemaVersion}, got {plot?.SchemaVersion.ToString() ?? "null"}.");
        }
        var n = plot.Ids.Count;
        if (plot.Reachability.Count != n || plot.Cluster.Count != n)
        {
            throw new FormatException("The reachability plot's columns differ in length.");
        }
        if (plot.Cluster.Any(c => c < -1 || c >= plot.Clusters.Count) || plot.Reachability.Any(r => r is { } v && !(v >= 0 && double.IsFinite(v))))
        {
            throw new FormatException("The reachability plot has a cluster index out of range or a reachability that is negative or not finite.");
        }
        return plot;
    }
}
