using System.Text;
using Motif.Core.Annotations;
using Motif.Core.Evaluation;
using Motif.Storage.Blobs;

namespace Motif.Pipeline.Annotations;

/// <summary>The morphograph that evaluation and training read: the imported CSV with the curators' effective
/// annotations added, its DUPLICATE groups merged, and the frozen split extended to it and stored.</summary>
/// <param name="Morphograph">Imported edges, then annotation edges (<see cref="AnnotationEdges.WithAnnotations"/>).</param>
/// <param name="Duplicates">Its DUPLICATE groups merged.</param>
/// <param name="Split">The frozen split, extended to every component of <see cref="Duplicates"/>.</param>
/// <param name="Extension">What the extension did (moves, new components).</param>
/// <param name="Annotations">How many annotations are in effect.</param>
/// <param name="DataVersion">The <see cref="MorphographDataVersion"/> of the morphograph and split.</param>
public sealed record GroundTruth(Morphograph Morphograph, MorphographDuplicates Duplicates, MorphographSplit Split, SplitExtension Extension,
    int Annotations, string DataVersion)
{
    /// <summary>
    /// Reads the workspace's imported morphograph (<see cref="CollectionBlobs.MorphographEdges"/>, optional) and
    /// annotation history, and extends the stored split (<see cref="CollectionBlobs.MorphographSplit"/>) to the merged
    /// graph by <see cref="MorphographSplit.Extend"/>'s rules. When that assigns a part to any new image, the split is
    /// written back before anything is evaluated or trained on it: a component made by annotations is frozen the
    /// first time it is used, so a later annotation that joins it to another component cannot quietly move it (the
    /// rules move images only towards held-out parts, and only stored parts are "held"). The write is conditional on
    /// the version read; a concurrent extension makes this one read again.
    /// </summary>
    /// <returns>Null when the workspace has neither an imported morphograph nor an effective annotation.</returns>
    /// <exception cref="FormatException">The stored CSV or split is unreadable.</exception>
    public static async Task<GroundTruth?> LoadAsync(IBlobStore blobs, IAnnotationStore annotations, SplitRatios? ratios = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(annotations);
        Morphograph? imported = null;
        try
        {
            var csv = await blobs.ReadAllBytesAsync(CollectionBlobs.MorphographEdges, cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(new MemoryStream(csv), Encoding.UTF8);
            imported = Morphograph.Read(reader);
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
        }
        var history = await annotations.ListAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var effective = AnnotationLog.Effective(history).Count;
        if (imported is null && effective == 0)
        {
            return null;
        }
        var morphograph = AnnotationEdges.WithAnnotations(imported, history);
        var duplicates = MorphographDuplicates.Of(morphograph);
        for (var attempt = 0; ; attempt++)
        {
            MorphographSplit stored;
            string? etag = null;
            try
            {
                var (content, properties) = await blobs.ReadAllAsync(CollectionBlobs.MorphographSplit, cancellationToken).ConfigureAwait(false);
                stored = MorphographSplit.Parse(content);
                etag = properties.ETag;
            }
            catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
            {
                stored = MorphographSplit.Empty(ratios);
            }
            var extension = stored.Extend(duplicates);
            var json = extension.Split.ToJson();
            if (etag is null || !json.AsSpan().SequenceEqual(stored.ToJson()))
            {
                try
                {
                    await blobs.PutAsync(CollectionBlobs.MorphographSplit, new MemoryStream(json), new BlobPutOptions
                    {
                        ContentType = "application/json",
                        Conditions = etag is null ? BlobConditions.CreateOnly : BlobConditions.Matching(etag),
                    }, cancellationToken).ConfigureAwait(false);
                }
                catch (BlobStoreException e) when (e.IsConditionFailure && attempt < 4)
                {
                    continue;
                }
            }
            return new GroundTruth(morphograph, duplicates, extension.Split, extension, effective, MorphographDataVersion.Of(morphograph, extension.Split));
        }
    }
}
