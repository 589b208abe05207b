namespace Motif.Core.Manifests;

/// <summary>How a cluster changed since the previous published run.</summary>
public enum ClusterChangeKind
{
    /// <summary>Its id was issued in this run: no previous cluster overlapped it enough to pass its id on.</summary>
    New,

    /// <summary>The same members as the previous cluster of its id.</summary>
    Unchanged,

    /// <summary>More members than the previous cluster of its id (and it is no merger).</summary>
    Grown,

    /// <summary>Fewer members than the previous cluster of its id.</summary>
    Shrunk,

    /// <summary>As many members as the previous cluster of its id, but not the same ones.</summary>
    Changed,

    /// <summary>Most of the members of two or more previous clusters are now in it.</summary>
    Merged,
}

/// <summary>
/// A cluster's change since the previous run: its <see cref="Kind"/>, the size of the previous cluster of the same id
/// (null for a new one) and the previous clusters it took members from (its own id first when it inherited it, the
/// others by id), so that a page can say "merged from C2 and C7" or "grown from 3".
/// </summary>
public sealed record ClusterChange(ClusterChangeKind Kind, int? PreviousSize, IReadOnlyList<string> From);

/// <summary>
/// Compares a run's clusters with the previous manifest's. The ids say which previous cluster a cluster continues
/// (<see cref="StableIds"/>: the best Jaccard overlap inherits the id); the member sets say how it changed.
/// </summary>
/// <remarks>
/// A cluster is <see cref="ClusterChangeKind.Merged"/> when at least two previous clusters each have more than half of
/// their members in it: "two previous clusters' members now in one", with a majority rule so that one image drifting over from a neighbour is growth, not a merger. Otherwise a cluster with
/// an inherited id is unchanged, grown, shrunk or changed by comparing member sets with the cluster of that id; a
/// cluster without one is new, whatever it took from (a split's smaller part is new too: its larger part keeps the id).
/// </remarks>
public static class ClusterChanges
{
    /// <summary>The change of each cluster of <paramref name="current"/>, by id; empty when there is no <paramref name="previous"/>.</summary>
    public static IReadOnlyDictionary<string, ClusterChange> Compare(IReadOnlyList<ManifestCluster> current, ClusterManifest? previous)
    {
        ArgumentNullException.ThrowIfNull(current);
        var changes = new Dictionary<string, ClusterChange>(StringComparer.Ordinal);
        if (previous is null)
        {
            return changes;
        }
        var previousById = previous.Clusters.ToDictionary(c => c.Id, StringComparer.Ordinal);
        var previousOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var cluster in previous.Clusters)
        {
            foreach (var member in cluster.Members)
            {
                previousOf[member.ImageId] = cluster.Id;
            }
        }

        foreach (var cluster in current)
        {
            var taken = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var member in cluster.Members)
            {
                if (previousOf.TryGetValue(member.ImageId, out var from))
                {
                    taken[from] = taken.GetValueOrDefault(from) + 1;
                }
            }
            var own = previousById.GetValueOrDefault(cluster.Id);
            var sources = taken.Keys.OrderBy(id => id == cluster.Id ? 0 : 1).ThenBy(id => id.Length).ThenBy(id => id, StringComparer.Ordinal).ToArray();
            var mostlyHere = taken.Count(t => 2 * t.Value > previousById[t.Key].Size);
            ClusterChangeKind kind;
            if (mostlyHere >= 2)
            {
                kind = ClusterChangeKind.Merged;
            }
            else if (own is null)
            {
                kind = ClusterChangeKind.New;
            }
            else if (cluster.Size > own.Size)
            {
                kind = ClusterChangeKind.Grown;
            }
            else if (cluster.Size < own.Size)
            {
                kind = ClusterChangeKind.Shrunk;
            }
            else
            {
                kind = taken.GetValueOrDefault(cluster.Id) == cluster.Size ? ClusterChangeKind.Unchanged : ClusterChangeKind.Changed;
            }
            changes[cluster.Id] = new ClusterChange(kind, own?.Size, sources);
        }
        return changes;
    }
}
