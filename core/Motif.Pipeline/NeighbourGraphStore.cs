using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Motif.Core.Signatures;
using Motif.Imaging.LocalFeatures;
using Motif.Storage.Blobs;

namespace Motif.Pipeline;

/// <summary>How a graph update went: rows whose pairs were kept from the stored graph, rows appended, and what the
/// local-feature check did (null without a matcher).</summary>
public sealed record GraphUpdate(NeighbourGraph Graph, int KeptRows, int AppendedRows, LocalFeatureCheckReport? LocalFeatures = null);

/// <summary>One row of a stored graph: the image and the content it had when its signature was added.</summary>
public sealed record GraphRow(string ImageId, string ContentHash);

/// <summary>A stored graph as read back: row i of <see cref="Graph"/> is <see cref="Rows"/>[i].</summary>
public sealed record StoredGraph(IReadOnlyList<GraphRow> Rows, NeighbourGraph Graph);

/// <summary>
/// Keeps the neighbour graph of a collection's signatures (one per model and radius) in the blob store, so a
/// recluster computes only the pairs that involve new or changed images: the stored graph is cut down to the rows
/// still present (<see cref="NeighbourGraph.Select"/>), the new rows are appended
/// (<see cref="NeighbourGraph.Append(ReadOnlyMemory{float}, int, CancellationToken)"/>: new × old and new × new pairs only), and the rows are put back in the
/// signature set's order, so the graph, and OPTICS over it, are exactly what a build from scratch would give.
/// </summary>
/// <remarks>
/// One blob per graph, replaced whole (a reader sees the old graph or the new one, never a mix): a little-endian
/// int32 length, the rows as JSON (image id and content hash per row: an image whose content changed is a new
/// row), then the graph's binary form, then (when its pairs were judged by local features) the verdicts. A blob that
/// does not read back is rebuilt rather than trusted.
/// <para><b>Details.</b> When a version signs each image as its whole and details (<see cref="SignatureSet.Parts"/>),
/// the stored graph is that of the signatures, <see cref="SignatureSet.Parts"/> rows per image, so that an update
/// appends signatures as it does for wholes (keeping only the pairs that count: <see cref="NeighbourGraphOptions.Parts"/>);
/// readers get it folded into the graph of images
/// (<see cref="NeighbourGraph.FoldParts"/>), whose distances are those search and evaluation rank with.</para>
/// <para><b>Local features.</b> With a matcher (the hosts that sign pass one), an update also has the pairs of images
/// judged by their local features (<see cref="LocalFeatureCheck"/>), keeps the verdicts after the graph in the same
/// blob, and every reader gets the graph without the pairs the check refutes: the same graph for OPTICS, the map and
/// the neighbours API, whichever host reads it. Readers need no matcher.</para>
/// <para>Several workers may update at once (KEDA scales the worker out): a write is conditional on the version that
/// was read (If-Match, or create-only), so an update computed from an older graph never overwrites a newer one; the
/// loser gets <see cref="NeighbourGraphConflictException"/> and updates again from fresh signatures.</para>
/// <para>Maintenance (<see cref="UpdateAsync"/>, which needs the signatures) belongs to whoever signs: the worker after
/// each batch, <c>motif run</c> after its signing stage. Readers (<see cref="ReadAsync"/>: the Recluster timer, the
/// neighbours API) never load a signature.</para>
/// </remarks>
public sealed class NeighbourGraphStore(IBlobStore blobs, ILocalFeatureMatcher? matcher = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The blob that holds the graph of <paramref name="modelVersion"/>'s signatures within <paramref name="radius"/>.</summary>
    public static string BlobName(string modelVersion, double radius) =>
        $"graphs/{CollectionBlobs.KeyOf(modelVersion + "\n" + radius.ToString("R", CultureInfo.InvariantCulture))}/graph.bin";

    /// <summary>The radius a graph must have to serve OPTICS with <paramref name="parameters"/>: max_eps, or every pair when it is unset.</summary>
    public static double RadiusOf(Core.Manifests.ClusteringParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return parameters.MaxEps ?? double.PositiveInfinity;
    }

    /// <summary>The stored graph of <paramref name="modelVersion"/>'s signatures within <paramref name="radius"/>, or null when there is none (or it is damaged).</summary>
    public async Task<StoredGraph?> ReadAsync(string modelVersion, double radius, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelVersion);
        var (stored, _) = await TryReadAsync(BlobName(modelVersion, radius), dimension: null, parts: null, radius, cancellationToken).ConfigureAwait(false);
        return stored is { } s ? new StoredGraph(s.Rows, s.Images) : null;
    }

    /// <summary>The graph of <paramref name="set"/> (rows in the set's order) within <paramref name="radius"/>, updated from the stored one and stored again.</summary>
    /// <exception cref="ArgumentException">The set is empty (there is no dimension to build a graph in).</exception>
    /// <exception cref="NeighbourGraphConflictException">Another update stored the graph after this one read it: load the signatures again and retry.</exception>
    public async Task<GraphUpdate> UpdateAsync(SignatureSet set, double radius, int threads = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(set);
        if (set.Count == 0)
        {
            throw new ArgumentException("There are no signatures to build a graph of.", nameof(set));
        }
        var name = BlobName(set.ModelVersion, radius);
        var keys = set.Images.Select(i => new GraphRow(i.ImageId, i.ContentHash!)).ToArray();
        // The graph is of signatures: `parts` rows of `width` values per image, the image's parts in a row.
        var (parts, width) = (set.Parts, set.Dimension / set.Parts);
        var (stored, etag) = await TryReadAsync(name, width, parts, radius, cancellationToken).ConfigureAwait(false);
        var sameRows = stored is not null && stored.Value.Rows.SequenceEqual(keys);
        var sameCheck = stored?.Check is { } c ? matcher is not null && c.Version == matcher.Version && c.VerifiedInliers == matcher.VerifiedInliers : matcher is null;
        if (sameRows && sameCheck)
        {
            // Nothing signed, removed or changed since, and the same check: no write.
            return new GraphUpdate(stored!.Value.Images, keys.Length, 0);
        }
        if (sameRows)
        {
            // Only the check changed (a matcher of another version, or none): the pairs stand, the verdicts are redone.
            return await WriteAsync(name, keys, stored!.Value.Graph, parts, stored.Value.Check, etag, keys.Length, 0, threads, cancellationToken).ConfigureAwait(false);
        }

        var storedRow = new Dictionary<GraphRow, int>();
        if (stored is not null)
        {
            for (var r = 0; r < stored.Value.Rows.Length; r++)
            {
                storedRow[stored.Value.Rows[r]] = r;
            }
        }
        // Kept rows first (the stored graph cut down to them), then the new ones, as Append wants them.
        var kept = Enumerable.Range(0, set.Count).Where(i => storedRow.ContainsKey(keys[i])).ToArray();
        var added = Enumerable.Range(0, set.Count).Where(i => !storedRow.ContainsKey(keys[i])).ToArray();
        var start = stored is null
            ? NeighbourGraph.Empty(width, radius)
            : stored.Value.Graph.Select([.. kept.SelectMany(i => Enumerable.Range(storedRow[keys[i]] * parts, parts))]);
        var order = kept.Concat(added).ToArray();
        var matrix = new float[set.Values.Length];
        for (var k = 0; k < order.Length; k++)
        {
            set.Row(order[k]).CopyTo(matrix.AsSpan(k * set.Dimension, set.Dimension));
        }
        // A row of parts × width values is `parts` consecutive signatures of `width`: the same matrix, read by signature.
        var appended = start.Append(matrix, NeighbourGraphOptions.Default with { Parts = parts }, Math.Max(1, threads), cancellationToken);
        // Back to the set's order: signature row i of the result is row position[i] of the appended graph.
        var position = new int[set.Count * parts];
        for (var k = 0; k < order.Length; k++)
        {
            for (var q = 0; q < parts; q++)
            {
                position[order[k] * parts + q] = k * parts + q;
            }
        }
        var graph = appended.Select(position);
        return await WriteAsync(name, keys, graph, parts, stored?.Check, etag, kept.Length, added.Length, threads, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The graph of images, without the pairs <paramref name="check"/> refutes when there is one.</summary>
    private static NeighbourGraph Images(IReadOnlyList<GraphRow> rows, NeighbourGraph images, LocalFeatureCheck? check) =>
        check is null ? images : check.Apply(rows, images);

    /// <summary>Judges the graph's pairs by local features (with a matcher; verdicts of <paramref name="storedCheck"/>
    /// reused), stores the graph with the verdicts, and returns the update.</summary>
    private async Task<GraphUpdate> WriteAsync(string name, GraphRow[] keys, NeighbourGraph graph, int parts, LocalFeatureCheck? storedCheck,
        string? etag, int kept, int added, int threads, CancellationToken cancellationToken)
    {
        var images = graph.FoldParts(parts);
        var (check, report) = matcher is null
            ? (null, null)
            : await LocalFeatureCheck.UpdateAsync(blobs, matcher, keys, images, storedCheck, threads, cancellationToken).ConfigureAwait(false);
        await WriteAsync(name, keys, graph, check, etag is null ? BlobConditions.CreateOnly : BlobConditions.Matching(etag), cancellationToken).ConfigureAwait(false);
        return new GraphUpdate(Images(keys, images, check), kept, added, report);
    }

    /// <summary>The stored graph of signatures, with its parts per image, its local-feature verdicts and the graph of
    /// images readers get (null when absent, damaged or of another shape: a dimension or parts other than those given, or
    /// verdicts that are not the graph's), and the ETag of the blob read (null when absent).</summary>
    private async Task<((GraphRow[] Rows, NeighbourGraph Graph, int Parts, LocalFeatureCheck? Check, NeighbourGraph Images)? Graph, string? ETag)> TryReadAsync(
        string name, int? dimension, int? parts,
        double radius, CancellationToken cancellationToken)
    {
        byte[] bytes;
        string etag;
        try
        {
            var (content, properties) = await blobs.ReadAllAsync(name, cancellationToken).ConfigureAwait(false);
            (bytes, etag) = (content, properties.ETag);
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return (null, null);
        }
        try
        {
            var rowsLength = bytes.Length < 4 ? -1 : BinaryPrimitives.ReadInt32LittleEndian(bytes);
            if (rowsLength < 0 || rowsLength > bytes.Length - 4)
            {
                return (null, etag);
            }
            var rows = JsonSerializer.Deserialize<GraphRow[]>(bytes.AsSpan(4, rowsLength), Json);
            using var graphBytes = new MemoryStream(bytes, 4 + rowsLength, bytes.Length - 4 - rowsLength, writable: false);
            var graph = NeighbourGraph.ReadFrom(graphBytes);
            var check = LocalFeatureCheck.ReadFrom(bytes.AsSpan(4 + rowsLength + (int)graphBytes.Position));
            var stored = rows is null || rows.Length == 0 ? 1 : graph.Count / rows.Length;
            return rows is not null && rows.Length * stored == graph.Count && (parts is null || stored == parts) &&
                (dimension is null || graph.Dimension == dimension) && graph.Radius.Equals(radius) && rows.All(r => r is { ImageId: not null, ContentHash: not null })
                ? ((rows, graph, stored, check, Images(rows, graph.FoldParts(stored), check)), etag)
                : (null, etag);
        }
        catch (Exception e) when (e is InvalidDataException or JsonException or EndOfStreamException)
        {
            return (null, etag);   // damaged: rebuilt from the signatures, which are the source of truth
        }
    }

    private async Task WriteAsync(string name, GraphRow[] rows, NeighbourGraph graph, LocalFeatureCheck? check, BlobConditions conditions,
        CancellationToken cancellationToken)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(rows, Json);
        using var buffer = new MemoryStream();
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, json.Length);
        buffer.Write(length);
        buffer.Write(json);
        graph.WriteTo(buffer);
        check?.WriteTo(buffer, rows);
        buffer.Position = 0;
        try
        {
            await blobs.PutAsync(name, buffer, new BlobPutOptions { ContentType = "application/octet-stream", Conditions = conditions }, cancellationToken).ConfigureAwait(false);
        }
        catch (BlobStoreException e) when (e.IsConditionFailure)
        {
            throw new NeighbourGraphConflictException($"Another update stored {name} after this one read it.", e);
        }
    }
}

/// <summary>Another update stored the graph between this update's read and its write; nothing was written. Load the signatures again and update again.</summary>
public sealed class NeighbourGraphConflictException(string message, Exception inner) : Exception(message, inner);
