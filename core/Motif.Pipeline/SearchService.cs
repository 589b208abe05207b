using Motif.Core;
using Motif.Imaging;

namespace Motif.Pipeline;

/// <summary>One search result: an image and its cosine distance (1 − cos) to the query.</summary>
public sealed record SearchHit(string ImageId, double Distance);

/// <summary>
/// The k nearest images, by exact cosine distance over a collection's signatures, for an image of the collection
/// or for uploaded bytes (validated like any upload, then embedded with the same model; needs the embedder).
/// </summary>
public sealed class SearchService(SignatureSet signatures, ISignatureEmbedder? embedder = null)
{
    /// <summary>The <paramref name="k"/> images nearest to the collection image <paramref name="imageId"/>, itself excluded.</summary>
    /// <exception cref="KeyNotFoundException">The image has no signature (unknown, rejected, or not signed yet).</exception>
    public IReadOnlyList<SearchHit> Nearest(string imageId, int k)
    {
        ArgumentNullException.ThrowIfNull(imageId);
        var row = IndexOf(imageId);
        return Hits(signatures.Nearest(signatures.Row(row), k, exclude: row));
    }

    /// <summary>The <paramref name="k"/> images nearest to an uploaded image.</summary>
    /// <exception cref="ImageRejectedException">The bytes are not an acceptable image.</exception>
    public IReadOnlyList<SearchHit> Nearest(ReadOnlySpan<byte> image, int k, ValidationLimits? limits = null)
    {
        if (embedder is null)
        {
            throw new InvalidOperationException("Searching by image bytes needs the model: create the service with an embedder.");
        }
        if (embedder.ModelVersion != signatures.ModelVersion)
        {
            throw new InvalidOperationException($"The query would be embedded by {embedder.ModelVersion}, the collection's signatures are from {signatures.ModelVersion}.");
        }
        if (ImageCodec.Validate(image, limits) is ValidationResult.Rejected rejected)
        {
            throw new ImageRejectedException(rejected.Reason, rejected.Message);
        }
        var spec = embedder.Preprocessing;
        var input = new float[spec.ValuesPerImage];
        ImageCodec.Preprocess(image, spec, input, limits);
        var query = new float[embedder.Dimension];
        embedder.Embed(input, 1, query);
        return Hits(signatures.Nearest(query, k));
    }

    private int IndexOf(string imageId) => signatures.RowOf(imageId) ??
        throw new KeyNotFoundException($"No signature for '{imageId}': it is not in the collection, was rejected, or is not signed yet.");

    private IReadOnlyList<SearchHit> Hits(IReadOnlyList<(int Row, double Distance)> rows) =>
        [.. rows.Select(r => new SearchHit(signatures.ImageIds[r.Row], r.Distance))];
}
