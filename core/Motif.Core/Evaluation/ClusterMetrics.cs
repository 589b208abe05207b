namespace Motif.Core.Evaluation;

/// <summary>How one morphograph component is recovered by a clustering.</summary>
/// <param name="Component">Index of the component in the input list.</param>
/// <param name="ComponentSize">Images in the component.</param>
/// <param name="Cluster">The cluster holding most of the component's images, or null when all of them are noise.</param>
/// <param name="ImagesInCluster">How many of the component's images that cluster holds ("max"; 0 when all are noise).</param>
/// <param name="ClusterSize">Images in that cluster over the whole labelling (0 when all are noise).</param>
/// <param name="Precision">(max − 1) / (cluster size − 1); 1 for a one-image cluster; null when all images are noise.</param>
/// <param name="Recall">max / component size; 0 when all images are noise.</param>
public sealed record ComponentClusterScore(
    int Component,
    int ComponentSize,
    int? Cluster,
    int ImagesInCluster,
    int ClusterSize,
    double? Precision,
    double Recall);

/// <summary>Cluster precision and recall over morphograph components (see <see cref="ClusterMetrics"/>).</summary>
/// <param name="Components">One score per component, in input order.</param>
/// <param name="MeanPrecision">Mean precision over the components that have a cluster (NaN if none has).</param>
/// <param name="MeanRecall">Mean recall over all components, all-noise ones counting 0 (NaN if there are none).</param>
/// <param name="AllNoiseComponentCount">Components whose images are all noise (or unlabelled): no precision.</param>
public sealed record ClusterReport(
    IReadOnlyList<ComponentClusterScore> Components,
    double MeanPrecision,
    double MeanRecall,
    int AllNoiseComponentCount);

/// <summary>
/// How well a clustering recovers the morphograph's components, as the EPFL DHLAB Replica research scored OPTICS
/// against curated connections (SEEDS.md: "Cluster precision for a morphograph component: take the largest cluster
/// among its images (noise excluded), precision = (max − 1)/(cluster size − 1), recall = max / component size").
/// </summary>
/// <remarks>
/// <para><b>Per component.</b> Count the component's images in each cluster, noise excluded; the cluster with the most
/// ("max") represents the component. Its precision (max − 1)/(size − 1) is the share of the cluster's other images
/// that belong to the component, seen from one of the component's images (a pair measure: a cluster made exactly of
/// component images scores 1 whatever its size); its recall max / component size is the share of the component the
/// cluster gathers. The cluster size counts every image the labelling labels with that cluster, inside the
/// morphograph or not: unannotated images in a cluster lower its precision, which makes the measure pessimistic where
/// the morphograph is incomplete (SEEDS.md: "incomplete labels").</para>
/// <para><b>Ties.</b> When two clusters hold the same number of the component's images, the smaller cluster (the
/// higher precision) represents it, then the smaller label: recall is the same either way, and the component is
/// best described by its purest cluster. Deterministic.</para>
/// <para><b>Noise.</b> A negative label (−1 in scikit-learn and <c>motif cluster</c>) is noise, and an image the
/// labelling does not mention (never embedded, or rejected at intake) counts as noise. A component whose images are
/// all noise has recall 0 (nothing of it was gathered) and no precision: no cluster was formed, so none can be
/// impure. It is left out of the precision mean and counted in <see cref="ClusterReport.AllNoiseComponentCount"/>;
/// scoring it 0 would make precision repeat what recall already says. Read the mean precision with that count.</para>
/// <para><b>Guard.</b> A one-image cluster (impossible with OPTICS' min_samples ≥ 2, which labels such a point noise)
/// would give 0/0; its precision is 1, since it holds nothing foreign.</para>
/// </remarks>
public static class ClusterMetrics
{
    /// <summary>Scores the morphograph's components (<see cref="Morphograph.Components"/>) against a labelling.</summary>
    /// <param name="morphograph">The ground truth.</param>
    /// <param name="labels">Image id → cluster label (negative = noise).</param>
    public static ClusterReport Evaluate(Morphograph morphograph, IReadOnlyDictionary<string, int> labels)
    {
        ArgumentNullException.ThrowIfNull(morphograph);
        return Evaluate(morphograph.Components(), labels);
    }

    /// <summary>Scores components against a labelling given as parallel lists (the ids file and labels file that
    /// <c>motif embed</c> and <c>motif cluster</c> write).</summary>
    /// <exception cref="ArgumentException">The lists differ in length or an id repeats.</exception>
    public static ClusterReport Evaluate(IReadOnlyList<IReadOnlyList<string>> components, IReadOnlyList<string> ids, IReadOnlyList<int> labels)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(labels);
        if (ids.Count != labels.Count)
        {
            throw new ArgumentException($"{ids.Count} ids but {labels.Count} labels.", nameof(labels));
        }
        var map = new Dictionary<string, int>(ids.Count, StringComparer.Ordinal);
        for (var i = 0; i < ids.Count; i++)
        {
            if (ids[i] is null || !map.TryAdd(ids[i], labels[i]))
            {
                throw new ArgumentException($"Id {i} ('{ids[i]}') is null or repeats an earlier one.", nameof(ids));
            }
        }
        return Evaluate(components, map);
    }

    /// <summary>Scores each component against a labelling (definitions in the remarks on <see cref="ClusterMetrics"/>).</summary>
    /// <param name="components">Groups of image ids that belong together, e.g. <see cref="Morphograph.Components"/>.</param>
    /// <param name="labels">Image id → cluster label (negative = noise); ids it lacks are noise.</param>
    /// <exception cref="ArgumentException">A component is empty or names an image twice.</exception>
    public static ClusterReport Evaluate(IReadOnlyList<IReadOnlyList<string>> components, IReadOnlyDictionary<string, int> labels)
    {
        ArgumentNullException.ThrowIfNull(components);
        ArgumentNullException.ThrowIfNull(labels);
        var clusterSizes = new Dictionary<int, int>();
        foreach (var label in labels.Values)
        {
            if (label >= 0)
            {
                clusterSizes[label] = clusterSizes.GetValueOrDefault(label) + 1;
            }
        }

        var scores = new List<ComponentClusterScore>(components.Count);
        var counts = new Dictionary<int, int>();
        var members = new HashSet<string>(StringComparer.Ordinal);
        double sumPrecision = 0, sumRecall = 0;
        int withCluster = 0, allNoise = 0;
        for (var c = 0; c < components.Count; c++)
        {
            var component = components[c];
            if (component is null || component.Count == 0)
            {
                throw new ArgumentException($"Component {c} is empty.", nameof(components));
            }
            counts.Clear();
            members.Clear();
            foreach (var image in component)
            {
                if (image is null || !members.Add(image))
                {
                    throw new ArgumentException($"Component {c} names '{image}' twice (or holds a null id).", nameof(components));
                }
                if (labels.TryGetValue(image, out var label) && label >= 0)
                {
                    counts[label] = counts.GetValueOrDefault(label) + 1;
                }
            }

            int? best = null;
            int max = 0, size = 0;
            foreach (var (label, count) in counts)
            {
                var labelSize = clusterSizes[label];
                if (best is null || count > max || (count == max && (labelSize < size || (labelSize == size && label < best))))
                {
                    (best, max, size) = (label, count, labelSize);
                }
            }
            var recall = max / (double)component.Count;
            double? precision = null;
            if (best is null)
            {
                allNoise++;
            }
            else
            {
                precision = size == 1 ? 1.0 : (max - 1) / (double)(size - 1);
                sumPrecision += precision.Value;
                withCluster++;
            }
            sumRecall += recall;
            scores.Add(new ComponentClusterScore(c, component.Count, best, max, size, precision, recall));
        }
        return new ClusterReport(
            scores,
            withCluster == 0 ? double.NaN : sumPrecision / withCluster,
            scores.Count == 0 ? double.NaN : sumRecall / scores.Count,
            allNoise);
    }
}
