using System.Text.Json;
using System.Text.Json.Serialization;
using Motif.Core.Manifests;

namespace Motif.Core.Layout;

/// <summary>
/// The published map of one run (<c>map.json</c> beside its manifest): every clustered image's position from
/// <see cref="MapLayout"/> and its cluster, as parallel columns rather than one object per point, so that 100,000
/// points stay a few megabytes (about 50 bytes a point plus the id: ~7 MB with 30-character ids) and a browser can
/// read them into typed arrays without building 100,000 objects.
/// </summary>
/// <remarks>
/// <para>Columns, all of length n, in the manifest's row order: <c>ids</c> (image ids), <c>x</c>, <c>y</c> (layout
/// units, rounded to 3 decimals: a writer rounds, so a position read back and written again is the same number, which
/// is what keeps an unchanged image exactly in place from run to run), <c>cluster</c> (an index into <c>clusters</c>,
/// the run's stable cluster ids, or −1 for an image in no cluster) and <c>content</c> (the first 8 hex digits of the
/// image's content hash: an image whose content changed under the same id is laid out again rather than kept).</para>
/// </remarks>
public sealed record CollectionMap
{
    /// <summary>Version of the document's shape; readers refuse other versions.</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>Hex digits of the content hash kept per image.</summary>
    public const int ContentPrefixLength = 8;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string RunId { get; init; }
    public required IReadOnlyList<string> Clusters { get; init; }
    public required IReadOnlyList<string> Ids { get; init; }
    public required IReadOnlyList<double> X { get; init; }
    public required IReadOnlyList<double> Y { get; init; }
    public required IReadOnlyList<int> Cluster { get; init; }
    public required IReadOnlyList<string> Content { get; init; }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>The map of <paramref name="manifest"/>'s images, whose rows <paramref name="positions"/> and
    /// <paramref name="contentHashes"/> (hex) follow.</summary>
    public static CollectionMap Create(ClusterManifest manifest, IReadOnlyList<MapPoint> positions, IReadOnlyList<string> contentHashes)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(positions);
        ArgumentNullException.ThrowIfNull(contentHashes);
        var n = manifest.Images.Count;
        if (positions.Count != n || contentHashes.Count != n)
        {
            throw new ArgumentException($"{positions.Count} positions and {contentHashes.Count} content hashes for {n} images.");
        }
        var clusters = manifest.Clusters.Select(c => c.Id).ToArray();
        var index = clusters.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i, StringComparer.Ordinal);
        return new CollectionMap
        {
            RunId = manifest.RunId,
            Clusters = clusters,
            Ids = [.. manifest.Images.Select(i => i.ImageId)],
            X = [.. positions.Select(p => Math.Round(p.X, 3))],
            Y = [.. positions.Select(p => Math.Round(p.Y, 3))],
            Cluster = [.. manifest.Images.Select(i => i.ClusterId is { } c ? index[c] : -1)],
            Content = [.. contentHashes.Select(Prefix)],
        };
    }

    /// <summary>The part of a content hash the map keeps.</summary>
    public static string Prefix(string contentHash)
    {
        ArgumentNullException.ThrowIfNull(contentHash);
        return contentHash.Length <= ContentPrefixLength ? contentHash : contentHash[..ContentPrefixLength];
    }

    /// <summary>Per image id, its position when its content prefix is still <paramref name="contentHashes"/>' (same
    /// order as <paramref name="imageIds"/>): the fixed positions for <see cref="MapLayout.Compute"/>.</summary>
    public MapPoint?[] PositionsOf(IReadOnlyList<string> imageIds, IReadOnlyList<string> contentHashes)
    {
        ArgumentNullException.ThrowIfNull(imageIds);
        ArgumentNullException.ThrowIfNull(contentHashes);
        var previous = new Dictionary<string, int>(Ids.Count, StringComparer.Ordinal);
        for (var i = 0; i < Ids.Count; i++)
        {
            previous[Ids[i]] = i;
        }
        var fixedPositions = new MapPoint?[imageIds.Count];
        for (var i = 0; i < imageIds.Count; i++)
        {
            if (previous.TryGetValue(imageIds[i], out var p) && string.Equals(Content[p], Prefix(contentHashes[i]), StringComparison.Ordinal))
            {
                fixedPositions[i] = new MapPoint(X[p], Y[p]);
            }
        }
        return fixedPositions;
    }

    /// <summary>Compact JSON (no indentation).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a map, checking that its columns agree.</summary>
    /// <exception cref="FormatException">Not a map of this schema version, or its columns disagree.</exception>
    public static CollectionMap FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        CollectionMap? map;
        try
        {
            map = JsonSerializer.Deserialize<CollectionMap>(json, Json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"Not a collection map: {e.Message}", e);
        }
        if (map is null || map.SchemaVersion != CurrentSchemaVersion)
        {
            throw new FormatException($"Expected a collection map of schema version {CurrentSchemaVersion}, got {map?.SchemaVersion.ToString() ?? "null"}.");
        }
        var n = map.Ids.Count;
        if (map.X.Count != n || map.Y.Count != n || map.Cluster.Count != n || map.Content.Count != n)
        {
            throw new FormatException("The map's columns differ in length.");
        }
        if (map.Cluster.Any(c => c < -1 || c >= map.Clusters.Count) || map.X.Concat(map.Y).Any(v => !double.IsFinite(v)))
        {
            throw new FormatException("The map has a cluster index out of range or a coordinate that is not finite.");
        }
        return map;
    }
}
