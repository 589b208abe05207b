using Motif.Core.Signatures;

namespace Motif.Core.Tests.Signatures;

public sealed class NeighbourGraphTests
{
    [Theory]
    [InlineData(2, 120, 0.05)]
    [InlineData(13, 150, 0.9)]
    [InlineData(64, 97, 0.3)]
    [InlineData(2048, 70, 0.15)]
    public void Graph_equals_brute_force(int dim, int n, double radius)
    {
        var x = SyntheticSignatures.Clustered(n, dim, clusters: 5, spread: dim == 2 ? 0.1 : 0.3, seed: dim);

        var graph = NeighbourGraph.Build(x, dim, radius, degreeOfParallelism: 2);

        Assert.Equal(n, graph.Count);
        var expectedEntries = 0;
        for (var i = 0; i < n; i++)
        {
            // Brute force: every other point, float64 cosine on normalised copies, kept when d ≤ radius.
            var expected = Enumerable.Range(0, n).Where(j => j != i)
                .Select(j => (Distance: BruteDistance(x, dim, i, j), Index: j))
                .Where(p => p.Distance <= radius)
                .OrderBy(p => p.Distance).ThenBy(p => p.Index)
                .ToArray();
            expectedEntries += expected.Length;
            Assert.Equal(expected.Select(p => p.Index).Order(), graph.NeighboursOf(i).ToArray().Order());
            var distances = graph.DistancesOf(i);
            var neighbours = graph.NeighboursOf(i);
            for (var k = 0; k < distances.Length; k++)
            {
                Assert.Equal(BruteDistance(x, dim, i, neighbours[k]), distances[k], 1e-12);
                if (k > 0)
                {
                    Assert.True(distances[k - 1] < distances[k] || (distances[k - 1] == distances[k] && neighbours[k - 1] < neighbours[k]),
                        $"row {i} is not sorted by (distance, index) at {k}");
                }
            }
        }
        Assert.True(expectedEntries > n, "the data set should have neighbours within the radius");
        Assert.Equal(expectedEntries, graph.EntryCount);
    }

    /// <summary>The int8 kernels this processor runs: the scalar reference everywhere, and each SIMD one it has.</summary>
    public static TheoryData<NeighbourGraphKernel> Int8Kernels()
    {
        var data = new TheoryData<NeighbourGraphKernel>();
        foreach (var kernel in new[] { NeighbourGraphKernel.Scalar, NeighbourGraphKernel.Avx2 })
        {
            if (NeighbourGraphOptions.IsSupported(kernel))
            {
                data.Add(kernel);
            }
        }
        return data;
    }

    [Fact]
    public void The_default_screen_is_a_SIMD_int8_kernel_on_every_x64_processor()
    {
        var x = SyntheticSignatures.Clustered(40, 64, clusters: 4, spread: 0.3, seed: 3);
        var graph = NeighbourGraph.Build(x, 64, 0.2);
        if (System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64)
        {
            // Every x86-64 processor this project runs on has AVX2.
            Assert.Equal(NeighbourGraphKernel.Avx2, graph.ScreenKernel);
        }
        else
        {
            Assert.Equal(NeighbourGraphKernel.Scalar, graph.ScreenKernel);
        }
        Assert.Equal(graph.ScreenKernel, NeighbourGraphOptions.Default.Resolve(64));
        // Nothing to screen at a radius ≥ 2; past 32,768 dimensions the float32 screen.
        Assert.Null(NeighbourGraph.Build(x, 64, 2).ScreenKernel);
        Assert.Equal(NeighbourGraphKernel.Float32, NeighbourGraphOptions.Default.Resolve(40000));
    }

    [Fact]
    public void A_kernel_the_processor_lacks_is_refused()
    {
        var x = SyntheticSignatures.Clustered(8, 64, clusters: 2, spread: 0.3, seed: 3);
        foreach (var kernel in Enum.GetValues<NeighbourGraphKernel>().Where(k => !NeighbourGraphOptions.IsSupported(k)))
        {
            Assert.Throws<NotSupportedException>(() => NeighbourGraph.Build(x, 64, 0.2, new NeighbourGraphOptions { Kernel = kernel }));
        }
        Assert.Throws<NotSupportedException>(() => new NeighbourGraphOptions { Kernel = NeighbourGraphKernel.Scalar }.Resolve(40000));
    }

    [Theory]
    [MemberData(nameof(Int8Kernels))]
    public void Each_int8_kernel_gives_the_float_screens_graph(NeighbourGraphKernel kernel)
    {
        // Dimensions that are not multiples of 32 (the int8 rows' padding) nor of 8 (a float32 vector).
        foreach (var (dim, radius) in new[] { (13, 0.5), (100, 0.3), (2047, 0.15) })
        {
            var x = SyntheticSignatures.Clustered(150, dim, clusters: 6, spread: 0.3, seed: dim);
            var int8 = NeighbourGraph.Build(x, dim, radius, new NeighbourGraphOptions { Kernel = kernel }, degreeOfParallelism: 2);
            var float32 = NeighbourGraph.Build(x, dim, radius, new NeighbourGraphOptions { Kernel = NeighbourGraphKernel.Float32 });
            Assert.Equal(kernel, int8.ScreenKernel);
            Assert.Equal(NeighbourGraphKernel.Float32, float32.ScreenKernel);
            Assert.True(float32.EntryCount > 150, "the data set should have neighbours within the radius");
            Assert.Equal(float32.RowOffsets.ToArray(), int8.RowOffsets.ToArray());
            Assert.Equal(float32.NeighbourIndices.ToArray(), int8.NeighbourIndices.ToArray());
            Assert.Equal(float32.NeighbourDistances.ToArray(), int8.NeighbourDistances.ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(Int8Kernels))]
    public void The_int8_screen_loses_no_pair_near_the_radius(NeighbourGraphKernel kernel)
    {
        // Partners at exact cosine distances within radius ± 0.002, from Gaussian rows and from non-negative
        // ReLU-like rows (as CNN signatures are), whose larger largest component gives a coarser quantisation step.
        // The int8 estimate is typically off by ~2e-4 (far inside its worst-case bound of ~0.025), so pairs this
        // close to the radius are what a screen without its error bound would misjudge.
        const int dim = 2048;
        const double radius = 0.13;
        var random = new Random(17);
        var rows = new List<double[]>();
        for (var b = 0; b < 12; b++)
        {
            var u = Unit(Enumerable.Range(0, dim).Select(_ => b % 2 == 0 ? Gaussian(random) : Math.Max(0, Gaussian(random))).ToArray());
            rows.Add(u);
            for (var p = 0; p < 24; p++)
            {
                // v = cos θ · u + sin θ · w with w ⟂ u, so 1 − u·v is exactly the chosen distance (up to rounding).
                var w = Enumerable.Range(0, dim).Select(_ => Gaussian(random)).ToArray();
                var along = w.Zip(u, (a, c) => a * c).Sum();
                w = Unit(w.Select((a, k) => a - along * u[k]).ToArray());
                var cosine = 1 - (radius - 0.002 + 0.004 * random.NextDouble());
                rows.Add(u.Select((c, k) => cosine * c + Math.Sqrt(1 - cosine * cosine) * w[k]).ToArray());
            }
        }
        var x = rows.SelectMany(r => r.Select(v => (float)v)).ToArray();
        var n = rows.Count;

        var quantized = NeighbourGraph.Build(x, dim, radius, new NeighbourGraphOptions { Kernel = kernel });
        var floatScreen = NeighbourGraph.Build(x, dim, radius, new NeighbourGraphOptions { Kernel = NeighbourGraphKernel.Float32 });
        Assert.Equal(kernel, quantized.ScreenKernel);
        Assert.Equal(NeighbourGraphKernel.Float32, floatScreen.ScreenKernel);

        var expected = 0;
        for (var i = 0; i < n; i++)
        {
            var brute = Enumerable.Range(0, n).Where(j => j != i && BruteDistance(x, dim, i, j) <= radius).Order().ToArray();
            expected += brute.Length;
            Assert.Equal(brute, quantized.NeighboursOf(i).ToArray().Order());
            Assert.Equal(floatScreen.NeighboursOf(i).ToArray(), quantized.NeighboursOf(i).ToArray());
            Assert.Equal(floatScreen.DistancesOf(i).ToArray(), quantized.DistancesOf(i).ToArray());
        }
        // The data must straddle the radius on both sides, or it would not test the bound.
        Assert.InRange(expected, 12 * 24 * 2 / 4, 12 * 24 * 2 * 3 / 4 + 12 * 24 * 23);

        static double[] Unit(double[] v)
        {
            var norm = Math.Sqrt(v.Sum(a => a * a));
            return v.Select(a => a / norm).ToArray();
        }
    }

    [Theory]
    [MemberData(nameof(Int8Kernels))]
    public void The_prefix_bound_loses_no_pair_near_the_radius(NeighbourGraphKernel kernel)
    {
        // The int8 screen drops a pair at a checkpoint k when int8(u_p·v_p) + E_p + ‖u_r‖‖v_r‖ < 1 − radius (prefix p:
        // the first k coordinates; rest r; E_p the prefix's quantisation bound). Cauchy–Schwarz, u_r·v_r ≤ ‖u_r‖‖v_r‖,
        // is an equality when v_r = u_r, so partners that differ from their base only in the first 32 coordinates make
        // the bound tight at every checkpoint: only E_p then separates a pair at radius − 0.0005 from being dropped.
        // Their heads carry a quarter of the energy, so the quantisation step is coarse (~1/600): the prefix int8
        // estimate is typically off by ~3e-4. Gaussian and non-negative (ReLU-like) rows, as in the test above. Dropping
        // E_p at the checkpoints (or scaling it by 0.05), or taking the residual norms 1% short, makes this test fail.
        const int dim = 2048, head = 32;
        const double radius = 0.13, energy = 0.25;
        var random = new Random(23);
        var rows = new List<double[]>();
        for (var b = 0; b < 12; b++)
        {
            var relu = b % 2 == 1;
            double Draw() => relu ? Math.Max(0, Gaussian(random)) : Gaussian(random);
            var h = Scaled(Enumerable.Range(0, head).Select(_ => Draw()).ToArray(), Math.Sqrt(energy));
            var t = Scaled(Enumerable.Range(0, dim - head).Select(_ => Draw()).ToArray(), Math.Sqrt(1 - energy));
            rows.Add([.. h, .. t]);
            for (var p = 0; p < 24; p++)
            {
                // v = (β h + √(1 − β²) w, t) with w ⟂ h, ‖w‖ = ‖h‖: ‖v‖ = 1 and u·v = β‖h‖² + ‖t‖² = 1 − d.
                var d = radius - 0.0005 + 0.001 * random.NextDouble();
                var beta = 1 - d / energy;
                var w = Enumerable.Range(0, head).Select(_ => Gaussian(random)).ToArray();
                var along = w.Zip(h, (a, c) => a * c).Sum() / energy;
                w = Scaled(w.Select((a, k) => a - along * h[k]).ToArray(), Math.Sqrt(energy));
                rows.Add([.. h.Select((c, k) => beta * c + Math.Sqrt(1 - beta * beta) * w[k]), .. t]);
            }
        }
        var x = rows.SelectMany(r => r.Select(v => (float)v)).ToArray();
        var n = rows.Count;

        var quantized = NeighbourGraph.Build(x, dim, radius,
            new NeighbourGraphOptions { Kernel = kernel, Checkpoints = [32, 64, 96, 128, 256, 512, 1024, 1536, 2016] });
        var floatScreen = NeighbourGraph.Build(x, dim, radius, new NeighbourGraphOptions { Kernel = NeighbourGraphKernel.Float32 });
        Assert.Equal(kernel, quantized.ScreenKernel);

        for (var i = 0; i < n; i++)
        {
            var brute = Enumerable.Range(0, n).Where(j => j != i && BruteDistance(x, dim, i, j) <= radius).Order().ToArray();
            Assert.Equal(brute, quantized.NeighboursOf(i).ToArray().Order());
            Assert.Equal(floatScreen.NeighboursOf(i).ToArray(), quantized.NeighboursOf(i).ToArray());
            Assert.Equal(floatScreen.DistancesOf(i).ToArray(), quantized.DistancesOf(i).ToArray());
        }
        // The base–partner pairs must straddle the radius, or the data would not test the bound.
        var within = Enumerable.Range(0, 12).Sum(b => Enumerable.Range(1, 24).Count(p => BruteDistance(x, dim, 25 * b, 25 * b + p) <= radius));
        Assert.InRange(within, 12 * 24 / 4, 12 * 24 * 3 / 4);

        static double[] Scaled(double[] v, double norm)
        {
            var factor = norm / Math.Sqrt(v.Sum(a => a * a));
            return v.Select(a => a * factor).ToArray();
        }
    }

    [Fact]
    public void Appending_in_batches_gives_the_graph_built_at_once()
    {
        const int dim = 40;
        var x = SyntheticSignatures.Clustered(230, dim, clusters: 7, spread: 0.3, seed: 5);
        var whole = NeighbourGraph.Build(x, dim, 0.4);

        var graph = NeighbourGraph.Empty(dim, 0.4);
        foreach (var rows in new[] { 1, 2, 37, 100, 100, 230 })
        {
            graph = graph.Append(x.AsMemory(0, rows * dim), degreeOfParallelism: 2);
        }

        Assert.Equal(whole.RowOffsets.ToArray(), graph.RowOffsets.ToArray());
        Assert.Equal(whole.NeighbourIndices.ToArray(), graph.NeighbourIndices.ToArray());
        Assert.Equal(whole.NeighbourDistances.ToArray(), graph.NeighbourDistances.ToArray());
    }

    [Fact]
    public void Appending_leaves_the_previous_graph_unchanged()
    {
        const int dim = 8;
        var x = SyntheticSignatures.Clustered(50, dim, clusters: 3, spread: 0.2, seed: 9);
        var first = NeighbourGraph.Build(x.AsMemory(0, 20 * dim), dim, 0.5);
        var before = first.NeighbourIndices.ToArray();

        var second = first.Append(x);

        Assert.Equal(20, first.Count);
        Assert.Equal(before, first.NeighbourIndices.ToArray());
        Assert.Equal(50, second.Count);
    }

    [Fact]
    public void Duplicates_are_at_distance_zero_never_negative()
    {
        // A vector whose float cosine with itself is not exactly 1: 1 − x·x/‖x‖² rounds to a tiny ± value.
        float[] row = [0.1f, 0.7f, 0.3f, 0.11f, 0.9f, 0.123f, 0.77f, 0.31f, 0.05f];
        var x = row.Concat(row).Concat(row).ToArray();

        var graph = NeighbourGraph.Build(x, row.Length, radius: 0);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(2, graph.NeighboursOf(i).Length);
            Assert.All(graph.DistancesOf(i).ToArray(), d => Assert.Equal(0.0, d));
            Assert.True(double.IsPositive(graph.DistancesOf(i)[0]) || graph.DistancesOf(i)[0] == 0);
        }
    }

    [Fact]
    public void A_pair_exactly_at_the_radius_is_a_neighbour_and_one_ulp_beyond_is_not()
    {
        const int dim = 16;
        var x = SyntheticSignatures.Clustered(30, dim, clusters: 2, spread: 0.5, seed: 3);
        var full = NeighbourGraph.Build(x, dim, double.PositiveInfinity);
        var d = full.DistancesOf(0)[5];
        var j = full.NeighboursOf(0)[5];

        // scikit-learn's radius_neighbors keeps d <= radius.
        Assert.Contains(j, NeighbourGraph.Build(x, dim, d).NeighboursOf(0).ToArray());
        Assert.DoesNotContain(j, NeighbourGraph.Build(x, dim, Math.BitDecrement(d)).NeighboursOf(0).ToArray());
    }

    [Fact]
    public void Distances_span_the_whole_cosine_range_and_rows_need_not_be_unit_length()
    {
        // (1, 0), (0, 3), (−2, 0): orthogonal at distance 1, opposite at distance 2, whatever the lengths.
        float[] x = [1, 0, 0, 3, -2, 0];

        var graph = NeighbourGraph.Build(x, 2, double.PositiveInfinity);

        Assert.Equal([1, 2], graph.NeighboursOf(0).ToArray());
        Assert.Equal([1.0, 2.0], graph.DistancesOf(0).ToArray());
        Assert.Equal([0, 2], graph.NeighboursOf(1).ToArray());
    }

    [Fact]
    public void One_thread_and_two_give_the_same_graph()
    {
        const int dim = 100;
        var x = SyntheticSignatures.Clustered(300, dim, clusters: 10, spread: 0.25, seed: 11);

        var one = NeighbourGraph.Build(x, dim, 0.2, degreeOfParallelism: 1);
        var two = NeighbourGraph.Build(x, dim, 0.2, degreeOfParallelism: 2);

        Assert.Equal(one.NeighbourIndices.ToArray(), two.NeighbourIndices.ToArray());
        Assert.Equal(one.NeighbourDistances.ToArray(), two.NeighbourDistances.ToArray());
    }

    [Fact]
    public void Rows_without_a_direction_and_changed_old_rows_are_refused()
    {
        float[] zero = [1, 0, 0, 0];
        Assert.Throws<ArgumentException>(() => NeighbourGraph.Build(zero, 2, 0.1));
        float[] nan = [1, 0, float.NaN, 1];
        Assert.Throws<ArgumentException>(() => NeighbourGraph.Build(nan, 2, 0.1));
        Assert.Throws<ArgumentException>(() => NeighbourGraph.Build(new float[5], 2, 0.1));

        float[] x = [1, 0, 0, 1];
        var graph = NeighbourGraph.Build(x, 2, 0.1);
        float[] changed = [1, 0, 0, 2, 1, 1];
        Assert.Throws<ArgumentException>(() => graph.Append(changed));
        Assert.Throws<ArgumentException>(() => graph.Append(new float[] { 1, 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => NeighbourGraph.Empty(2, -0.1));
    }

    private static double Gaussian(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    private static double BruteDistance(float[] x, int dim, int i, int j)
    {
        double dot = 0, ni = 0, nj = 0;
        for (var k = 0; k < dim; k++)
        {
            double a = x[i * dim + k], b = x[j * dim + k];
            dot += a * b;
            ni += a * a;
            nj += b * b;
        }
        return Math.Clamp(1 - dot / Math.Sqrt(ni * nj), 0, 2);
    }
}
