using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Motif.Imaging;

/// <summary>
/// The model input from decoded, upright 8-bit RGB pixels: torchvision's <c>Resize(ResizeTo)</c> +
/// <c>CenterCrop(InputSize)</c> (or a letterbox), <c>ToTensor</c> and <c>Normalize</c>, in one pass that computes only
/// the pixels that reach the output.
/// </summary>
/// <remarks>
/// The resize is PIL's, because torchvision resizes a PIL image with <c>Image.resize(size, BILINEAR)</c> and that is
/// the arithmetic the pretrained weights were trained on: Pillow 9.4's <c>src/libImaging/Resample.c</c>
/// (<c>precompute_coeffs</c>, <c>normalize_coeffs_8bpc</c>, <c>ImagingResampleHorizontal_8bpc</c>,
/// <c>ImagingResampleVertical_8bpc</c>, <c>ImagingResampleInner</c>): a triangle filter stretched over the scale
/// factor when shrinking (antialiased), weights in 22-bit fixed point, a horizontal pass rounded to 8 bits over the
/// source rows the vertical pass needs, then the vertical pass rounded to 8 bits. Every output pixel depends only on
/// its own row's and column's weights, so computing the crop window alone gives the same bytes as resizing the whole
/// image and cropping it (a test compares the two).
///
/// It runs here rather than in libvips because libvips' version is not PIL's (vips_reduce centres and rounds its
/// kernel differently: 0.53 levels mean difference from torchvision's tensors where this is PIL's own rounding), and
/// because each libvips operation costs a GObject construction, a region pipeline and a buffer: resize, copy to
/// memory, rotate, crop and render were about a third of Motif's CPU time per image (perf, 2026-11-30).
/// </remarks>
internal static class ModelInput
{
    // Resample.c: "#define PRECISION_BITS (32 - 8 - 2)": 8 bits of pixel and 2 of headroom for the weights' sum.
    private const int PrecisionBits = 32 - 8 - 2;
    private const int Half = 1 << (PrecisionBits - 1);

    /// <summary>Writes <see cref="PreprocessSpec.ValuesPerImage"/> floats, CHW, from <paramref name="rgb"/> (width × height × 3, row-major).</summary>
    internal static void Render(ReadOnlySpan<byte> rgb, int width, int height, PreprocessSpec spec, Span<float> destination) =>
        Render(rgb, width, height, spec, destination, Kernel);

    /// <summary>The kernels this machine runs: vector lanes where the JIT accelerates 256-bit ones (AVX2 on x64; every
    /// CPU this project has met has it; the horizontal pass then uses 128-bit lanes), else the scalar reference.</summary>
    internal static ResizeKernel Kernel { get; } = Vector256.IsHardwareAccelerated ? ResizeKernel.Vector256 : ResizeKernel.Scalar;

    /// <summary><see cref="Render(ReadOnlySpan{byte}, int, int, PreprocessSpec, Span{float})"/> with a chosen kernel (tests run both).</summary>
    internal static void Render(ReadOnlySpan<byte> rgb, int width, int height, PreprocessSpec spec, Span<float> destination, ResizeKernel kernel)
    {
        if (rgb.Length != checked(3 * width * height))
        {
            throw new InvalidOperationException($"libvips rendered {rgb.Length} bytes; a {width}×{height} RGB image has {3L * width * height}.");
        }
        var size = spec.InputSize;
        var crop = spec.Resize == ResizeMode.ShortSideCentreCrop;
        var (resizedWidth, resizedHeight) = ImageCodec.ResizedSize(width, height, crop ? spec.ResizeTo : size, crop);

        // The window of the resized image that lands in the output, and where it lands. A crop's window is the
        // centre square, at torchvision's CenterCrop offsets: int(round((resized − size) / 2.0)), Python's round
        // (half to even). A letterbox's window is the whole resized image, centred, with the rest padding.
        int left, top, columns, rows, outLeft, outTop;
        if (crop)
        {
            (left, top) = ((int)Math.Round((resizedWidth - size) / 2.0, MidpointRounding.ToEven), (int)Math.Round((resizedHeight - size) / 2.0, MidpointRounding.ToEven));
            (columns, rows, outLeft, outTop) = (size, size, 0, 0);
        }
        else
        {
            (left, top) = (0, 0);
            (columns, rows, outLeft, outTop) = (resizedWidth, resizedHeight, (size - resizedWidth) / 2, (size - resizedHeight) / 2);
        }

        var horizontal = Axis.Create(width, resizedWidth, left, columns);
        var vertical = Axis.Create(height, resizedHeight, top, rows);
        var firstRow = vertical.FirstSource;
        var sourceRows = vertical.EndSource - firstRow;
        // The horizontal pass's output, one plane per channel (values 0..255, as 16 bits so that the vertical
        // pass can widen them to 32-bit lanes in one instruction).
        var planeLength = sourceRows * columns;
        var across = ArrayPool<ushort>.Shared.Rent(3 * planeLength);
        try
        {
            for (var y = 0; y < sourceRows; y++)
            {
                if (kernel == ResizeKernel.Vector256)
                {
                    HorizontalRowVector128(rgb, 3 * width * (firstRow + y), horizontal, across.AsSpan(0, 3 * planeLength), planeLength, y * columns);
                }
                else
                {
                    HorizontalRow(rgb.Slice(3 * width * (firstRow + y), 3 * width), horizontal, across.AsSpan(0, 3 * planeLength), planeLength, y * columns);
                }
            }
            var plane = size * size;
            if (columns != size || rows != size)
            {
                destination.Clear(); // a letterbox's margins: the mean, 0 once normalised
            }
            ReadOnlySpan<float> mean = [spec.Mean.Item1, spec.Mean.Item2, spec.Mean.Item3];
            ReadOnlySpan<float> std = [spec.Std.Item1, spec.Std.Item2, spec.Std.Item3];
            for (var c = 0; c < 3; c++)
            {
                // Output channel c is source channel c for RGB models, 2 − c for BGR ones; mean and std are given
                // in the output's order.
                var source = across.AsSpan((spec.Channels == ChannelOrder.Rgb ? c : 2 - c) * planeLength, planeLength);
                for (var y = 0; y < rows; y++)
                {
                    var output = destination.Slice(c * plane + (outTop + y) * size + outLeft, columns);
                    var k = vertical.Weights.AsSpan(y * vertical.KernelSize, vertical.Taps[y]);
                    var first = (vertical.Start[y] - firstRow) * columns;
                    if (kernel == ResizeKernel.Vector256)
                    {
                        VerticalRowVector256(source, columns, first, k, mean[c], std[c], output);
                    }
                    else
                    {
                        VerticalRowScalar(source, columns, first, k, mean[c], std[c], output, 0);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<ushort>.Shared.Return(across);
        }
    }

    /// <summary>One row of the horizontal pass (ImagingResampleHorizontal_8bpc), for the window's columns, into
    /// three planes of <paramref name="planeLength"/> at <paramref name="offset"/>.</summary>
    private static void HorizontalRow(ReadOnlySpan<byte> source, Axis axis, Span<ushort> planes, int planeLength, int offset)
    {
        var red = planes.Slice(offset, axis.Start.Length);
        var green = planes.Slice(planeLength + offset, axis.Start.Length);
        var blue = planes.Slice(2 * planeLength + offset, axis.Start.Length);
        var weights = axis.Weights.AsSpan();
        for (var x = 0; x < red.Length; x++)
        {
            var (start, taps) = (axis.Start[x], axis.Taps[x]);
            var k = weights.Slice(x * axis.KernelSize, taps);
            var pixels = source.Slice(3 * start, 3 * taps);
            int s0 = Half, s1 = Half, s2 = Half;
            for (var t = 0; t < k.Length; t++)
            {
                var w = k[t];
                s0 += pixels[3 * t] * w;
                s1 += pixels[3 * t + 1] * w;
                s2 += pixels[3 * t + 2] * w;
            }
            red[x] = Clip8(s0);
            green[x] = Clip8(s1);
            blue[x] = Clip8(s2);
        }
    }

    /// <summary>
    /// <see cref="HorizontalRow"/> with the three channels of a pixel in the lanes of one 128-bit vector: per tap, the
    /// pixel's 3 bytes and the next one (4 bytes, one unaligned load) widened to 32-bit lanes and multiplied by the
    /// tap's weight; the fourth lane is never stored. The same integer sums, and the same saturation as
    /// <see cref="VerticalRowVector256"/>, so the same bytes. The row starts at <paramref name="rowOffset"/> of the
    /// whole image <paramref name="rgb"/>, so that the extra byte of a row's last pixel is the next row's first; an
    /// output whose last tap is the image's last pixel, which has no next byte, goes to the scalar sum.
    /// </summary>
    private static void HorizontalRowVector128(ReadOnlySpan<byte> rgb, int rowOffset, Axis axis, Span<ushort> planes, int planeLength, int offset)
    {
        var count = axis.Start.Length;
        var red = planes.Slice(offset, count);
        var green = planes.Slice(planeLength + offset, count);
        var blue = planes.Slice(2 * planeLength + offset, count);
        var weights = axis.Weights.AsSpan();
        var (half, zero, max) = (Vector128.Create(Half), Vector128<int>.Zero, Vector128.Create(255));
        ref var image = ref MemoryMarshal.GetReference(rgb);
        for (var x = 0; x < count; x++)
        {
            var (start, taps) = (axis.Start[x], axis.Taps[x]);
            var k = weights.Slice(x * axis.KernelSize, taps);
            var first = rowOffset + 3 * start;
            // Every load reads rgb[first + 3t .. first + 3t + 3] for t < taps: inside the image when this holds.
            if (first + 3 * taps + 1 > rgb.Length)
            {
                int s0 = Half, s1 = Half, s2 = Half;
                var pixels = rgb.Slice(first, 3 * taps);
                for (var t = 0; t < k.Length; t++)
                {
                    s0 += pixels[3 * t] * k[t];
                    s1 += pixels[3 * t + 1] * k[t];
                    s2 += pixels[3 * t + 2] * k[t];
                }
                (red[x], green[x], blue[x]) = (Clip8(s0), Clip8(s1), Clip8(s2));
                continue;
            }
            var sum = half;
            for (var t = 0; t < k.Length; t++)
            {
                var four = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref image, first + 3 * t));
                var lanes = Vector128.WidenLower(Vector128.WidenLower(Vector128.CreateScalarUnsafe(four).AsByte()));
                sum += lanes.AsInt32() * Vector128.Create(k[t]);
            }
            var bytes = Vector128.Min(Vector128.Max(Vector128.ShiftRightArithmetic(sum, PrecisionBits), zero), max);
            (red[x], green[x], blue[x]) = ((ushort)bytes.GetElement(0), (ushort)bytes.GetElement(1), (ushort)bytes.GetElement(2));
        }
    }

    /// <summary>
    /// One output row of one channel of the vertical pass (ImagingResampleVertical_8bpc), normalised:
    /// (clip8(Σ weight × pixel) − mean) / std, from column <paramref name="from"/> on. The reference kernel; the
    /// vector one must give the same floats (ModelInputTests compares them).
    /// </summary>
    private static void VerticalRowScalar(ReadOnlySpan<ushort> plane, int columns, int first, ReadOnlySpan<int> k, float mean, float std, Span<float> output, int from)
    {
        for (var x = from; x < output.Length; x++)
        {
            var sum = Half;
            for (var t = 0; t < k.Length; t++)
            {
                sum += plane[first + t * columns + x] * k[t];
            }
            output[x] = (Clip8(sum) - mean) / std;
        }
    }

    /// <summary>
    /// <see cref="VerticalRowScalar"/> sixteen columns at a time in 256-bit lanes: the same integer sums (exact in
    /// any order), the same saturation (an arithmetic shift then a clamp to 0..255 is clip8) and the same single-
    /// precision subtraction and division, so the same floats; the last columns (fewer than 16) go to the scalar kernel.
    /// </summary>
    private static void VerticalRowVector256(ReadOnlySpan<ushort> plane, int columns, int first, ReadOnlySpan<int> k, float mean, float std, Span<float> output)
    {
        var (half, zero, max) = (Vector256.Create(Half), Vector256<int>.Zero, Vector256.Create(255));
        var (meanLanes, stdLanes) = (Vector256.Create(mean), Vector256.Create(std));
        ref var origin = ref MemoryMarshal.GetReference(plane);
        ref var target = ref MemoryMarshal.GetReference(output);
        var x = 0;
        // Every load below reads plane[first + t × columns + x .. + 15] with x + 16 ≤ columns and t < taps, inside the
        // plane, because the axis's source rows were sized to hold the taps of every output row.
        if (plane.Length < first + (k.Length - 1) * columns + output.Length)
        {
            throw new InvalidOperationException("the vertical taps reach past the horizontal pass");
        }
        for (; x + 2 * Vector256<int>.Count <= output.Length; x += 2 * Vector256<int>.Count)
        {
            var (low, high) = (half, half);
            for (var t = 0; t < k.Length; t++)
            {
                var weight = Vector256.Create(k[t]);
                var (l, h) = Vector256.Widen(Vector256.LoadUnsafe(ref origin, (nuint)(first + t * columns + x)));
                low += l.AsInt32() * weight;
                high += h.AsInt32() * weight;
            }
            var lowBytes = Vector256.ConvertToSingle(Vector256.Min(Vector256.Max(Vector256.ShiftRightArithmetic(low, PrecisionBits), zero), max));
            var highBytes = Vector256.ConvertToSingle(Vector256.Min(Vector256.Max(Vector256.ShiftRightArithmetic(high, PrecisionBits), zero), max));
            ((lowBytes - meanLanes) / stdLanes).StoreUnsafe(ref target, (nuint)x);
            ((highBytes - meanLanes) / stdLanes).StoreUnsafe(ref target, (nuint)(x + Vector256<int>.Count));
        }
        VerticalRowScalar(plane, columns, first, k, mean, std, output, x);
    }

    // Resample.c's clip8: the fixed-point sum back to a byte, saturating.
    private static ushort Clip8(int sum) =>
        sum >= (1 << PrecisionBits) << 8 ? (ushort)255 : sum <= 0 ? (ushort)0 : (ushort)(sum >> PrecisionBits);

    /// <summary>
    /// PIL's resampling weights along one axis (precompute_coeffs with the bilinear filter, then
    /// normalize_coeffs_8bpc), for outputs <c>from .. from + count − 1</c> of a resize to <c>outSize</c>.
    /// </summary>
    private sealed class Axis
    {
        /// <summary>Per output: the first source pixel it reads.</summary>
        public required int[] Start { get; init; }

        /// <summary>Per output: how many source pixels it reads.</summary>
        public required int[] Taps { get; init; }

        /// <summary>Per output, <see cref="KernelSize"/> fixed-point weights (the first <see cref="Taps"/> used).</summary>
        public required int[] Weights { get; init; }

        public required int KernelSize { get; init; }

        /// <summary>The first source pixel any output reads, and one past the last.</summary>
        public int FirstSource => Start[0];

        public int EndSource => Start[^1] + Taps[^1];

        public static Axis Create(int inSize, int outSize, int from, int count)
        {
            // precompute_coeffs(inSize, in0 = 0, in1 = inSize, outSize, &bilinear, ...), in the same double arithmetic.
            var scale = (double)inSize / outSize;
            var filterScale = Math.Max(scale, 1.0);
            var support = 1.0 * filterScale; // bilinear's support is 1
            var kernelSize = (int)Math.Ceiling(support) * 2 + 1;
            var start = new int[count];
            var taps = new int[count];
            var weights = new int[count * kernelSize];
            Span<double> k = stackalloc double[kernelSize];
            for (var i = 0; i < count; i++)
            {
                var center = (from + i + 0.5) * scale;
                var ss = 1.0 / filterScale;
                var xmin = Math.Max(0, (int)(center - support + 0.5));
                var xmax = Math.Min(inSize, (int)(center + support + 0.5)) - xmin;
                var ww = 0.0;
                for (var x = 0; x < xmax; x++)
                {
                    var w = Triangle((x + xmin - center + 0.5) * ss);
                    k[x] = w;
                    ww += w;
                }
                for (var x = 0; x < xmax; x++)
                {
                    var w = ww != 0.0 ? k[x] / ww : k[x];
                    // normalize_coeffs_8bpc: round half away from zero into PRECISION_BITS of fraction.
                    weights[i * kernelSize + x] = w < 0 ? (int)(-0.5 + w * (1 << PrecisionBits)) : (int)(0.5 + w * (1 << PrecisionBits));
                }
                (start[i], taps[i]) = (xmin, xmax);
            }
            return new Axis { Start = start, Taps = taps, Weights = weights, KernelSize = kernelSize };
        }

        // Resample.c's bilinear_filter.
        private static double Triangle(double x)
        {
            x = Math.Abs(x);
            return x < 1.0 ? 1.0 - x : 0.0;
        }
    }
}

/// <summary>The kernels of <see cref="ModelInput"/>'s vertical pass.</summary>
internal enum ResizeKernel { Scalar, Vector256 }
