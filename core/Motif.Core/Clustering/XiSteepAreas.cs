namespace Motif.Core.Clustering;

/// <summary>
/// The ξ-steep cluster extraction of Ankerst et al. 1999 (§4.3, Figure 19), line by line as scikit-learn 1.2.1's
/// <c>_xi_cluster</c>, <c>_extend_region</c>, <c>_update_filter_sdas</c> and <c>_correct_predecessor</c>
/// (sklearn/cluster/_optics.py), including its corrections to the paper (Definition 9's steep-down inequality,
/// Definition 11 4c's r(x) &gt; r(sD)) and its quirks, which decide labels and so must be kept:
/// <list type="bullet">
/// <item>the reachability plot gets a trailing ∞, so a cluster can end at the last point;</item>
/// <item>ratios follow IEEE division (∞/∞ and 0/0 are NaN and every comparison with NaN is false), as numpy's;</item>
/// <item><c>_correct_predecessor</c> reads <c>ordering[predecessor_plot[e]]</c> — a point index used as a
/// position, and −1 (no predecessor) read as the last position, numpy's negative indexing. scikit-learn
/// later changed this line; 1.2.1 is the reference, so it is reproduced as is.</item>
/// </list>
/// </summary>
internal static class XiSteepAreas
{
    private sealed class SteepDownArea(int start, int end)
    {
        public int Start { get; } = start;
        public int End { get; } = end;
        public double Mib { get; set; }
    }

    public static List<(int Start, int End)> Clusters(OpticsResult result, double xi, int minSamples, int minClusterSize, bool predecessorCorrection)
    {
        var n = result.Ordering.Count;
        var ordering = result.Ordering;
        var plot = new double[n + 1];
        var predecessorPlot = new int[n];
        for (var position = 0; position < n; position++)
        {
            plot[position] = result.Reachability[ordering[position]];
            predecessorPlot[position] = result.Predecessor[ordering[position]];
        }
        plot[n] = double.PositiveInfinity;

        var complement = 1 - xi;
        var steepUp = new bool[n];
        var steepDown = new bool[n];
        var down = new bool[n];
        var up = new bool[n];
        for (var i = 0; i < n; i++)
        {
            var ratio = plot[i] / plot[i + 1];
            steepUp[i] = ratio <= complement;
            steepDown[i] = ratio >= 1 / complement;
            down[i] = ratio > 1;
            up[i] = ratio < 1;
        }

        var sdas = new List<SteepDownArea>();
        var clusters = new List<(int Start, int End)>();
        var index = 0;
        var mib = 0.0;
        for (var steepIndex = 0; steepIndex < n; steepIndex++)
        {
            if (!(steepUp[steepIndex] || steepDown[steepIndex]) || steepIndex < index)
            {
                continue;
            }
            for (var i = index; i <= steepIndex; i++)
            {
                mib = Math.Max(mib, plot[i]);
            }

            if (steepDown[steepIndex])
            {
                sdas = UpdateFilter(sdas, mib, complement, plot);
                var end = ExtendRegion(steepDown, up, steepIndex, minSamples);
                sdas.Add(new SteepDownArea(steepIndex, end));
                index = end + 1;
                mib = plot[index];
                continue;
            }

            sdas = UpdateFilter(sdas, mib, complement, plot);
            var upStart = steepIndex;
            var upEnd = ExtendRegion(steepUp, down, upStart, minSamples);
            index = upEnd + 1;
            mib = plot[index];

            var found = new List<(int, int)>();
            foreach (var d in sdas)
            {
                var cStart = d.Start;
                var cEnd = upEnd;
                // line (**), sc2*
                if (plot[cEnd + 1] * complement < d.Mib)
                {
                    continue;
                }
                // Definition 11, criterion 4
                var dMax = plot[d.Start];
                if (dMax * complement >= plot[cEnd + 1])
                {
                    while (plot[cStart + 1] > plot[cEnd + 1] && cStart < d.End)
                    {
                        cStart++;
                    }
                }
                else if (plot[cEnd + 1] * complement >= dMax)
                {
                    // The bound is tested first only to stay inside the array; numpy would read plot[-1] (∞)
                    // and then stop on the same bound, so the loop is the same.
                    while (cEnd > upStart && plot[cEnd - 1] > dMax)
                    {
                        cEnd--;
                    }
                }
                if (predecessorCorrection && !CorrectPredecessor(plot, predecessorPlot, ordering, ref cStart, ref cEnd))
                {
                    continue;
                }
                // Definition 11: criteria 3.a, 1 and 2
                if (cEnd - cStart + 1 < minClusterSize || cStart > d.End || cEnd < upStart)
                {
                    continue;
                }
                found.Add((cStart, cEnd));
            }
            found.Reverse();
            clusters.AddRange(found);
        }
        return clusters;
    }

    /// <summary>_extend_region: the end of a maximal steep area starting at <paramref name="start"/>.</summary>
    private static int ExtendRegion(bool[] steep, bool[] xward, int start, int minSamples)
    {
        var nonXward = 0;
        var end = start;
        for (var index = start; index < steep.Length; index++)
        {
            if (steep[index])
            {
                nonXward = 0;
                end = index;
            }
            else if (!xward[index])
            {
                // Not steep, but going in the area's direction (or flat): allowed up to min_samples in a row.
                nonXward++;
                if (nonXward > minSamples)
                {
                    break;
                }
            }
            else
            {
                return end;
            }
        }
        return end;
    }

    /// <summary>_update_filter_sdas: drop steep-down areas the maximum-in-between has climbed above, raise the others' mib.</summary>
    private static List<SteepDownArea> UpdateFilter(List<SteepDownArea> sdas, double mib, double complement, double[] plot)
    {
        if (double.IsInfinity(mib))
        {
            return [];
        }
        var kept = sdas.Where(sda => mib <= plot[sda.Start] * complement).ToList();
        foreach (var sda in kept)
        {
            sda.Mib = Math.Max(sda.Mib, mib);
        }
        return kept;
    }

    /// <summary>_correct_predecessor (Schubert &amp; Gertz 2018, Algorithm 2); false where scikit-learn returns (None, None).</summary>
    private static bool CorrectPredecessor(double[] plot, int[] predecessorPlot, IReadOnlyList<int> ordering, ref int s, ref int e)
    {
        var n = ordering.Count;
        while (s < e)
        {
            if (plot[s] > plot[e])
            {
                return true;
            }
            var predecessor = predecessorPlot[e];
            var pe = ordering[predecessor < 0 ? predecessor + n : predecessor];
            for (var i = s; i < e; i++)
            {
                if (pe == ordering[i])
                {
                    return true;
                }
            }
            e--;
        }
        return false;
    }
}
