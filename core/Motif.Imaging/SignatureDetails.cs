using System.Text.Json;
using System.Text.Json.Serialization;

namespace Motif.Imaging;

/// <summary>
/// The details a version signs beside each image's whole: a <see cref="Grid"/> × <see cref="Grid"/> grid of windows,
/// each <see cref="Side"/> of the model input's side, cut from the input and enlarged back to its size (bilinear), so
/// that the network sees each at the scale a reproduction of that detail would have. An image is then as near to
/// another as the nearest of their whole ↔ whole, whole ↔ detail and detail ↔ whole signatures
/// (<c>CosineRanking.ImageDistance</c>).
/// </summary>
/// <remarks>
/// <para><b>Why.</b> A copy is often of a detail: an engraving after a figure, a photograph of a corner. Its signature
/// averages other content than the painting's. On the tiles benchmark (issue 11), ranking each image's whole against
/// the others' windows of two thirds of each side raised a trained version's mAP from 0.322 to 0.478 with the four
/// corners (2 × 2) and 0.513 with nine (3 × 3), where summing the windows into one signature gained a few hundredths.
/// Windows pooled from one forward pass's feature map gained nothing: the enlargement is what helps, so each detail
/// costs a forward pass of its own.</para>
/// <para><b>Where the windows are.</b> Window (r, c) starts at (c, r) × (1 − <see cref="Side"/>) / (<see cref="Grid"/> − 1)
/// of the side, so the grid's corners touch the input's; one window is centred. Pixels:
/// offset round(side_px × start), size max(1, round(side_px × <see cref="Side"/>)), as the engine's detail view rounds.
/// Resizing is bilinear with half-pixel centres (PyTorch's <c>interpolate(mode='bilinear', align_corners=False)</c>,
/// which clamps a source coordinate below 0 to 0).</para>
/// <para><b>Cost.</b> 1 + Grid² forward passes and signatures per image: storage, the neighbour graph's rows and its
/// build grow by that factor, and a ranking compares 2 × Grid² + 1 pairs per image pair. Windows are cut from the
/// model's input, so for a large painting a detail is seen at the input's resolution, not the file's.</para>
/// </remarks>
/// <param name="Grid">Windows per side (1 to <see cref="MaximumGrid"/>): 1 is the centre window, 2 the four corners, 3 nine.</param>
/// <param name="Side">Each window's side as a share of the input's (at least 0.1, below 1).</param>
public sealed record SignatureDetails(int Grid, double Side = SignatureDetails.DefaultSide)
{
    /// <summary>Where a checkpoint's user metadata keeps the details its version signs.</summary>
    public const string MetadataKey = "signatureDetails";

    /// <summary>Two thirds of the side, less a little: the windows of the benchmark's trial (0.65).</summary>
    public const double DefaultSide = 0.65;

    /// <summary>The largest grid: 16 details, 17 forward passes per image.</summary>
    public const int MaximumGrid = 4;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Details per image: <see cref="Grid"/>².</summary>
    [JsonIgnore]
    public int Count => Grid * Grid;

    /// <summary>Refuses a grid or side out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The grid is not 1 to <see cref="MaximumGrid"/>, or the side not in [0.1, 1).</exception>
    public SignatureDetails Validate()
    {
        if (Grid is < 1 or > MaximumGrid)
        {
            throw new ArgumentOutOfRangeException(nameof(Grid), Grid, $"A grid of details has 1 to {MaximumGrid} windows per side.");
        }
        if (!(Side is >= 0.1 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(Side), Side, "A detail's side is a share of the input's from 0.1 to below 1.");
        }
        return this;
    }

    /// <summary>The details as checkpoint metadata (<see cref="MetadataKey"/>'s value).</summary>
    public JsonElement ToJson() => JsonSerializer.SerializeToElement(this, Json);

    /// <summary>Reads <see cref="ToJson"/>'s form.</summary>
    /// <exception cref="FormatException">It is not a grid and a side in range.</exception>
    public static SignatureDetails FromJson(JsonElement element)
    {
        try
        {
            return (element.Deserialize<SignatureDetails>(Json) ?? throw new FormatException("The details are null.")).Validate();
        }
        catch (Exception e) when (e is JsonException or ArgumentOutOfRangeException)
        {
            throw new FormatException($"The signature details are not a grid and a side in range: {e.Message}", e);
        }
    }

    /// <summary>
    /// Cuts every detail of each of <paramref name="count"/> model inputs (CHW, <paramref name="channels"/> ×
    /// <paramref name="size"/> × <paramref name="size"/>) and enlarges it back to the input's size: image i's window k
    /// goes to <paramref name="windows"/>' input i × <see cref="Count"/> + k.
    /// </summary>
    /// <exception cref="ArgumentException">The spans are not <paramref name="count"/> inputs and their windows.</exception>
    public void Cut(ReadOnlySpan<float> inputs, int count, int channels, int size, Span<float> windows)
    {
        var plane = size * size;
        var values = channels * plane;
        if (inputs.Length < (long)count * values || windows.Length < (long)count * Count * values)
        {
            throw new ArgumentException($"{count} inputs of {values} values and their {Count} windows each do not fit the spans given.", nameof(windows));
        }
        var extent = Extent(size);
        // Source coordinates per output pixel, shared by every window and channel: the lower tap and its weight.
        var (taps, weights) = Taps(size, extent);
        for (var i = 0; i < count; i++)
        {
            var input = inputs.Slice(i * values, values);
            for (var k = 0; k < Count; k++)
            {
                var (top, left) = (Start(k / Grid, size), Start(k % Grid, size));
                var window = windows.Slice((i * Count + k) * values, values);
                for (var c = 0; c < channels; c++)
                {
                    var source = input.Slice(c * plane, plane);
                    var target = window.Slice(c * plane, plane);
                    for (var y = 0; y < size; y++)
                    {
                        var (y0, y1, wy) = (top + taps[y], top + Math.Min(taps[y] + 1, extent - 1), weights[y]);
                        for (var x = 0; x < size; x++)
                        {
                            var (x0, x1, wx) = (left + taps[x], left + Math.Min(taps[x] + 1, extent - 1), weights[x]);
                            var upper = source[y0 * size + x0] * (1 - wx) + source[y0 * size + x1] * wx;
                            var lower = source[y1 * size + x0] * (1 - wx) + source[y1 * size + x1] * wx;
                            target[y * size + x] = upper * (1 - wy) + lower * wy;
                        }
                    }
                }
            }
        }
    }

    /// <summary>The first pixel of a window in grid position <paramref name="index"/> along an axis of <paramref name="size"/>.</summary>
    private int Start(int index, int size)
    {
        var start = Grid == 1 ? (1 - Side) / 2 : index * (1 - Side) / (Grid - 1);
        return Math.Clamp((int)Math.Round(size * start, MidpointRounding.AwayFromZero), 0, size - Extent(size));
    }

    /// <summary>A window's side in pixels along an axis of <paramref name="size"/>: max(1, round(size × <see cref="Side"/>)).</summary>
    private int Extent(int size) => Math.Max(1, (int)Math.Round(size * Side, MidpointRounding.AwayFromZero));

    /// <summary>For each of <paramref name="size"/> output pixels, the lower source pixel of <paramref name="extent"/>
    /// and the upper one's weight: source = (out + ½) × extent / size − ½, clamped below at 0.</summary>
    private static (int[] Taps, float[] Weights) Taps(int size, int extent)
    {
        var taps = new int[size];
        var weights = new float[size];
        var scale = (double)extent / size;
        for (var o = 0; o < size; o++)
        {
            var source = Math.Max(0, (o + 0.5) * scale - 0.5);
            taps[o] = Math.Min((int)source, extent - 1);
            weights[o] = (float)(source - taps[o]);
        }
        return (taps, weights);
    }
}
