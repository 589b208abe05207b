using Motif.Core.Annotations;
using Motif.Core.Manifests;

namespace Motif.Pipeline.Annotations;

/// <summary>
/// Annotating what curators see: a cluster of the latest published manifest. This is where a request from the CLI or
/// the HTTP API becomes an <see cref="AnnotationDraft"/>: the manifest's run id and model version are recorded with
/// it, the selected images must be members of the cluster, and a wrong-member annotation records the cluster's other
/// members, so that the annotation keeps its meaning after the next recluster regroups the images.
/// </summary>
public sealed class AnnotationService(IAnnotationStore store, ReclusterService recluster)
{
    /// <summary>Appends <paramref name="label"/> for <paramref name="images"/> of cluster <paramref name="clusterId"/>
    /// in the latest manifest. <paramref name="runId"/>, when given, is the run the curator was looking at: a cluster id
    /// names a group only within its run, so a verdict on an older run is refused rather than applied to a new group
    /// that happens to carry the same id.</summary>
    /// <exception cref="AnnotationRefusedException">Refused: the store's reasons, and
    /// <see cref="AnnotationRefusal.UnknownCluster"/> (no manifest, or no such cluster in it),
    /// <see cref="AnnotationRefusal.UnknownImage"/> (an image the manifest does not hold),
    /// <see cref="AnnotationRefusal.NotInCluster"/> (an image of another cluster, or noise),
    /// <see cref="AnnotationRefusal.StaleRun"/> (<paramref name="runId"/> is not the latest run).</exception>
    public async Task<Annotation> AnnotateAsync(string annotator, string clusterId, AnnotationLabel label, IReadOnlyList<string> images, string? note = null,
        string? runId = null, CancellationToken cancellationToken = default)
    {
        if (label == AnnotationLabel.Undo)
        {
            throw new AnnotationRefusedException(AnnotationRefusal.Invalid, "an undo names an annotation, not a cluster");
        }
        var draft = new AnnotationDraft(annotator, label, images) { ClusterId = clusterId, Note = note };
        // Hostile or oversized input is refused before anything is read for it. A wrong member's others come from the
        // manifest below, so a placeholder stands in for them in this first check; the store checks the whole draft again.
        AnnotationRules.Validate(label == AnnotationLabel.WrongMember ? draft with { Others = ["(checked below)"] } : draft);

        var manifest = (await recluster.ReadLatestAsync(cancellationToken).ConfigureAwait(false))?.Manifest
            ?? throw new AnnotationRefusedException(AnnotationRefusal.UnknownCluster, "no manifest has been published yet: there is no cluster to annotate");
        if (runId is not null && !string.Equals(runId, manifest.RunId, StringComparison.Ordinal))
        {
            throw new AnnotationRefusedException(AnnotationRefusal.StaleRun,
                $"the clusters were recomputed since this page was loaded (run {AnnotationRules.Printable(runId)}; the latest is {manifest.RunId}): reload and annotate again");
        }
        var cluster = manifest.Clusters.FirstOrDefault(c => string.Equals(c.Id, clusterId, StringComparison.Ordinal))
            ?? throw new AnnotationRefusedException(AnnotationRefusal.UnknownCluster, $"the latest manifest ({manifest.RunId}) has no cluster '{AnnotationRules.Printable(clusterId)}'");
        CheckMembership(manifest, cluster, images);
        var others = label == AnnotationLabel.WrongMember
            ? cluster.Members.Select(m => m.ImageId).Except(images, StringComparer.Ordinal).ToArray()
            : [];
        return await store.AppendAsync(draft with { RunId = manifest.RunId, ModelVersion = manifest.ModelVersion, Others = others }, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Appends an undo of the annotation <paramref name="annotationId"/>.</summary>
    /// <exception cref="AnnotationRefusedException">The store's reasons.</exception>
    public Task<Annotation> UndoAsync(string annotator, string annotationId, string? note = null, CancellationToken cancellationToken = default) =>
        store.AppendAsync(new AnnotationDraft(annotator, AnnotationLabel.Undo, []) { Undoes = annotationId, Note = note }, cancellationToken);

    /// <summary>The history (<see cref="IAnnotationStore.ListAsync"/>).</summary>
    public Task<IReadOnlyList<Annotation>> ListAsync(string? clusterId = null, CancellationToken cancellationToken = default) =>
        store.ListAsync(clusterId, cancellationToken);

    private static void CheckMembership(ClusterManifest manifest, ManifestCluster cluster, IReadOnlyList<string> images)
    {
        var members = cluster.Members.Select(m => m.ImageId).ToHashSet(StringComparer.Ordinal);
        foreach (var image in images)
        {
            if (members.Contains(image))
            {
                continue;
            }
            var known = manifest.Images.Any(i => string.Equals(i.ImageId, image, StringComparison.Ordinal));
            throw known
                ? new AnnotationRefusedException(AnnotationRefusal.NotInCluster, $"'{AnnotationRules.Printable(image)}' is not a member of cluster '{AnnotationRules.Printable(cluster.Id)}'")
                : new AnnotationRefusedException(AnnotationRefusal.UnknownImage, $"'{AnnotationRules.Printable(image)}' is not an image of the latest manifest");
        }
    }
}
