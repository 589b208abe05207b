using Motif.Core.Manifests;
using Motif.Core.Metadata;

namespace Motif.Functions.Api;

/// <summary>An image as <c>GET /api/images/{key}</c> returns it (camelCase JSON).</summary>
/// <param name="Id">The image id, <c>{collection}/{path}</c>.</param>
/// <param name="Key">The id in base64url, as it appears in URLs.</param>
/// <param name="Status"><c>accepted</c> or <c>rejected</c>.</param>
/// <param name="Reason">The rejection code (<c>corrupt</c>, <c>file-too-large</c>…), null when accepted.</param>
/// <param name="ClusterId">The image's cluster in the latest manifest, null for noise or when it was not clustered yet.</param>
/// <param name="Metadata">What the museum's metadata.csv says of it (title, artist, date, collection, source link,
/// description; the link only ever absolute http(s)), null when no CSV names it. Uploaded text: show it as text.</param>
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
    ImageLinks Links,
    ImageMetadata? Metadata);

/// <summary>API-relative links (no storage URL, no SAS: the app reads storage with its identity and serves the bytes).</summary>
public sealed record ImageLinks(string Self, string Neighbours, string? Derivative, string? Thumbnail);

/// <summary>The neighbours of an image in the stored graph, nearest first.</summary>
/// <param name="Radius">The graph's cosine-distance radius (max_eps); null when the graph holds every pair.</param>
public sealed record NeighboursResponse(string Id, string Key, string ModelVersion, double? Radius, IReadOnlyList<NeighbourResponse> Neighbours);

/// <summary>One neighbour: its id, key, cosine distance (1 − cos), link and thumbnail (from the graph row's content hash).</summary>
public sealed record NeighbourResponse(string Id, string Key, double Distance, string Link, string Thumbnail);

/// <summary>What <c>GET /api/whoami</c> returns: the name an annotation made now would record, and where it comes from
/// (<c>principal</c>: the App Service authentication header; <c>local</c>: the local app's annotator setting).</summary>
public sealed record WhoAmIResponse(string Annotator, string Source);

/// <summary>What <c>GET /api/health</c> returns.</summary>
/// <param name="Status"><c>ok</c>, or <c>unavailable</c> (503) when storage cannot be read.</param>
/// <param name="Storage"><c>azure</c> or <c>embedded</c>; never an account name or a connection.</param>
public sealed record HealthResponse(string Status, string Storage, string ModelVersion, string? LatestRun, bool SearchConfigured, DateTimeOffset CheckedAt);

/// <summary>
/// What <c>GET /api/clusters/{id}</c> returns: the manifest's cluster (its id, size, medoid and members in OPTICS order,
/// each with its reachability), plus what a page needs to show it — each member's key, catalog metadata and image links,
/// and the radius its reachability plot is drawn against.
/// </summary>
/// <param name="RunId">The run of the latest manifest the cluster is from.</param>
/// <param name="Radius">
/// The cosine distance the plot draws as a line: the DBSCAN extraction's eps, else the graph's max_eps; null when
/// neither bounds it (ξ extraction over every pair).
/// </param>
/// <param name="Change">How the cluster changed since <paramref name="PreviousRunId"/>; null for a first run.</param>
public sealed record ClusterResponse(string Id, int Size, string Medoid, string RunId, double? Radius, IReadOnlyList<ClusterMemberResponse> Members,
    ChangeResponse? Change, string? PreviousRunId);

/// <summary>A cluster's change since the previous run (see <c>ClusterChanges</c>).</summary>
/// <param name="Kind"><c>new</c>, <c>unchanged</c>, <c>grown</c>, <c>shrunk</c>, <c>changed</c> (as many members, not the same) or <c>merged</c>.</param>
/// <param name="PreviousSize">The size of the previous cluster of the same id; null when the id is new.</param>
/// <param name="From">The previous clusters it has members of, its own id first.</param>
public sealed record ChangeResponse(string Kind, int? PreviousSize, IReadOnlyList<string> From)
{
    public static ChangeResponse? Of(ClusterChange? change) =>
        change is null ? null : new(change.Kind.ToString().ToLowerInvariant(), change.PreviousSize, change.From);
}

/// <summary>One member of a cluster in OPTICS order: the manifest's fields, then its catalog record's (null when the catalog no longer has it), then its metadata.</summary>
/// <param name="Reachability">Its OPTICS reachability distance; null when undefined (infinite).</param>
public sealed record ClusterMemberResponse(
    string ImageId,
    string Key,
    int Order,
    double? Reachability,
    double? CoreDistance,
    string? Format,
    int? Width,
    int? Height,
    long? ByteLength,
    string? Thumbnail,
    string? Derivative,
    ImageMetadata? Metadata);

/// <summary>
/// What <c>GET /api/gallery</c> returns: the latest run's clusters, largest first, each ready to show as a card, and the
/// images in no cluster (noise), in manifest order.
/// </summary>
/// <param name="PreviousRunId">The run the clusters' changes are relative to; null for a first run.</param>
/// <param name="Collections">Every collection the members' metadata names, sorted: what the collection filter offers.</param>
public sealed record GalleryResponse(string RunId, DateTimeOffset CreatedAt, string ModelVersion, int Images, int Noise,
    IReadOnlyList<GalleryCluster> Clusters, IReadOnlyList<GalleryImage> Unclustered, string? PreviousRunId, IReadOnlyList<string> Collections);

/// <summary>A cluster's card: its size, medoid, a few members to show (the medoid first), every member's id, and what
/// the filters match: the collections and the titles and artists its members' metadata name (distinct).</summary>
/// <param name="Change">How it changed since the previous run; null for a first run.</param>
public sealed record GalleryCluster(string Id, int Size, string Medoid, IReadOnlyList<GalleryImage> Previews, IReadOnlyList<string> MemberIds,
    ChangeResponse? Change, IReadOnlyList<string> Collections, IReadOnlyList<string> Text);

/// <summary>An image on a card: id, key and thumbnail link (null when the catalog has no accepted image for it).</summary>
public sealed record GalleryImage(string Id, string Key, string? Thumbnail);

/// <summary>What <c>POST /api/search</c> returns: the model and the number of signatures searched, and the hits nearest first.</summary>
public sealed record SearchResponse(string Model, int Signatures, IReadOnlyList<SearchResultResponse> Results);

/// <summary>One hit: the image, its key, cosine distance (1 − cos) to the query, and its links.</summary>
public sealed record SearchResultResponse(string ImageId, string Key, double Distance, string Link, string? Thumbnail);

/// <summary>The body of <c>POST /api/annotations</c> (see <see cref="AnnotationsApi"/>): a verdict on a cluster, or an undo.</summary>
public sealed record AnnotationRequest(string? Cluster, string? Label, IReadOnlyList<string>? Images, string? Undo, string? Note, string? Annotator, string? RunId = null);

/// <summary>One annotation as the API returns it (see <see cref="AnnotationsApi"/>).</summary>
public sealed record AnnotationResponse(
    string Id,
    DateTimeOffset CreatedAt,
    string Annotator,
    string Label,
    string? RunId,
    string? ModelVersion,
    string? Cluster,
    IReadOnlyList<string> Images,
    IReadOnlyList<string> Others,
    string? Undoes,
    string? Note,
    string? UndoneBy)
{
    public static AnnotationResponse Of(Motif.Core.Annotations.Annotation a, string? undoneBy) =>
        new(a.Id, a.CreatedAt, a.Annotator, Motif.Core.Annotations.AnnotationRules.Label(a.Label), a.Draft.RunId, a.Draft.ModelVersion, a.ClusterId,
            a.Images, a.Draft.Others, a.Undoes, a.Draft.Note, undoneBy);
}

/// <summary>What <c>GET /api/annotations</c> returns: the history, oldest first.</summary>
public sealed record AnnotationsResponse(IReadOnlyList<AnnotationResponse> Annotations);
