using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Motif.Core.Signatures;

/// <summary>
/// The int8 dot-product kernels of the neighbour graph's screen: 4 rows × 4 columns of signed bytes in [−R, R], R the
/// kernel's <see cref="Range"/> (what <c>QuantizedRows</c> stores for it; −128 never occurs), over a segment [start, end)
/// of coordinates, a multiple of 32 long. Rows come twice: signed as stored, and "prepared" in the form the kernel's unsigned operand takes
/// (<see cref="Prepare"/>, once per block of rows rather than once per tile). A kernel returns, per row r, the four
/// int32 sums Σₖ prepared_r[k]·column_c[k]; that is the exact signed dot product plus <see cref="RowOffset"/> × Σₖ
/// column_c[k], which the caller subtracts (it keeps those column sums per checkpoint). The scalar kernel is the
/// reference the SIMD ones are tested against, for exact integer equality.
/// </summary>
internal static class Int8DotKernels
{
    // The AVX2 kernel's range: small enough that two vpmaddubsw results add up in int16 without overflow (see
    // Avx2Dot2x4).
    private const int Avx2Range = 63;

    /// <summary>The largest |q| the kernel takes: 63 for AVX2 (see <see cref="Avx2Dot2x4"/>), 127 for the others. The
    /// screen quantises for the kernel that runs; a smaller range only loosens its bound, never its exactness.</summary>
    public static int Range(NeighbourGraphKernel kernel) => kernel == NeighbourGraphKernel.Avx2 ? Avx2Range : 127;

    /// <summary>What <see cref="Prepare"/> adds to each row byte: 63 for AVX2, whose vpmaddubsw multiplies unsigned by
    /// signed bytes; 0 for the scalar kernel.</summary>
    public static int RowOffset(NeighbourGraphKernel kernel) => kernel == NeighbourGraphKernel.Avx2 ? Avx2Range : 0;

    /// <summary>Writes <paramref name="rows"/> (a multiple of 32 bytes) in the kernel's prepared form: q + 63 (AVX2, see <see cref="Avx2Dot2x4"/>), q itself (scalar, which reads only the signed rows).</summary>
    public static void Prepare(NeighbourGraphKernel kernel, ReadOnlySpan<sbyte> rows, Span<byte> prepared)
    {
        ref var source = ref MemoryMarshal.GetReference(rows);
        ref var target = ref MemoryMarshal.GetReference(prepared);
        switch (kernel)
        {
            case NeighbourGraphKernel.Avx2:
                // q ∈ [−63, 63] becomes q + 63 ∈ [0, 126]: the byte addition cannot wrap.
                var offset = Vector256.Create((byte)Avx2Range);
                for (nuint k = 0; k < (nuint)rows.Length; k += 32)
                {
                    (Vector256.LoadUnsafe(ref source, k).AsByte() + offset).StoreUnsafe(ref target, k);
                }
                break;
            default:
                MemoryMarshal.AsBytes(rows).CopyTo(prepared);
                break;
        }
    }

    /// <summary>
    /// Rows r = 0..3 (prepared at <paramref name="prepared"/> and signed at <paramref name="rows"/>, each consecutive at
    /// <paramref name="stride"/>) against the four consecutive columns at <paramref name="columns"/>, over coordinates
    /// [<paramref name="start"/>, <paramref name="end"/>): lane c of the result's r-th vector is row r · column c
    /// (plus the <see cref="RowOffset"/> term, see the class remarks).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<int> R0, Vector128<int> R1, Vector128<int> R2, Vector128<int> R3) Dot4x4(NeighbourGraphKernel kernel,
        ref byte prepared, ref sbyte rows, ref sbyte columns, nuint stride, nuint start, nuint end) => kernel switch
        {
            NeighbourGraphKernel.Avx2 => Avx2Dot4x4(ref prepared, ref columns, stride, start, end),
            _ => ScalarDot4x4(ref rows, ref columns, stride, start, end),
        };

    /// <summary>The reference: plain int32 sums of sbyte × sbyte products, in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (Vector128<int>, Vector128<int>, Vector128<int>, Vector128<int>) ScalarDot4x4(ref sbyte rows, ref sbyte columns,
        nuint stride, nuint start, nuint end)
    {
        Span<int> sums = stackalloc int[16];
        for (nuint r = 0; r < 4; r++)
        {
            ref var row = ref Unsafe.Add(ref rows, r * stride);
            for (nuint c = 0; c < 4; c++)
            {
                ref var column = ref Unsafe.Add(ref columns, c * stride);
                var sum = 0;
                for (var k = start; k < end; k++)
                {
                    sum += Unsafe.Add(ref row, k) * Unsafe.Add(ref column, k);
                }
                sums[(int)(4 * r + c)] = sum;
            }
        }
        return (Vector128.Create(sums[..4]), Vector128.Create(sums[4..8]), Vector128.Create(sums[8..12]), Vector128.Create(sums[12..]));
    }

    /// <summary>AVX2: two passes of 2 rows × 4 columns (8 accumulators), since AVX2 has only 16 vector registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (Vector128<int>, Vector128<int>, Vector128<int>, Vector128<int>) Avx2Dot4x4(ref byte prepared,
        ref sbyte columns, nuint stride, nuint start, nuint end)
    {
        var (r0, r1) = Avx2Dot2x4(ref prepared, ref columns, stride, start, end);
        var (r2, r3) = Avx2Dot2x4(ref Unsafe.Add(ref prepared, 2 * stride), ref columns, stride, start, end);
        return (r0, r1, r2, r3);
    }

    /// <summary>
    /// AVX2 has no u8 × i8 → i32 multiply-accumulate; vpmaddubsw (<c>Avx2.MultiplyAddAdjacent(Vector256&lt;byte&gt;,
    /// Vector256&lt;sbyte&gt;)</c>, Intel intrinsic <c>_mm256_maddubs_epi16</c>) multiplies unsigned by signed bytes and
    /// adds adjacent pairs into int16 with <i>signed saturation</i>, and vpmaddwd with ones
    /// (<c>Avx2.MultiplyAddAdjacent(Vector256&lt;short&gt;, Vector256&lt;short&gt;)</c>, <c>_mm256_madd_epi16</c>) widens
    /// adjacent int16 pairs into int32 lanes. Both run on the same two multiply pipes (Zen 3; one or two on Intel cores),
    /// which bound the kernel. So the values are kept to [−63, 63] (<see cref="Range"/>) and the rows prepared as
    /// q + 63 ∈ [0, 126]: a vpmaddubsw pair then sums to at most
    /// 2 × 126 × 63 = 15,876 in magnitude, and two of them (consecutive 32-byte steps) to 31,752 ≤ 32,767, so they
    /// are added in int16, exactly, before one vpmaddwd widens them: 1.5 multiplies per 32 coordinates and pair
    /// rather than 2, and no vpsignb. (The earlier kernel kept ±127 and used the sign trick, |a| · (b · sign a),
    /// which cannot be summed in int16: 3 of its 4 instructions per step and pair ran on the multiply pipes. Going
    /// further, ±44 with four steps summed in int16 (1.25 multiplies) in 1 × 4 passes, measured no faster on Zen 3: with
    /// the row's four steps in registers each column byte is loaded once per pair, and the loads then bound it as the
    /// multiplies bound this kernel, 0.75 loads per step and pair.) The
    /// caller subtracts the offset's 63 × Σ column (<see cref="RowOffset"/>). The int32 sums stay below
    /// 2048 × 32 × 126 × 63 &lt; 2³¹ up to the screen's 32,768 dimensions.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (Vector128<int>, Vector128<int>) Avx2Dot2x4(ref byte prepared, ref sbyte columns, nuint stride, nuint start, nuint end)
    {
        ref var a0 = ref prepared;
        ref var a1 = ref Unsafe.Add(ref a0, stride);
        ref var b0 = ref Unsafe.As<sbyte, byte>(ref columns);
        ref var b1 = ref Unsafe.Add(ref b0, stride);
        ref var b2 = ref Unsafe.Add(ref b1, stride);
        ref var b3 = ref Unsafe.Add(ref b2, stride);
        var ones = Vector256.Create((short)1);
        Vector256<int> s00 = default, s01 = default, s02 = default, s03 = default;
        Vector256<int> s10 = default, s11 = default, s12 = default, s13 = default;
        var k = start;
        for (; k + 64 <= end; k += 64)
        {
            var (u0, v0) = (Vector256.LoadUnsafe(ref a0, k), Vector256.LoadUnsafe(ref a0, k + 32));
            var (u1, v1) = (Vector256.LoadUnsafe(ref a1, k), Vector256.LoadUnsafe(ref a1, k + 32));
            var (y, z) = (Vector256.LoadUnsafe(ref b0, k).AsSByte(), Vector256.LoadUnsafe(ref b0, k + 32).AsSByte());
            s00 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u0, y) + Avx2.MultiplyAddAdjacent(v0, z), ones);
            s10 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u1, y) + Avx2.MultiplyAddAdjacent(v1, z), ones);
            (y, z) = (Vector256.LoadUnsafe(ref b1, k).AsSByte(), Vector256.LoadUnsafe(ref b1, k + 32).AsSByte());
            s01 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u0, y) + Avx2.MultiplyAddAdjacent(v0, z), ones);
            s11 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u1, y) + Avx2.MultiplyAddAdjacent(v1, z), ones);
            (y, z) = (Vector256.LoadUnsafe(ref b2, k).AsSByte(), Vector256.LoadUnsafe(ref b2, k + 32).AsSByte());
            s02 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u0, y) + Avx2.MultiplyAddAdjacent(v0, z), ones);
            s12 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u1, y) + Avx2.MultiplyAddAdjacent(v1, z), ones);
            (y, z) = (Vector256.LoadUnsafe(ref b3, k).AsSByte(), Vector256.LoadUnsafe(ref b3, k + 32).AsSByte());
            s03 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u0, y) + Avx2.MultiplyAddAdjacent(v0, z), ones);
            s13 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u1, y) + Avx2.MultiplyAddAdjacent(v1, z), ones);
        }
        if (k < end)
        {
            // An odd 32-byte step at the end of the segment: one vpmaddubsw per pair.
            var (u0, u1) = (Vector256.LoadUnsafe(ref a0, k), Vector256.LoadUnsafe(ref a1, k));
            var y = Vector256.LoadUnsafe(ref b0, k).AsSByte();
            s00 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u0, y), ones);
            s10 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u1, y), ones);
            y = Vector256.LoadUnsafe(ref b1, k).AsSByte();
            s01 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u0, y), ones);
            s11 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u1, y), ones);
            y = Vector256.LoadUnsafe(ref b2, k).AsSByte();
            s02 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u0, y), ones);
            s12 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u1, y), ones);
            y = Vector256.LoadUnsafe(ref b3, k).AsSByte();
            s03 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u0, y), ones);
            s13 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u1, y), ones);
        }
        return (Sum4(s00, s01, s02, s03), Sum4(s10, s11, s12, s13));
    }

    /// <summary>The four lane sums [Σa, Σb, Σc, Σd] (int32 wrap-around, exact since the totals fit). Unpacks and
    /// adds rather than vphaddd, which has no EVEX form and so could use only ymm0–15, all holding accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Sum4(Vector256<int> a, Vector256<int> b, Vector256<int> c, Vector256<int> d)
    {
        // [a0+a2, b0+b2, a1+a3, b1+b3 | same for 4..7], likewise for c, d; then [Σ₀₋₃a, Σ₀₋₃b, Σ₀₋₃c, Σ₀₋₃d | Σ₄₋₇…].
        var ab = Avx2.UnpackLow(a, b) + Avx2.UnpackHigh(a, b);
        var cd = Avx2.UnpackLow(c, d) + Avx2.UnpackHigh(c, d);
        var abcd = Avx2.UnpackLow(ab.AsInt64(), cd.AsInt64()).AsInt32() + Avx2.UnpackHigh(ab.AsInt64(), cd.AsInt64()).AsInt32();
        return abcd.GetLower() + abcd.GetUpper();
    }
}
