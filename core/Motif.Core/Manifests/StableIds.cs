namespace Motif.Core.Manifests;

/// <summary>
/// Carries cluster ids from one run to the next. Each (new, previous) pair is scored by the Jaccard index of
/// their image sets, |A ∩ B| / |A ∪ B|; pairs at or above the threshold are matched greedily, best score first,
/// one to one — when a cluster splits, the larger overlap keeps the id and the rest get new ones; when two merge,
/// the merged cluster keeps the id of the one it overlaps most. The greedy order is total (score, then new
/// cluster index, then previous id), so the same inputs always give the same ids.
/// </summary>
internal static class StableIds
{
    public static string[] Assign(IReadOnlyList<HashSet<string>> clusters, ClusterManifest? previous, double threshold, out int lastNumber)
    {
        var ids = new string?[clusters.Count];
        lastNumber = previous?.LastClusterNumber ?? 0;
        if (previous is not null)
        {
            // Only previous clusters sharing an image can score above 0: index them by image.
            var previousOf = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var p = 0; p < previous.Clusters.Count; p++)
            {
                foreach (var member in previous.Clusters[p].Members)
                {
                    previousOf[member.ImageId] = p;
                }
            }
            var candidates = new List<(double Score, int New, string PreviousId)>();
            for (var c = 0; c < clusters.Count; c++)
            {
                var shared = new Dictionary<int, int>();
                foreach (var image in clusters[c])
                {
                    if (previousOf.TryGetValue(image, out var p))
                    {
                        shared[p] = shared.GetValueOrDefault(p) + 1;
                    }
                }
                foreach (var (p, intersection) in shared)
                {
                    var union = clusters[c].Count + previous.Clusters[p].Size - intersection;
                    var score = (double)intersection / union;
                    if (score >= threshold)
                    {
                        candidates.Add((score, c, previous.Clusters[p].Id));
                    }
                }
            }
            var taken = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (_, c, id) in candidates.OrderByDescending(x => x.Score).ThenBy(x => x.New).ThenBy(x => x.PreviousId, StringComparer.Ordinal))
            {
                if (ids[c] is null && taken.Add(id))
                {
                    ids[c] = id;
                }
            }
        }
        for (var c = 0; c < ids.Length; c++)
        {
            ids[c] ??= "C" + (++lastNumber).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return ids!;
    }
}
