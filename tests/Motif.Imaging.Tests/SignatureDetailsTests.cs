using System.Text.Json;

namespace Motif.Imaging.Tests;

/// <summary><see cref="SignatureDetails"/>: where its windows are, how they are enlarged, and its metadata.</summary>
public sealed class SignatureDetailsTests
{
    private const int Size = 10;

    /// <summary>Two inputs of three channels whose values are linear in x and y (value = x + 100 y + 1000 c + 5000 i):
    /// bilinear enlargement reproduces a linear ramp exactly away from the clamped first and last pixels.</summary>
    private static float[] Ramps()
    {
        var inputs = new float[2 * 3 * Size * Size];
        for (var i = 0; i < 2; i++)
        {
            for (var c = 0; c < 3; c++)
            {
                for (var y = 0; y < Size; y++)
                {
                    for (var x = 0; x < Size; x++)
                    {
                        inputs[((i * 3 + c) * Size + y) * Size + x] = x + 100 * y + 1000 * c + 5000 * i;
                    }
                }
            }
        }
        return inputs;
    }

    [Theory]
    // grid, side, window k → (top, left) in pixels, extent: round(10 × side)
    [InlineData(1, 0.5, 0, 3, 3, 5)]      // the centre: round(10 × 0.25) = 3 (half away from zero)
    [InlineData(2, 0.6, 0, 0, 0, 6)]      // the corners: starts 0 and round(10 × 0.4) = 4
    [InlineData(2, 0.6, 1, 0, 4, 6)]
    [InlineData(2, 0.6, 2, 4, 0, 6)]
    [InlineData(2, 0.6, 3, 4, 4, 6)]
    [InlineData(3, 0.65, 4, 2, 2, 7)]     // nine: the middle one starts at round(10 × 0.175) = 2
    [InlineData(3, 0.65, 8, 3, 3, 7)]     // the last one ends at the edge: 10 − 7
    public void Each_window_is_its_part_of_the_input_enlarged_bilinearly_to_the_input_s_size(int grid, double side, int k, int top, int left, int extent)
    {
        var details = new SignatureDetails(grid, side).Validate();
        var inputs = Ramps();
        var windows = new float[2 * details.Count * 3 * Size * Size];
        details.Cut(inputs, 2, 3, Size, windows);

        var scale = (double)extent / Size;
        for (var i = 0; i < 2; i++)
        {
            for (var c = 0; c < 3; c++)
            {
                var plane = windows.AsSpan(((i * details.Count + k) * 3 + c) * Size * Size, Size * Size);
                for (var y = 1; y < Size - 1; y++)
                {
                    for (var x = 1; x < Size - 1; x++)
                    {
                        // Half-pixel centres: source = (out + ½) × extent / size − ½, inside the window here.
                        var (sx, sy) = (left + (x + 0.5) * scale - 0.5, top + (y + 0.5) * scale - 0.5);
                        Assert.Equal(sx + 100 * sy + 1000 * c + 5000 * i, plane[y * Size + x], tolerance: 0.01);
                    }
                }
                // The first pixel clamps to the window's first source pixel; the last to its last.
                Assert.Equal(left + 100 * top + 1000 * c + 5000 * i, plane[0], tolerance: 0.01);
                Assert.Equal(left + extent - 1 + 100 * (top + extent - 1) + 1000 * c + 5000 * i, plane[^1], tolerance: 0.01);
            }
        }
    }

    [Fact]
    public void Refuses_grids_and_sides_out_of_range_and_spans_too_small()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SignatureDetails(0).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new SignatureDetails(SignatureDetails.MaximumGrid + 1).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new SignatureDetails(2, 1).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new SignatureDetails(2, 0.05).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new SignatureDetails(2, double.NaN).Validate());
        Assert.Throws<ArgumentException>(() => new SignatureDetails(2).Cut(new float[3 * Size * Size], 1, 3, Size, new float[3 * 3 * Size * Size]));
    }

    [Fact]
    public void Round_trips_through_checkpoint_metadata_and_refuses_damaged_details()
    {
        var details = new SignatureDetails(3, 0.7);
        var json = details.ToJson();
        Assert.Equal("""{"grid":3,"side":0.7}""", json.GetRawText());
        Assert.Equal(details, SignatureDetails.FromJson(json));
        Assert.Equal(9, details.Count);

        Assert.Throws<FormatException>(() => SignatureDetails.FromJson(JsonDocument.Parse("""{"grid":0,"side":0.65}""").RootElement));
        Assert.Throws<FormatException>(() => SignatureDetails.FromJson(JsonDocument.Parse("""{"grid":"two"}""").RootElement));
        Assert.Throws<FormatException>(() => SignatureDetails.FromJson(JsonDocument.Parse("null").RootElement));
    }
}
