using System.Text.Json.Nodes;

namespace Motif.Core.Manifests;

/// <summary>An image as a IIIF viewer fetches it: the derivative's URL, media type and pixel size.</summary>
public sealed record IiifImage(Uri Url, string Format, int Width, int Height);

/// <summary>
/// The clusters of a <see cref="ClusterManifest"/> as IIIF Presentation API 3.0 resources
/// (https://iiif.io/api/presentation/3.0/): a Collection whose items are one Manifest per cluster; each Manifest
/// has one Canvas per member image, in OPTICS order, painted by one Image annotation. This lets curators open a
/// cluster in any IIIF viewer (Mirador, Universal Viewer) next to the museums' own IIIF resources.
/// </summary>
/// <remarks>
/// Spec points that shape the output: every resource has an HTTP(S) <c>id</c> and a <c>type</c>; labels are
/// language maps (<c>{"none": [...]}</c> when there is no language, §4.3 / label); a Canvas carries both
/// width and height (§3.4, Canvas); painting annotations sit in an AnnotationPage in the Canvas's
/// <c>items</c> and target the Canvas (§3.5, painting); the <c>@context</c> is the Presentation 3 context
/// and only the top resource of a document has one (§4.6 / Linked Data Context).
/// </remarks>
public static class IiifExport
{
    public const string Context = "http://iiif.io/api/presentation/3/context.json";

    /// <summary>URL of the Collection document, relative to <paramref name="baseUrl"/>.</summary>
    public static Uri CollectionUrl(Uri baseUrl) => new(WithSlash(baseUrl), "collection.json");

    /// <summary>URL of a cluster's Manifest document, relative to <paramref name="baseUrl"/>.</summary>
    public static Uri ManifestUrl(Uri baseUrl, string clusterId) => new(WithSlash(baseUrl), $"clusters/{Uri.EscapeDataString(clusterId)}/manifest.json");

    /// <summary>The Collection: one item (a Manifest reference) per cluster.</summary>
    public static JsonObject Collection(ClusterManifest manifest, Uri baseUrl)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(baseUrl);
        var items = new JsonArray();
        foreach (var cluster in manifest.Clusters)
        {
            items.Add(new JsonObject
            {
                ["id"] = ManifestUrl(baseUrl, cluster.Id).AbsoluteUri,
                ["type"] = "Manifest",
                ["label"] = Label(ClusterLabel(cluster)),
            });
        }
        return new JsonObject
        {
            ["@context"] = Context,
            ["id"] = CollectionUrl(baseUrl).AbsoluteUri,
            ["type"] = "Collection",
            ["label"] = Label($"Motif clusters, run {manifest.RunId}"),
            ["summary"] = Label($"{manifest.Counts.Clusters} clusters over {manifest.Counts.Images} images ({manifest.Counts.Noise} unclustered); model {manifest.ModelVersion}."),
            ["items"] = items,
        };
    }

    /// <summary>The Manifest of one cluster. <paramref name="resolve"/> maps an image id to its derivative.</summary>
    public static JsonObject Manifest(ClusterManifest manifest, string clusterId, Uri baseUrl, Func<string, IiifImage> resolve)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentNullException.ThrowIfNull(resolve);
        var cluster = manifest.Clusters.SingleOrDefault(c => c.Id == clusterId)
            ?? throw new ArgumentException($"The manifest has no cluster {clusterId}.", nameof(clusterId));
        var manifestUrl = ManifestUrl(baseUrl, cluster.Id).AbsoluteUri;
        var canvases = new JsonArray();
        for (var k = 0; k < cluster.Members.Count; k++)
        {
            var member = cluster.Members[k];
            var image = resolve(member.ImageId);
            if (image.Width <= 0 || image.Height <= 0 || !image.Url.IsAbsoluteUri)
            {
                throw new ArgumentException($"Image {member.ImageId} needs an absolute URL and a positive size for its Canvas.");
            }
            var canvasId = $"{manifestUrl}/canvas/{k + 1}";
            canvases.Add(new JsonObject
            {
                ["id"] = canvasId,
                ["type"] = "Canvas",
                ["label"] = Label(member.ImageId),
                ["width"] = image.Width,
                ["height"] = image.Height,
                ["items"] = new JsonArray(new JsonObject
                {
                    ["id"] = $"{canvasId}/page",
                    ["type"] = "AnnotationPage",
                    ["items"] = new JsonArray(new JsonObject
                    {
                        ["id"] = $"{canvasId}/page/image",
                        ["type"] = "Annotation",
                        ["motivation"] = "painting",
                        ["body"] = new JsonObject
                        {
                            ["id"] = image.Url.AbsoluteUri,
                            ["type"] = "Image",
                            ["format"] = image.Format,
                            ["width"] = image.Width,
                            ["height"] = image.Height,
                        },
                        ["target"] = canvasId,
                    }),
                }),
            });
        }
        return new JsonObject
        {
            ["@context"] = Context,
            ["id"] = manifestUrl,
            ["type"] = "Manifest",
            ["label"] = Label(ClusterLabel(cluster)),
            ["metadata"] = new JsonArray(
                Entry("Cluster", cluster.Id),
                Entry("Run", manifest.RunId),
                Entry("Model", manifest.ModelVersion),
                Entry("Medoid", cluster.Medoid)),
            ["partOf"] = new JsonArray(new JsonObject { ["id"] = CollectionUrl(baseUrl).AbsoluteUri, ["type"] = "Collection" }),
            ["items"] = canvases,
        };
    }

    private static string ClusterLabel(ManifestCluster cluster) => $"Cluster {cluster.Id} ({cluster.Size} images)";

    private static JsonObject Label(string text) => new() { ["none"] = new JsonArray(text) };

    private static JsonObject Entry(string label, string value) => new() { ["label"] = Label(label), ["value"] = Label(value) };

    private static Uri WithSlash(Uri baseUrl)
    {
        if (!baseUrl.IsAbsoluteUri || (baseUrl.Scheme != Uri.UriSchemeHttps && baseUrl.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException("IIIF resource ids are HTTP(S) URLs.", nameof(baseUrl));
        }
        return baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/");
    }
}
