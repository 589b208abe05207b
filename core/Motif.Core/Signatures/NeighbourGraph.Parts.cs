namespace Motif.Core.Signatures;

public sealed partial class NeighbourGraph
{
    /// <summary>
    /// The graph of images signed as <paramref name="parts"/> signatures each (the whole, then its details), read from
    /// this graph of their signatures: rows <c>i × parts … i × parts + parts − 1</c> are image i's, its whole first.
    /// Images i and j are neighbours at the least distance of any whole ↔ whole, whole ↔ detail or detail ↔ whole pair
    /// between them within the radius; detail ↔ detail pairs and an image's pairs with itself do not count. That is
    /// <see cref="CosineRanking.ImageDistance(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{double}, ReadOnlySpan{double})"/> for every pair within the radius (each pair's distance is the one this
    /// graph holds, computed by <see cref="CosineRanking.Distance"/>), so OPTICS over the result sees the distances
    /// search and evaluation rank with.
    /// </summary>
    /// <remarks>
    /// A pair of images is within the radius exactly when one of its counted signature pairs is, and this graph holds
    /// every such pair, so nothing is lost. The result's rows are images: its <see cref="Dimension"/> is a whole row's
    /// (parts × this graph's), and it has no signatures' norms, so it cannot be appended to; append to this graph and
    /// fold again.
    /// </remarks>
    /// <param name="parts">Signatures per image (≥ 1); 1 returns this graph.</param>
    /// <exception cref="ArgumentException">The rows are not a whole number of images.</exception>
    public NeighbourGraph FoldParts(int parts)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(parts);
        if (Count % parts != 0)
        {
            throw new ArgumentException($"{Count} signatures are not images of {parts} each.", nameof(parts));
        }
        if (parts == 1)
        {
            return this;
        }
        var images = Count / parts;
        var offsets = new int[images + 1];
        var indices = new List<int>();
        var distances = new List<double>();
        var nearest = new Dictionary<int, double>();
        var entries = new List<(double Distance, int Index)>();
        for (var i = 0; i < images; i++)
        {
            nearest.Clear();
            for (var q = 0; q < parts; q++)
            {
                var row = i * parts + q;
                var neighbours = NeighboursOf(row);
                var rowDistances = DistancesOf(row);
                for (var e = 0; e < neighbours.Length; e++)
                {
                    var other = neighbours[e];
                    var j = other / parts;
                    // The whole sees every part of another image; a detail sees only the other's whole.
                    if (j == i || (q != 0 && other % parts != 0))
                    {
                        continue;
                    }
                    if (!nearest.TryGetValue(j, out var known) || rowDistances[e] < known)
                    {
                        nearest[j] = rowDistances[e];
                    }
                }
            }
            entries.Clear();
            entries.AddRange(nearest.Select(p => (p.Value, p.Key)));
            entries.Sort();
            foreach (var (distance, index) in entries)
            {
                indices.Add(index);
                distances.Add(distance);
            }
            offsets[i + 1] = indices.Count;
        }
        // No norms: the rows are images, not signatures, and Append refuses a graph whose norms do not match (NaN never does).
        var norms = new double[images];
        Array.Fill(norms, double.NaN);
        return new NeighbourGraph(Dimension * parts, Radius, offsets, [.. indices], [.. distances], norms);
    }
}
