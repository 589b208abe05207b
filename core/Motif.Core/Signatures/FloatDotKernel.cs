using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Motif.Core.Signatures;

/// <summary>
/// The float32 register-blocked dot-product kernel that the neighbour graph's fallback screen and the exact cosine
/// ranking share: 4 rows × 4 rows, 16 accumulators of 8 lanes, every loaded vector used four times, so the loop is
/// bound by FMA throughput rather than by loads.
/// </summary>
internal static class FloatDotKernel
{
    /// <summary>
    /// Writes the 16 dot products between rows <paramref name="a0"/>…<paramref name="a3"/> and the four consecutive
    /// rows from <paramref name="b"/> of <paramref name="x"/> (row-major, <paramref name="dim"/> columns) to
    /// <c>output[r × stride + c]</c>. Each is the sum of its 8 lanes, then the tail past the last full vector added
    /// in order, so a given pair always gets the same float, whatever tile it falls in.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Compute4x4(ReadOnlySpan<float> x, int dim, int a0, int a1, int a2, int a3, int b, Span<float> output, int stride)
    {
        ref var origin = ref MemoryMarshal.GetReference(x);
        var d = (nuint)dim;
        nuint r0 = (nuint)a0 * d, r1 = (nuint)a1 * d, r2 = (nuint)a2 * d, r3 = (nuint)a3 * d;
        nuint c0 = (nuint)b * d, c1 = c0 + d, c2 = c1 + d, c3 = c2 + d;
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default;
        Vector256<float> s10 = default, s11 = default, s12 = default, s13 = default;
        Vector256<float> s20 = default, s21 = default, s22 = default, s23 = default;
        Vector256<float> s30 = default, s31 = default, s32 = default, s33 = default;
        var width = (nuint)Vector256<float>.Count;
        var end = d - d % width;
        for (nuint k = 0; k < end; k += width)
        {
            var y0 = Vector256.LoadUnsafe(ref origin, c0 + k);
            var y1 = Vector256.LoadUnsafe(ref origin, c1 + k);
            var y2 = Vector256.LoadUnsafe(ref origin, c2 + k);
            var y3 = Vector256.LoadUnsafe(ref origin, c3 + k);
            var v = Vector256.LoadUnsafe(ref origin, r0 + k);
            s00 = Vector256.MultiplyAddEstimate(v, y0, s00); s01 = Vector256.MultiplyAddEstimate(v, y1, s01);
            s02 = Vector256.MultiplyAddEstimate(v, y2, s02); s03 = Vector256.MultiplyAddEstimate(v, y3, s03);
            v = Vector256.LoadUnsafe(ref origin, r1 + k);
            s10 = Vector256.MultiplyAddEstimate(v, y0, s10); s11 = Vector256.MultiplyAddEstimate(v, y1, s11);
            s12 = Vector256.MultiplyAddEstimate(v, y2, s12); s13 = Vector256.MultiplyAddEstimate(v, y3, s13);
            v = Vector256.LoadUnsafe(ref origin, r2 + k);
            s20 = Vector256.MultiplyAddEstimate(v, y0, s20); s21 = Vector256.MultiplyAddEstimate(v, y1, s21);
            s22 = Vector256.MultiplyAddEstimate(v, y2, s22); s23 = Vector256.MultiplyAddEstimate(v, y3, s23);
            v = Vector256.LoadUnsafe(ref origin, r3 + k);
            s30 = Vector256.MultiplyAddEstimate(v, y0, s30); s31 = Vector256.MultiplyAddEstimate(v, y1, s31);
            s32 = Vector256.MultiplyAddEstimate(v, y2, s32); s33 = Vector256.MultiplyAddEstimate(v, y3, s33);
        }
        ReadOnlySpan<Vector256<float>> sums = [s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33];
        ReadOnlySpan<int> rows = [a0, a1, a2, a3];
        for (var r = 0; r < 4; r++)
        {
            for (var c = 0; c < 4; c++)
            {
                var sum = Vector256.Sum(sums[r * 4 + c]);
                for (var k = (int)end; k < dim; k++)
                {
                    sum += x[rows[r] * dim + k] * x[(b + c) * dim + k];
                }
                output[r * stride + c] = sum;
            }
        }
    }
}
