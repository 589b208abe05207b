namespace Motif.Core.Evaluation;

/// <summary>
/// The morphograph with its DUPLICATE edges merged: every group of images joined by DUPLICATE edges (two photographs
/// of one artwork, transitively) becomes one <i>canonical</i> image, and every other edge is rewritten to canonical ids.
/// </summary>
/// <remarks>
/// <para><b>Why merge before training and evaluation.</b> A DUPLICATE pair is not a pattern shared by two artworks:
/// it is one artwork photographed twice. Training on it as a positive pair teaches the model to match a photograph
/// with itself, which the pretrained backbone already does; evaluating with it as a relevant pair rewards finding the
/// same photograph twice and inflates mAP and recall; and splitting by component without merging could put the two
/// photographs of one artwork on both sides of the train/test line. The research counted neither (Replica: relevance
/// over POSITIVE edges only, SEEDS.md); <see cref="Morphograph.IsPositive"/> counts DUPLICATE as relevant for a
/// morphograph that has not been merged, and after merging no DUPLICATE edge is left to count. The frozen split
/// (<see cref="MorphographSplit"/>) is computed on <see cref="Merged"/>; training (triplets) and evaluation
/// (<see cref="RetrievalMetrics"/>, <see cref="ClusterMetrics"/>) are to take <see cref="Merged"/> too, with signatures,
/// cluster labels and ranked lists brought to the same ids by <see cref="Canonical"/> and <see cref="CanonicalRanking"/>
/// (<c>motif run</c>'s report still scores the morphograph as read).</para>
/// <para><b>Canonical id.</b> The ordinally smallest image id of the group (<see cref="StringComparer.Ordinal"/>, as
/// everywhere in <see cref="Morphograph"/>): it depends only on the group's members, never on the order of the
/// edges, so two imports of the same data agree and a group keeps its id until a member with a smaller id joins.</para>
/// <para><b>Rewriting.</b> Each edge of <see cref="Morphograph.Edges"/> gets both ends replaced by their canonical
/// ids, in input order. An edge that becomes an edge from an image to itself is dropped: every DUPLICATE edge, and any
/// other edge inside a group (e.g. NON-DUPLICATE between two photographs later found to be duplicates: the DUPLICATE
/// confirmation wins, the conflict stays visible in the unmerged morphograph). Repeated edges (the same type between the
/// same two canonical images, in either direction) are kept once, the first in input order with its uid. The merged
/// morphograph therefore names only images that keep an edge to another group: a group joined to nothing else by
/// any edge is in <see cref="Groups"/> and <see cref="CanonicalOf"/>, but not in <see cref="Merged"/>.</para>
/// <para>The grouping is a union–find with path halving (Tarjan &amp; van Leeuwen, "Worst-case analysis of set union
/// algorithms", J. ACM 31(2), 1984) whose union keeps the ordinally smaller root, so each root is its group's canonical id.</para>
/// </remarks>
public sealed class MorphographDuplicates
{
    private readonly Dictionary<string, string> _canonical;
    private readonly Dictionary<string, string[]> _members;

    private MorphographDuplicates(Morphograph source, Dictionary<string, string> canonical, Dictionary<string, string[]> members, Morphograph merged)
    {
        (Source, _canonical, _members, Merged) = (source, canonical, members, merged);
        Groups = [.. members.Values.Where(g => g.Length > 1).OrderBy(g => g[0], StringComparer.Ordinal)];
    }

    /// <summary>The morphograph as read, DUPLICATE edges included.</summary>
    public Morphograph Source { get; }

    /// <summary>The morphograph over canonical ids: no DUPLICATE edge, no self-edge, no repeated edge (see the remarks).</summary>
    public Morphograph Merged { get; }

    /// <summary>The groups of two or more images joined by DUPLICATE edges; each in ordinal order (its first image is
    /// its canonical id), groups ordered by their canonical id.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Groups { get; }

    /// <summary>Every image of <see cref="Source"/> and its canonical id (itself for an image with no duplicate).</summary>
    public IReadOnlyDictionary<string, string> CanonicalOf => _canonical;

    /// <summary>The canonical id of <paramref name="imageId"/>; the id itself for an image with no duplicate or not in
    /// the morphograph (an image of the collection that no curator has connected).</summary>
    public string Canonical(string imageId)
    {
        ArgumentNullException.ThrowIfNull(imageId);
        return _canonical.TryGetValue(imageId, out var canonical) ? canonical : imageId;
    }

    /// <summary>The images whose canonical id is <paramref name="canonicalId"/>, in ordinal order: the whole duplicate
    /// group, or just the id itself when it has no duplicate.</summary>
    public IReadOnlyList<string> Members(string canonicalId)
    {
        ArgumentNullException.ThrowIfNull(canonicalId);
        return _members.TryGetValue(canonicalId, out var members) ? members : [canonicalId];
    }

    /// <summary>A ranked list of image ids brought to canonical ids: each id replaced by its canonical id, and a
    /// canonical id that comes again (a second photograph of the same artwork) dropped, so the artwork is ranked once,
    /// at its best position. This is how a retrieval result is compared with <see cref="Merged"/>.</summary>
    public IReadOnlyList<string> CanonicalRanking(IEnumerable<string> ranking)
    {
        ArgumentNullException.ThrowIfNull(ranking);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<string>();
        foreach (var id in ranking)
        {
            var canonical = Canonical(id);
            if (seen.Add(canonical))
            {
                result.Add(canonical);
            }
        }
        return result;
    }

    /// <summary>Merges the DUPLICATE groups of <paramref name="morphograph"/>.</summary>
    public static MorphographDuplicates Of(Morphograph morphograph)
    {
        ArgumentNullException.ThrowIfNull(morphograph);
        var parent = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var image in morphograph.Images)
        {
            parent[image] = image;
        }
        foreach (var e in morphograph.Edges)
        {
            if (e.Type != MorphographEdgeType.Duplicate)
            {
                continue;
            }
            var (a, b) = (Find(e.Image1), Find(e.Image2));
            if (!string.Equals(a, b, StringComparison.Ordinal))
            {
                // The smaller root wins, so a root is always the smallest id of its group.
                if (string.CompareOrdinal(a, b) < 0)
                {
                    parent[b] = a;
                }
                else
                {
                    parent[a] = b;
                }
            }
        }

        var canonical = new Dictionary<string, string>(parent.Count, StringComparer.Ordinal);
        var groups = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var image in morphograph.Images) // ordinal order, so every group's list comes out sorted
        {
            var root = Find(image);
            canonical[image] = root;
            if (!groups.TryGetValue(root, out var group))
            {
                groups[root] = group = [];
            }
            group.Add(image);
        }
        var members = groups.ToDictionary(g => g.Key, g => g.Value.ToArray(), StringComparer.Ordinal);

        var kept = new HashSet<(string, string, MorphographEdgeType)>();
        var edges = new List<MorphographEdge>();
        foreach (var e in morphograph.Edges)
        {
            var (a, b) = (canonical[e.Image1], canonical[e.Image2]);
            if (string.Equals(a, b, StringComparison.Ordinal))
            {
                continue;
            }
            var key = string.CompareOrdinal(a, b) < 0 ? (a, b, e.Type) : (b, a, e.Type);
            if (kept.Add(key))
            {
                edges.Add(e with { Image1 = a, Image2 = b });
            }
        }
        return new MorphographDuplicates(morphograph, canonical, members, Morphograph.FromEdges(edges));

        string Find(string image)
        {
            while (true)
            {
                var up = parent[image];
                if (string.Equals(up, image, StringComparison.Ordinal))
                {
                    return image;
                }
                var grand = parent[up];
                parent[image] = grand; // path halving
                image = grand;
            }
        }
    }
}
