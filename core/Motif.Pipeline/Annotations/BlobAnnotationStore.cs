using System.Text.Json;
using Motif.Core.Annotations;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;

namespace Motif.Pipeline.Annotations;

/// <summary>
/// <see cref="IAnnotationStore"/> in a collection's blob store, so that it works the same embedded (a local folder),
/// on Azurite and in Azure with no adapter of its own: one immutable JSON blob per annotation,
/// <c>annotations/{id}.json</c> (<see cref="CollectionBlobs.Annotation"/>), written create-only.
/// </summary>
/// <remarks>
/// <para>Why one blob per annotation: appending to a shared blob would need a lease or an If-Match retry loop, and a
/// lost race or a torn write could damage earlier entries. A create-only write of a fresh name cannot touch any
/// other annotation, needs no coordination between hosts, and is all-or-nothing in both stores. Ids sort by time and
/// blob listings are in name order, so a listing is the history. Reading it costs one read per annotation (curators
/// make a few thousand, not millions); the reads run a few at a time.</para>
/// <para>Each blob's metadata carries its label, its cluster and, for an undo, the id it withdraws, so checking for an
/// earlier undo lists names and metadata without reading any annotation, and a cluster's history reads only that
/// cluster's annotations (and any written before the cluster was kept in the metadata).</para>
/// <para>Image ids are checked against the catalog: each one by itself for a small annotation, against one listing of
/// the catalog for a large one (a wrong-member annotation names the rest of its cluster).</para>
/// </remarks>
public sealed class BlobAnnotationStore(IBlobStore blobs, IImageCatalog catalog, TimeProvider? time = null) : IAnnotationStore
{
    /// <summary>The JSON layout's version; other versions do not read back.</summary>
    public const int SchemaVersion = 1;

    /// <summary>Above this many image ids, the catalog is listed once instead of asked per id.</summary>
    private const int ImagesCheckedOneByOne = 32;

    private const int ParallelReads = 8;

    /// <summary>The metadata key of the annotation's cluster id (escaped).</summary>
    private const string ClusterKey = "cluster";

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task<Annotation> AppendAsync(AnnotationDraft draft, CancellationToken cancellationToken = default)
    {
        AnnotationRules.Validate(draft);
        if (draft.Label == AnnotationLabel.Undo)
        {
            var target = await GetAsync(draft.Undoes!, cancellationToken).ConfigureAwait(false)
                ?? throw new AnnotationRefusedException(AnnotationRefusal.UnknownAnnotation, $"there is no annotation {draft.Undoes}");
            if (target.Label == AnnotationLabel.Undo)
            {
                throw new AnnotationRefusedException(AnnotationRefusal.AlreadyUndone, $"{target.Id} is an undo: an undo is not undone, annotate again instead");
            }
            await foreach (var blob in blobs.ListAllAsync(CollectionBlobs.Annotations, cancellationToken).ConfigureAwait(false))
            {
                if (blob.Metadata.TryGetValue("undoes", out var undone) && undone == target.Id)
                {
                    throw new AnnotationRefusedException(AnnotationRefusal.AlreadyUndone, $"{target.Id} is already undone");
                }
            }
            draft = draft with { ClusterId = target.ClusterId, RunId = target.Draft.RunId, ModelVersion = target.Draft.ModelVersion };
        }
        else
        {
            await CheckImagesAsync(draft.Images.Concat(draft.Others).ToArray(), cancellationToken).ConfigureAwait(false);
        }

        // A collision needs two annotations in one 100 ns tick with the same 64 random bits; the create-only write turns
        // even that into a retry, never an overwrite.
        for (var attempt = 0; ; attempt++)
        {
            var annotation = new Annotation(AnnotationIds.New(_time.GetUtcNow()), _time.GetUtcNow(), draft);
            var metadata = new Dictionary<string, string> { ["label"] = AnnotationRules.Label(draft.Label) };
            if (draft.ClusterId is { } cluster)
            {
                metadata[ClusterKey] = Uri.EscapeDataString(cluster);   // metadata travels as HTTP headers: ASCII only
            }
            if (draft.Undoes is { } undoes)
            {
                metadata["undoes"] = undoes;
            }
            try
            {
                await blobs.PutAsync(CollectionBlobs.Annotation(annotation.Id), new MemoryStream(ToJson(annotation)),
                    new BlobPutOptions { ContentType = "application/json", Metadata = metadata, Conditions = BlobConditions.CreateOnly },
                    cancellationToken).ConfigureAwait(false);
                return annotation;
            }
            catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobAlreadyExists && attempt < 3)
            {
            }
        }
    }

    public async Task<Annotation?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        if (!AnnotationIds.IsValid(id))
        {
            return null;
        }
        try
        {
            return Read(CollectionBlobs.Annotation(id), await blobs.ReadAllBytesAsync(CollectionBlobs.Annotation(id), cancellationToken).ConfigureAwait(false));
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<Annotation>> ListAsync(string? clusterId = null, CancellationToken cancellationToken = default)
    {
        var names = new List<string>();
        var wanted = clusterId is null ? null : Uri.EscapeDataString(clusterId);
        await foreach (var blob in blobs.ListAllAsync(CollectionBlobs.Annotations, cancellationToken).ConfigureAwait(false))
        {
            if (wanted is null || !blob.Metadata.TryGetValue(ClusterKey, out var cluster) || cluster == wanted)
            {
                names.Add(blob.Name);
            }
        }
        var annotations = new Annotation[names.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, names.Count), new ParallelOptions { MaxDegreeOfParallelism = ParallelReads, CancellationToken = cancellationToken },
            async (i, token) => annotations[i] = Read(names[i], await blobs.ReadAllBytesAsync(names[i], token).ConfigureAwait(false))).ConfigureAwait(false);
        return [.. annotations.Where(a => clusterId is null || string.Equals(a.ClusterId, clusterId, StringComparison.Ordinal)).OrderBy(a => a.Id, StringComparer.Ordinal)];
    }

    private async Task CheckImagesAsync(IReadOnlyList<string> imageIds, CancellationToken cancellationToken)
    {
        Func<string, bool> accepted;
        if (imageIds.Count <= ImagesCheckedOneByOne)
        {
            var known = new HashSet<string>(StringComparer.Ordinal);
            foreach (var id in imageIds)
            {
                if (await catalog.GetImageAsync(id, cancellationToken).ConfigureAwait(false) is { Status: ImageStatus.Accepted })
                {
                    known.Add(id);
                }
            }
            accepted = known.Contains;
        }
        else
        {
            var images = await catalog.ListImagesAsync(cancellationToken).ConfigureAwait(false);
            var known = images.Where(i => i.Status == ImageStatus.Accepted).Select(i => i.ImageId).ToHashSet(StringComparer.Ordinal);
            accepted = known.Contains;
        }
        if (imageIds.FirstOrDefault(id => !accepted(id)) is { } unknown)
        {
            throw new AnnotationRefusedException(AnnotationRefusal.UnknownImage, $"'{AnnotationRules.Printable(unknown)}' is not an accepted image of the collection");
        }
    }

    /// <summary>The stored form: camelCase JSON with the schema version, the label's name and every field.</summary>
    internal static byte[] ToJson(Annotation annotation)
    {
        var draft = annotation.Draft;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", SchemaVersion);
            json.WriteString("id", annotation.Id);
            json.WriteString("createdAt", annotation.CreatedAt.UtcDateTime);
            json.WriteString("annotator", draft.Annotator);
            json.WriteString("label", AnnotationRules.Label(draft.Label));
            json.WriteString("runId", draft.RunId);
            json.WriteString("modelVersion", draft.ModelVersion);
            json.WriteString("clusterId", draft.ClusterId);
            WriteArray(json, "images", draft.Images);
            WriteArray(json, "others", draft.Others);
            json.WriteString("undoes", draft.Undoes);
            json.WriteString("note", draft.Note);
            json.WriteEndObject();
        }
        return buffer.ToArray();

        static void WriteArray(Utf8JsonWriter json, string name, IReadOnlyList<string> values)
        {
            json.WriteStartArray(name);
            foreach (var value in values)
            {
                json.WriteStringValue(value);
            }
            json.WriteEndArray();
        }
    }

    /// <summary>Reads a stored annotation back, checking it as strictly as when it was appended.</summary>
    /// <exception cref="InvalidDataException">It is not one.</exception>
    internal static Annotation Read(string blobName, byte[] utf8Json)
    {
        try
        {
            using var document = JsonDocument.Parse(utf8Json);
            var root = document.RootElement;
            if (root.GetProperty("schemaVersion").GetInt32() != SchemaVersion)
            {
                throw new FormatException($"schema version {root.GetProperty("schemaVersion").GetInt32()}, not {SchemaVersion}");
            }
            string? Text(string name) => root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.GetString() : null;
            string[] List(string name) => [.. root.GetProperty(name).EnumerateArray().Select(e => e.GetString() ?? throw new FormatException($"null in {name}"))];
            var label = AnnotationRules.ParseLabel(Text("label")) ?? throw new FormatException("unknown label");
            var draft = new AnnotationDraft(Text("annotator") ?? "", label, List("images"))
            {
                RunId = Text("runId"),
                ModelVersion = Text("modelVersion"),
                ClusterId = Text("clusterId"),
                Others = List("others"),
                Undoes = Text("undoes"),
                Note = Text("note"),
            };
            AnnotationRules.Validate(draft);
            var id = Text("id");
            if (!AnnotationIds.IsValid(id) || CollectionBlobs.Annotation(id!) != blobName)
            {
                throw new FormatException("its id is not its name");
            }
            return new Annotation(id!, root.GetProperty("createdAt").GetDateTimeOffset(), draft);
        }
        catch (Exception e) when (e is JsonException or FormatException or KeyNotFoundException or InvalidOperationException or AnnotationRefusedException)
        {
            throw new InvalidDataException($"The stored annotation {blobName} is unreadable: {AnnotationRules.Printable(e.Message)}", e);
        }
    }
}
