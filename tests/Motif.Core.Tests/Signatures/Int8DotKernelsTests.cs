using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;
using Motif.Core.Signatures;

namespace Motif.Core.Tests.Signatures;

/// <summary>Every SIMD int8 kernel this processor runs against the scalar reference, for exact integer equality, on
/// random rows in the kernel's range and on the ones that break kernels: values at the range's extremes (±R, where
/// vpmaddubsw's int16 sums are largest), zeros, mixed signs, real lengths that are not multiples of the 32-byte vector
/// (zero-padded as the screen stores them), odd and even numbers of 32-byte steps (the AVX2 kernel takes two at a
/// time), and segments that start past 0.</summary>
public sealed class Int8DotKernelsTests
{
    public static TheoryData<NeighbourGraphKernel> SimdKernels()
    {
        var data = new TheoryData<NeighbourGraphKernel>();
        foreach (var kernel in new[] { NeighbourGraphKernel.Avx2 })
        {
            if (NeighbourGraphOptions.IsSupported(kernel))
            {
                data.Add(kernel);
            }
        }
        return data;
    }

    [Fact]
    public void Every_x64_processor_has_a_SIMD_kernel_to_test()
    {
        // Guards the theories below: on x64 their data must not be empty, or they would test nothing.
        if (RuntimeInformation.ProcessArchitecture == Architecture.X64)
        {
            Assert.True(NeighbourGraphOptions.IsSupported(NeighbourGraphKernel.Avx2));
        }
    }

    [Fact]
    public void The_scalar_reference_is_the_plain_dot_product()
    {
        var (rows, columns, stride) = Random(new Random(1), 300, 127);
        var dots = Run(NeighbourGraphKernel.Scalar, rows, columns, stride, 0, stride);
        for (var r = 0; r < 4; r++)
        {
            for (var c = 0; c < 4; c++)
            {
                long expected = 0;
                for (var k = 0; k < stride; k++)
                {
                    expected += rows[r * stride + k] * columns[c * stride + k];
                }
                Assert.Equal(expected, dots[r, c]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(SimdKernels))]
    public void A_SIMD_kernel_equals_the_scalar_reference_on_random_rows(NeighbourGraphKernel kernel)
    {
        var random = new Random(7);
        foreach (var length in new[] { 1, 31, 32, 33, 64, 96, 100, 255, 2047, 2048 })
        {
            var (rows, columns, stride) = Random(random, length, Int8DotKernels.Range(kernel));
            AssertSame(kernel, rows, columns, stride);
        }
    }

    [Theory]
    [MemberData(nameof(SimdKernels))]
    public void A_SIMD_kernel_equals_the_scalar_reference_at_the_extremes(NeighbourGraphKernel kernel)
    {
        // Each pattern fills rows and columns by coordinate; lengths not multiples of 32 leave zero padding. R is 63 for
        // AVX2 (two steps' 2·126·63 summed in int16: 31,752, its edge).
        var range = Int8DotKernels.Range(kernel);
        Func<int, int, sbyte>[] patterns =
        [
            (_, _) => (sbyte)range,                                        // the largest sums
            (_, _) => (sbyte)-range,
            (v, k) => (sbyte)(v % 2 == 0 ? range : -range),                // rows +R, columns −R: the most negative sums
            (v, k) => (sbyte)((k + v) % 2 == 0 ? range : -range),          // alternating signs within a pair
            (v, k) => (sbyte)(k % 3 == 0 ? 0 : range),                     // zeros
            (v, k) => (sbyte)((k * 37 + v * 11) % (2 * range + 1) - range), // every value in [−R, R]
        ];
        foreach (var length in new[] { 32, 61, 64, 2048, 32768 })
        {
            var stride = (length + 31) / 32 * 32;
            foreach (var pattern in patterns)
            {
                var rows = new sbyte[4 * stride];
                var columns = new sbyte[4 * stride];
                for (var v = 0; v < 4; v++)
                {
                    for (var k = 0; k < length; k++)
                    {
                        rows[v * stride + k] = pattern(2 * v, k);
                        columns[v * stride + k] = pattern(2 * v + 1, k);
                    }
                }
                AssertSame(kernel, rows, columns, stride);
            }
        }
    }

    [Theory]
    [MemberData(nameof(SimdKernels))]
    public void A_SIMD_kernel_sums_segments_as_the_screen_calls_it(NeighbourGraphKernel kernel)
    {
        // The screen calls the kernel per segment between checkpoints and adds the results.
        var (rows, columns, stride) = Random(new Random(11), 2048, Int8DotKernels.Range(kernel));
        int[] ends = [32, 64, 96, 128, 256, 352, 512, 1024, 1536, 2016, 2048];
        var total = new long[4, 4];
        var start = 0;
        foreach (var end in ends)
        {
            var segment = Run(kernel, rows, columns, stride, start, end);
            Assert.Equal(Run(NeighbourGraphKernel.Scalar, rows, columns, stride, start, end), segment);
            for (var r = 0; r < 4; r++)
            {
                for (var c = 0; c < 4; c++)
                {
                    total[r, c] += segment[r, c];
                }
            }
            start = end;
        }
        Assert.Equal(Run(NeighbourGraphKernel.Scalar, rows, columns, stride, 0, stride), total);
    }

    [Fact]
    public void The_AVX2_kernel_takes_7_bit_values_and_the_scalar_kernel_8_bit()
    {
        // The screen quantises to the range of the kernel that runs; the AVX2 kernel's int16 sums rely on it.
        Assert.Equal(63, Int8DotKernels.Range(NeighbourGraphKernel.Avx2));
        Assert.Equal(127, Int8DotKernels.Range(NeighbourGraphKernel.Scalar));
    }

    private static (sbyte[] Rows, sbyte[] Columns, int Stride) Random(Random random, int length, int range)
    {
        var stride = (length + 31) / 32 * 32;
        var rows = new sbyte[4 * stride];
        var columns = new sbyte[4 * stride];
        for (var v = 0; v < 4; v++)
        {
            for (var k = 0; k < length; k++)
            {
                rows[v * stride + k] = (sbyte)random.Next(-range, range + 1);
                columns[v * stride + k] = (sbyte)random.Next(-range, range + 1);
            }
        }
        return (rows, columns, stride);
    }

    private static void AssertSame(NeighbourGraphKernel kernel, sbyte[] rows, sbyte[] columns, int stride) =>
        Assert.Equal(Run(NeighbourGraphKernel.Scalar, rows, columns, stride, 0, stride), Run(kernel, rows, columns, stride, 0, stride));

    /// <summary>The 4 × 4 exact dots over [start, end) as the screen gets them: rows prepared for the kernel, the
    /// kernel's row offset taken off with the columns' sums.</summary>
    private static long[,] Run(NeighbourGraphKernel kernel, sbyte[] rows, sbyte[] columns, int stride, int start, int end)
    {
        var prepared = new byte[rows.Length];
        Int8DotKernels.Prepare(kernel, rows, prepared);
        var (r0, r1, r2, r3) = Int8DotKernels.Dot4x4(kernel, ref prepared[0], ref rows[0], ref columns[0], (nuint)stride, (nuint)start, (nuint)end);
        var offset = Int8DotKernels.RowOffset(kernel);
        var result = new long[4, 4];
        var vectors = new[] { r0, r1, r2, r3 };
        for (var r = 0; r < 4; r++)
        {
            for (var c = 0; c < 4; c++)
            {
                var sum = 0L;
                for (var k = start; k < end; k++)
                {
                    sum += columns[c * stride + k];
                }
                result[r, c] = vectors[r].GetElement(c) - offset * sum;
            }
        }
        return result;
    }
}
