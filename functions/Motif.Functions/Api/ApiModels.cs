namespace Motif.Functions.Api;

/// <summary>An image as <c>GET /api/images/{key}</c> returns it (camelCase JSON).</summary>
/// <param name="Id">The image id, <c>{collection}/{path}</c>.</param>
/// <param name="Key">The id in base64url, as it appears in URLs.</param>
/// <param name="Status"><c>accepted</c> or <c>rejected</c>.</param>
/// <param name="Reason">The rejection code (<c>corrupt</c>, <c>file-too-large</c>…), null when accepted.</param>
/// <param name="ClusterId">The image's cluster in the latest manifest, null for noise or when it was not clustered yet.</param>
public sealed record ImageResponse(
    string Id,
    string Key,
    string Status,
    string? Reason,
    string? Message,
    string? Format,
    int Width,
    int Height,
    long ByteLength,
    string? ContentHash,
    DateTimeOffset UpdatedAt,
    string? ClusterId,
    ImageLinks Links);

/// <summary>API-relative links (no storage URL, no SAS: the app reads storage with its identity and serves the bytes).</summary>
public sealed record ImageLinks(string Self, string Neighbours, string? Derivative, string? Thumbnail);

/// <summary>The neighbours of an image in the stored graph, nearest first.</summary>
/// <param name="Radius">The graph's cosine-distance radius (max_eps); null when the graph holds every pair.</param>
public sealed record NeighboursResponse(string Id, string Key, string ModelVersion, double? Radius, IReadOnlyList<NeighbourResponse> Neighbours);

/// <summary>One neighbour: its id, key, cosine distance (1 − cos) and link.</summary>
public sealed record NeighbourResponse(string Id, string Key, double Distance, string Link);

/// <summary>What <c>GET /api/health</c> returns.</summary>
/// <param name="Status"><c>ok</c>, or <c>unavailable</c> (503) when storage cannot be read.</param>
/// <param name="Storage"><c>azure</c> or <c>embedded</c>; never an account name or a connection.</param>
public sealed record HealthResponse(string Status, string Storage, string ModelVersion, string? LatestRun, bool SearchConfigured, DateTimeOffset CheckedAt);
