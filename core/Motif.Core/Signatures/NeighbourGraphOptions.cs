using System.Runtime.Intrinsics.X86;

namespace Motif.Core.Signatures;

/// <summary>The kernel that screens pairs before <see cref="NeighbourGraph"/> recomputes the candidates exactly. Every
/// kernel gives the same graph; they differ only in speed and in which processors have them.</summary>
public enum NeighbourGraphKernel
{
    /// <summary>The fastest the processor has: <see cref="Avx2"/>, else <see cref="Scalar"/>;
    /// <see cref="Float32"/> past the int8 screen's dimension limit.</summary>
    Auto,

    /// <summary>float32 SIMD dot products over all coordinates, with a rigorous rounding margin.</summary>
    Float32,

    /// <summary>int8 prefix screen, portable scalar dot products: runs everywhere, and is the reference the SIMD
    /// kernels are tested against.</summary>
    Scalar,

    /// <summary>int8 prefix screen, AVX2 (vpmaddubsw, vpmaddwd, on values in [−63, 63]): every x86-64 processor since 2013–2015.</summary>
    Avx2,
}

/// <summary>How <see cref="NeighbourGraph.Build(ReadOnlyMemory{float}, int, double, NeighbourGraphOptions, int, CancellationToken)"/>
/// and <see cref="NeighbourGraph.Append(ReadOnlyMemory{float}, NeighbourGraphOptions, int, CancellationToken)"/> screen
/// pairs. Passed per call (never process-wide), so tests running in parallel can each pick a kernel.</summary>
public sealed record NeighbourGraphOptions
{
    // int8 rows are zero-padded to a multiple of 32. The int32 accumulators of the int8 screen sum at most
    // Stride × 127 × 127 per pair (the scalar kernel; AVX2's operands are q + 63 ≤ 126 and |q| ≤ 63), below 2³¹ up to
    // this dimension with a wide margin.
    internal const int QuantizedMaxDimension = 32768;

    /// <summary>The defaults: <see cref="NeighbourGraphKernel.Auto"/>, checkpoints chosen from the data.</summary>
    public static NeighbourGraphOptions Default { get; } = new();

    /// <summary>The screen kernel; <see cref="NeighbourGraphKernel.Auto"/> by default.</summary>
    public NeighbourGraphKernel Kernel { get; init; } = NeighbourGraphKernel.Auto;

    /// <summary>Where the int8 screen checks its prefix bound (multiples of 32 below the dimension; others are
    /// ignored), or null to choose from a sample of the data. Only speed depends on them, never the graph; tests fix
    /// them to exercise the bound where they build pairs that make it tight.</summary>
    public IReadOnlyList<int>? Checkpoints { get; init; }

    /// <summary>Signatures per image, when the rows are images' wholes and details in turn (row i × parts is image i's
    /// whole): pairs that never count between images, two details or two parts of one image, are then neither
    /// computed exactly nor kept (the int8 screens do not even screen them), and the graph is meant to be read through
    /// <see cref="NeighbourGraph.FoldParts"/>, which gives the same result as from the full graph. 1 (the default): every
    /// pair.</summary>
    public int Parts { get; init; } = 1;

    /// <summary>Whether this processor can run <paramref name="kernel"/> (<see cref="NeighbourGraphKernel.Auto"/>,
    /// <see cref="NeighbourGraphKernel.Float32"/> and <see cref="NeighbourGraphKernel.Scalar"/> run everywhere).</summary>
    public static bool IsSupported(NeighbourGraphKernel kernel) => kernel switch
    {
        NeighbourGraphKernel.Auto or NeighbourGraphKernel.Float32 or NeighbourGraphKernel.Scalar => true,
        NeighbourGraphKernel.Avx2 => Avx2.IsSupported,
        _ => false,
    };

    /// <summary>The kernel that screens signatures of <paramref name="dimension"/> coordinates on this processor.</summary>
    /// <exception cref="NotSupportedException">The kernel asked for is not supported here, or is an int8 kernel and
    /// the dimension exceeds the int8 screen's limit (32,768).</exception>
    public NeighbourGraphKernel Resolve(int dimension)
    {
        if (Kernel == NeighbourGraphKernel.Auto)
        {
            // The int8 screen even in scalar form: its prefix bound drops most pairs within the first few hundred
            // coordinates, which beats float32 SIMD over all of them.
            return dimension > QuantizedMaxDimension ? NeighbourGraphKernel.Float32
                : IsSupported(NeighbourGraphKernel.Avx2) ? NeighbourGraphKernel.Avx2
                : NeighbourGraphKernel.Scalar;
        }
        if (!IsSupported(Kernel))
        {
            throw new NotSupportedException($"This processor cannot run the {Kernel} neighbour-graph kernel.");
        }
        if (Kernel != NeighbourGraphKernel.Float32 && dimension > QuantizedMaxDimension)
        {
            throw new NotSupportedException($"The int8 screen takes at most {QuantizedMaxDimension} dimensions, not {dimension}.");
        }
        return Kernel;
    }
}
