using Motif.Core.Evaluation;
using Motif.Core.Signatures;
using Motif.Core.Manifests;
using Motif.Pipeline;

namespace Motif.Cli;

/// <summary>
/// How a run's signatures and clusters score against a ground-truth morphograph (SEEDS.md): retrieval (standard
/// mAP and recall@k, every image of the morphograph that has a signature as a query, the whole collection as the
/// gallery) and cluster precision/recall per morphograph component.
/// </summary>
internal sealed record Evaluation(string TruthFile, int TruthImages, int TruthImagesWithoutSignature, RetrievalReport Retrieval, ClusterReport Clusters)
{
    public static IReadOnlyList<int> RecallKs { get; } = [1, 5, 10, 20];

    public static Evaluation Compute(string truthFile, SignatureSet set, ClusterManifest manifest, int threads)
    {
        Morphograph morphograph;
        using (var reader = File.OpenText(truthFile))
        {
            morphograph = Morphograph.Read(reader);
        }
        var signed = set.ImageIds.ToHashSet(StringComparer.Ordinal);
        var queries = morphograph.Images.Where(signed.Contains).ToArray();
        var rankings = queries.Length == 0
            ? new Dictionary<string, IReadOnlyList<string>>()
            : CosineRanking.Rank(set.Values, set.ImageIds, queries, degreeOfParallelism: Math.Max(1, threads));
        var retrieval = RetrievalMetrics.Evaluate(rankings, morphograph, set.ImageIds, RecallKs);

        var clusterNumber = manifest.Clusters.Select((c, i) => (c.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
        var labels = manifest.Images.ToDictionary(i => i.ImageId, i => i.ClusterId is null ? -1 : clusterNumber[i.ClusterId], StringComparer.Ordinal);
        var clusters = ClusterMetrics.Evaluate(morphograph, labels);
        return new Evaluation(truthFile, morphograph.Images.Count, morphograph.Images.Count - queries.Length, retrieval, clusters);
    }
}
