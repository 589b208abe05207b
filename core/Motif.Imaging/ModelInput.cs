using System.Buffers;

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
    internal static void Render(ReadOnlySpan<byte> rgb, int width, int height, PreprocessSpec spec, Span<float> destination)
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
        var stride = 3 * columns;
        var firstRow = vertical.FirstSource;
        var sourceRows = vertical.EndSource - firstRow;
        var pool = ArrayPool<byte>.Shared;
        var across = pool.Rent(sourceRows * stride);
        var resized = pool.Rent(rows * stride);
        var sums = ArrayPool<int>.Shared.Rent(stride);
        try
        {
            for (var y = 0; y < sourceRows; y++)
            {
                HorizontalRow(rgb.Slice(3 * width * (firstRow + y), 3 * width), horizontal, across.AsSpan(y * stride, stride));
            }
            for (var y = 0; y < rows; y++)
            {
                VerticalRow(across, stride, vertical, y, firstRow, sums.AsSpan(0, stride), resized.AsSpan(y * stride, stride));
            }
            Normalise(resized.AsSpan(0, rows * stride), columns, rows, outLeft, outTop, spec, destination);
        }
        finally
        {
            pool.Return(across);
            pool.Return(resized);
            ArrayPool<int>.Shared.Return(sums);
        }
    }

    /// <summary>One output row of the horizontal pass (ImagingResampleHorizontal_8bpc), for the window's columns.</summary>
    private static void HorizontalRow(ReadOnlySpan<byte> source, Axis axis, Span<byte> output)
    {
        var weights = axis.Weights.AsSpan();
        for (var x = 0; x < axis.Start.Length; x++)
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
            output[3 * x] = Clip8(s0);
            output[3 * x + 1] = Clip8(s1);
            output[3 * x + 2] = Clip8(s2);
        }
    }

    /// <summary>
    /// Output row <paramref name="y"/> of the vertical pass (ImagingResampleVertical_8bpc): the same sums as PIL's,
    /// taken tap by tap across the whole row instead of pixel by pixel (integer addition is exact in any order).
    /// </summary>
    private static void VerticalRow(ReadOnlySpan<byte> across, int stride, Axis axis, int y, int firstRow, Span<int> sums, Span<byte> output)
    {
        sums.Fill(Half);
        var k = axis.Weights.AsSpan(y * axis.KernelSize, axis.Taps[y]);
        var start = axis.Start[y] - firstRow;
        for (var t = 0; t < k.Length; t++)
        {
            var w = k[t];
            var row = across.Slice((start + t) * stride, stride);
            for (var i = 0; i < row.Length; i++)
            {
                sums[i] += row[i] * w;
            }
        }
        for (var i = 0; i < output.Length; i++)
        {
            output[i] = Clip8(sums[i]);
        }
    }

    // Resample.c's clip8: the fixed-point sum back to a byte, saturating.
    private static byte Clip8(int sum) =>
        sum >= (1 << PrecisionBits) << 8 ? (byte)255 : sum <= 0 ? (byte)0 : (byte)(sum >> PrecisionBits);

    /// <summary>HWC bytes of the window → CHW floats: (pixel − mean[c]) / std[c], channels reordered for BGR models;
    /// outside the window (a letterbox's margins) the mean itself, i.e. 0.</summary>
    private static void Normalise(ReadOnlySpan<byte> window, int columns, int rows, int outLeft, int outTop, PreprocessSpec spec, Span<float> destination)
    {
        var size = spec.InputSize;
        var plane = size * size;
        ReadOnlySpan<float> mean = [spec.Mean.Item1, spec.Mean.Item2, spec.Mean.Item3];
        ReadOnlySpan<float> std = [spec.Std.Item1, spec.Std.Item2, spec.Std.Item3];
        if (columns != size || rows != size)
        {
            destination.Clear();
        }
        for (var c = 0; c < 3; c++)
        {
            var source = spec.Channels == ChannelOrder.Rgb ? c : 2 - c;
            var (m, s) = (mean[c], std[c]);
            for (var y = 0; y < rows; y++)
            {
                var output = destination.Slice(c * plane + (outTop + y) * size + outLeft, columns);
                var input = window.Slice(3 * columns * y, 3 * columns);
                for (var x = 0; x < output.Length; x++)
                {
                    output[x] = (input[3 * x + source] - m) / s;
                }
            }
        }
    }

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
