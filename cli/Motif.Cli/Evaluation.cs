using System.Text;
using Motif.Core.Evaluation;
using Motif.Core.Manifests;
using Motif.Pipeline;
using Motif.Pipeline.Annotations;
using Motif.Storage.Blobs;

namespace Motif.Cli;

/// <summary>
/// How a run's signatures and clusters score against its ground truth, computed exactly as <c>motif evaluate</c>
/// computes it (<see cref="MorphographEvaluation"/> on <see cref="GroundTruth"/>: the imported morphograph with the
/// curators' annotations, DUPLICATE photographs merged, the frozen split), so that the run's report and
/// <c>motif evaluate --split test</c> / <c>--split all</c> print the same figures for the same workspace.
/// </summary>
/// <param name="TruthFile">The CSV the run was given.</param>
/// <param name="Truth">The merged ground truth it was scored against.</param>
/// <param name="Test">The frozen split's test part as the queries (held out from training).</param>
/// <param name="All">Every image with a part as a query.</param>
internal sealed record Evaluation(string TruthFile, GroundTruth Truth, MorphographEvaluationReport Test, MorphographEvaluationReport All)
{
    /// <summary>
    /// Scores <paramref name="set"/> and <paramref name="manifest"/>'s clusters against <paramref name="truth"/>, the
    /// merged ground truth that <see cref="ImportAsync"/> read for <paramref name="truthFile"/>.
    /// </summary>
    public static Evaluation Score(string truthFile, GroundTruth truth, SignatureSet set, ClusterManifest manifest, int threads, CancellationToken cancellationToken)
    {
        var clusterNumber = manifest.Clusters.Select((c, i) => (c.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
        var labels = manifest.Images.ToDictionary(i => i.ImageId, i => i.ClusterId is null ? -1 : clusterNumber[i.ClusterId], StringComparer.Ordinal);
        MorphographEvaluationReport Score(SplitPart? part) =>
            MorphographEvaluation.Evaluate(truth.Duplicates, truth.Split, part, set.Values, set.ImageIds, labels, seed: 0, Math.Max(1, threads), set.Parts, cancellationToken);
        return new Evaluation(truthFile, truth, Score(SplitPart.Test), Score(null));
    }

    /// <summary>
    /// Imports <paramref name="truthFile"/> (see <see cref="ImportTruthAsync"/>: as <c>motif morphograph import</c> does,
    /// the stored split is extended, never rebuilt) and reads the merged ground truth: the imported morphograph with the
    /// curators' annotations.
    /// </summary>
    /// <exception cref="FormatException">The CSV or the stored split is unreadable (the message says where).</exception>
    public static async Task<GroundTruth> ImportAsync(string truthFile, IBlobStore blobs, IAnnotationStore annotations, CancellationToken cancellationToken)
    {
        await ImportTruthAsync(truthFile, blobs, cancellationToken);
        return (await GroundTruth.LoadAsync(blobs, annotations, cancellationToken: cancellationToken))!;
    }

    /// <summary>
    /// Stores <paramref name="truthFile"/> as the workspace's morphograph CSV when it differs from the stored one (the
    /// next <see cref="GroundTruth.LoadAsync"/> extends the frozen split to it, never rebuilds it).
    /// </summary>
    /// <exception cref="FormatException">The CSV is unreadable; nothing is stored.</exception>
    public static async Task ImportTruthAsync(string truthFile, IBlobStore blobs, CancellationToken cancellationToken)
    {
        var bytes = await File.ReadAllBytesAsync(truthFile, cancellationToken);
        using (var reader = new StreamReader(new MemoryStream(bytes), Encoding.UTF8))
        {
            Morphograph.Read(reader); // refuse a bad CSV before it replaces a good one
        }
        var stored = await blobs.GetPropertiesAsync(CollectionBlobs.MorphographEdges, cancellationToken) is null
            ? null
            : await blobs.ReadAllBytesAsync(CollectionBlobs.MorphographEdges, cancellationToken);
        if (stored is null || !stored.AsSpan().SequenceEqual(bytes))
        {
            await blobs.PutAsync(CollectionBlobs.MorphographEdges, new MemoryStream(bytes), new BlobPutOptions { ContentType = "text/csv" }, cancellationToken);
        }
    }
}
