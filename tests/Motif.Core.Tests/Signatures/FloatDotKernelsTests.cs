using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Motif.Core.Signatures;

namespace Motif.Core.Tests.Signatures;

/// <summary>The float SIMD paths (<see cref="FloatDotKernel"/>'s 4 × 4 tile and <see cref="CosineRanking.Dot"/>) against
/// scalar references computed here in float64, on random rows and on the lengths that break vector loops: shorter than
/// a vector, one past a multiple of it, and the signature's 2,048. The float32 tile cannot equal a scalar loop bit for
/// bit (its lanes sum in another order), so it is held to the rounding bound the neighbour graph's float32 screen
/// relies on; a dropped lane or tail is a whole product off, far outside it.</summary>
public sealed class FloatDotKernelsTests
{
    private static readonly int[] Lengths = [1, 7, 8, 9, 31, 33, 100, 2047, 2048];

    [Fact]
    public void Every_x64_processor_runs_the_vector_paths()
    {
        // Guards the tests below: where this holds, the Vector256 loops ran, not only their scalar tails.
        if (RuntimeInformation.ProcessArchitecture == Architecture.X64)
        {
            Assert.True(Vector256.IsHardwareAccelerated);
        }
    }

    [Fact]
    public void The_float32_tile_is_within_the_screens_rounding_bound_of_the_exact_dot()
    {
        var random = new Random(11);
        foreach (var dim in Lengths)
        {
            var x = RandomRows(random, rows: 8, dim);
            var tile = new float[16];
            FloatDotKernel.Compute4x4(x, dim, 0, 1, 2, 3, 4, tile, stride: 4);
            for (var r = 0; r < 4; r++)
            {
                for (var c = 0; c < 4; c++)
                {
                    var (exact, magnitude) = Exact(x, dim, r, 4 + c);
                    // NeighbourGraph.FloatScreen's margin, (D + 16)·u per unit of Σ|xₖyₖ|, u = 2⁻²⁴.
                    var bound = 1.01 * (dim + 16) * Math.ScaleB(1.0, -24) * magnitude;
                    Assert.True(Math.Abs(tile[r * 4 + c] - exact) <= bound,
                        $"dim {dim}, pair ({r}, {4 + c}): {tile[r * 4 + c]} against {exact}, bound {bound}");
                }
            }
        }
    }

    [Fact]
    public void A_pair_gets_the_same_float32_in_every_tile_it_falls_in()
    {
        const int dim = 100;
        var x = RandomRows(new Random(5), rows: 12, dim);
        var first = new float[16];
        var second = new float[16];
        // Pair (2, 5): row 2 in the first slot against columns 4–7, then in the last slot against columns 5–8.
        FloatDotKernel.Compute4x4(x, dim, 2, 0, 1, 3, 4, first, stride: 4);
        FloatDotKernel.Compute4x4(x, dim, 9, 10, 11, 2, 5, second, stride: 4);
        Assert.Equal(first[0 * 4 + 1], second[3 * 4 + 0]);
    }

    [Fact]
    public void The_float64_dot_equals_the_scalar_reference_within_float64_rounding()
    {
        var random = new Random(3);
        foreach (var dim in Lengths)
        {
            var x = RandomRows(random, rows: 2, dim);
            var (exact, magnitude) = Exact(x, dim, 0, 1);
            var dot = CosineRanking.Dot(x.AsSpan(0, dim), x.AsSpan(dim, dim));
            // float32 × float32 products are exact in float64; only the additions round, at most D of them.
            Assert.True(Math.Abs(dot - exact) <= 2 * dim * Math.ScaleB(1.0, -53) * magnitude, $"dim {dim}: {dot} against {exact}");
            if (dim < Vector256<float>.Count)
            {
                // Shorter than a vector: the scalar loop alone, in order, so equal bit for bit.
                Assert.Equal(exact, dot);
            }
        }
    }

    [Fact]
    public void The_float64_dot_is_exact_where_every_partial_sum_is_representable()
    {
        // Integers below 2²⁴ in every coordinate: each product and partial sum is an integer far below 2⁵³, so any
        // order of additions gives the exact value, and a dropped lane or tail would show as a wrong integer.
        foreach (var dim in Lengths)
        {
            var x = new float[dim];
            var y = new float[dim];
            for (var k = 0; k < dim; k++)
            {
                (x[k], y[k]) = (k % 13 - 6, 1000 + k);
            }
            var expected = 0L;
            for (var k = 0; k < dim; k++)
            {
                expected += (long)x[k] * (long)y[k];
            }
            Assert.Equal(expected, CosineRanking.Dot(x, y));
        }
    }

    private static float[] RandomRows(Random random, int rows, int dim)
    {
        var x = new float[rows * dim];
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = (float)(random.NextDouble() * 2 - 1);
        }
        return x;
    }

    /// <summary>Σ xₖyₖ of rows a and b in float64 in order (each product exact), and Σ |xₖyₖ|.</summary>
    private static (double Dot, double Magnitude) Exact(float[] x, int dim, int a, int b)
    {
        double dot = 0, magnitude = 0;
        for (var k = 0; k < dim; k++)
        {
            var product = (double)x[a * dim + k] * x[b * dim + k];
            dot += product;
            magnitude += Math.Abs(product);
        }
        return (dot, magnitude);
    }
}
