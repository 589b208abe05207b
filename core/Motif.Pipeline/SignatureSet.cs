using Motif.Core.Signatures;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;

namespace Motif.Pipeline;

/// <summary>
/// The signatures of a collection under one model, one row per accepted image (images with identical content
/// share a signature but keep a row each), ordered by image id: the input of clustering and search. A version that
/// signs details (<c>SignatureDetails</c>) gives each row <see cref="Parts"/> signatures, the whole first, and images
/// are compared by <see cref="CosineRanking.ImageDistance(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{double}, ReadOnlySpan{double})"/>.
/// </summary>
public sealed class SignatureSet
{
    private SignatureSet(string modelVersion, IReadOnlyList<ImageRecord> images, float[] values, int dimension, int parts)
    {
        (ModelVersion, Images, Values, Dimension, Parts) = (modelVersion, images, values, dimension, parts);
        ImageIds = [.. images.Select(i => i.ImageId)];
        _rows = ImageIds.Select((id, row) => (id, row)).ToDictionary(p => p.id, p => p.row, StringComparer.Ordinal);
    }

    private readonly Dictionary<string, int> _rows;
    private double[]? _squaredNorms;

    /// <summary>The row of <paramref name="imageId"/>, or null when it has no signature.</summary>
    public int? RowOf(string imageId) => _rows.TryGetValue(imageId, out var row) ? row : null;

    public string ModelVersion { get; }

    public IReadOnlyList<ImageRecord> Images { get; }

    public IReadOnlyList<string> ImageIds { get; }

    /// <summary>Row-major <see cref="Count"/> × <see cref="Dimension"/> values: each row <see cref="Parts"/> unit signatures.</summary>
    public float[] Values { get; }

    /// <summary>Values per row (all its parts).</summary>
    public int Dimension { get; }

    /// <summary>Signatures per row: the image's whole, then its details (1: the whole only).</summary>
    public int Parts { get; }

    public int Count => Images.Count;

    public ReadOnlySpan<float> Row(int i) => Values.AsSpan(i * Dimension, Dimension);

    /// <summary>Reads every signature the catalog records for <paramref name="modelVersion"/>, each shard blob once.</summary>
    public static async Task<SignatureSet> LoadAsync(IBlobStore blobs, IImageCatalog catalog, string modelVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(catalog);
        var signed = await catalog.ListSignedAsync(modelVersion, cancellationToken).ConfigureAwait(false);
        var shards = new Dictionary<string, NpyMatrix>(StringComparer.Ordinal);
        foreach (var name in signed.Select(s => s.Signature.Shard).Distinct(StringComparer.Ordinal))
        {
            shards[name] = NpyFile.Decode(await blobs.ReadAllBytesAsync(name, cancellationToken).ConfigureAwait(false), name);
        }
        var dimension = shards.Count == 0 ? 0 : shards.Values.First().Columns;
        var parts = shards.Count == 0 ? 1 : shards.Values.First().Parts;
        if (shards.Values.Any(s => s.Columns != dimension || s.Parts != parts))
        {
            throw new InvalidDataException($"The shards of model '{modelVersion}' disagree on the signature dimension or its parts.");
        }
        var values = new float[signed.Count * dimension];
        for (var i = 0; i < signed.Count; i++)
        {
            var (_, location) = signed[i];
            var shard = shards[location.Shard];
            if (location.Row >= shard.Rows)
            {
                throw new InvalidDataException($"The catalog points at row {location.Row} of {location.Shard}, which has {shard.Rows} rows.");
            }
            shard.Values.AsSpan(location.Row * dimension, dimension).CopyTo(values.AsSpan(i * dimension, dimension));
        }
        return new SignatureSet(modelVersion, [.. signed.Select(s => s.Image)], values, dimension, parts);
    }

    /// <summary>
    /// The <paramref name="k"/> rows nearest to <paramref name="query"/> by cosine distance, nearest first, ties by row
    /// order; <paramref name="exclude"/> (a row, or −1) is left out. Exact: every row is compared, with the arithmetic
    /// of the neighbour graph and of evaluation (<see cref="CosineRanking"/>). The query is a row of all the parts.
    /// </summary>
    public IReadOnlyList<(int Row, double Distance)> Nearest(ReadOnlySpan<float> query, int k, int exclude = -1)
    {
        if (query.Length != Dimension)
        {
            throw new ArgumentException($"The query has {query.Length} values; signatures have {Dimension}.", nameof(query));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 0);
        if (Count == 0)
        {
            return [];
        }
        _squaredNorms ??= CosineRanking.SquaredNorms(Values, Dimension, parts: Parts);
        return [.. CosineRanking.Nearest(Values, Dimension, _squaredNorms, query, k, exclude, Parts).Select(r => (r.Row, r.Distance))];
    }
}
