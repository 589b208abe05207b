using NetVips;
using VipsImage = NetVips.Image;

namespace Motif.Imaging;

/// <summary>A photograph of the work taken off-axis: a perspective (projective) warp.</summary>
public static partial class ImageVariants
{
    /// <summary>
    /// The picture seen at a slant: the quadrilateral whose corners are the image's own corners moved inwards by
    /// <paramref name="insets"/> is stretched back to the full rectangle (a projective warp, bilinear). The corners move
    /// inwards only, so the whole result comes from inside the picture and no empty border shows; the size is kept.
    /// </summary>
    /// <param name="image">The encoded image.</param>
    /// <param name="insets">Eight fractions in [0, 0.25]: for the top-left, top-right, bottom-right and bottom-left corners
    /// in turn, how far that corner moves inwards horizontally (of the width) and vertically (of the height).</param>
    /// <param name="quality">JPEG quality of the result.</param>
    public static byte[] Perspective(ReadOnlySpan<byte> image, ReadOnlySpan<double> insets, int quality = DefaultQuality)
    {
        if (insets.Length != 8 || !AllIn(insets, 0, 0.25))
        {
            throw new ArgumentException($"Give eight insets in [0, 0.25] (x, y of each corner, clockwise from the top left); got [{string.Join(", ", insets.ToArray())}].", nameof(insets));
        }
        var d = insets.ToArray();
        return Transform(image, nameof(image), quality, source =>
        {
            double w = source.Width - 1, h = source.Height - 1;
            // Output corner → the source point it samples (the inverse map that vips_mapim wants).
            (double X, double Y)[] to =
            [
                (d[0] * w, d[1] * h), (w - d[2] * w, d[3] * h), (w - d[4] * w, h - d[5] * h), (d[6] * w, h - d[7] * h),
            ];
            (double X, double Y)[] from = [(0, 0), (w, 0), (w, h), (0, h)];
            var m = Homography(from, to);
            using var xyz = VipsImage.Xyz(source.Width, source.Height);
            using var x = xyz[0];
            using var y = xyz[1];
            using var denominator = Plane(x, y, m[6], m[7], 1);
            using var sourceX = Plane(x, y, m[0], m[1], m[2]);
            using var sourceY = Plane(x, y, m[3], m[4], m[5]);
            using var mappedX = sourceX.Divide(denominator);
            using var mappedY = sourceY.Divide(denominator);
            using var index = mappedX.Bandjoin(mappedY);
            using var warped = source.Mapim(index, interpolate: Interpolate.NewFromName("bilinear"));
            return warped.Cast(Enums.BandFormat.Uchar);
        });
    }

    /// <summary>a·x + b·y + c as a float image.</summary>
    private static VipsImage Plane(VipsImage x, VipsImage y, double a, double b, double c)
    {
        using var ax = x.Linear([a], [c]);
        using var by = y.Linear([b], [0.0]);
        return ax.Add(by);
    }

    /// <summary>
    /// The 3 × 3 projective map (row-major, last entry 1) that takes the four <paramref name="from"/> points to the four
    /// <paramref name="to"/> points: the eight linear equations of the direct linear transform (Hartley &amp; Zisserman,
    /// <i>Multiple View Geometry</i>, 2nd ed., §4.1) solved by Gaussian elimination with partial pivoting.
    /// </summary>
    internal static double[] Homography((double X, double Y)[] from, (double X, double Y)[] to)
    {
        var a = new double[8, 9];
        for (var i = 0; i < 4; i++)
        {
            var (x, y) = from[i];
            var (u, v) = to[i];
            double[] rowU = [x, y, 1, 0, 0, 0, -u * x, -u * y, u];
            double[] rowV = [0, 0, 0, x, y, 1, -v * x, -v * y, v];
            for (var j = 0; j < 9; j++)
            {
                a[2 * i, j] = rowU[j];
                a[2 * i + 1, j] = rowV[j];
            }
        }
        for (var col = 0; col < 8; col++)
        {
            var pivot = col;
            for (var r = col + 1; r < 8; r++)
            {
                if (Math.Abs(a[r, col]) > Math.Abs(a[pivot, col]))
                {
                    pivot = r;
                }
            }
            if (Math.Abs(a[pivot, col]) < 1e-12)
            {
                throw new ArgumentException("The corners do not make a quadrilateral (three of them are in line).");
            }
            for (var j = 0; j < 9; j++)
            {
                (a[col, j], a[pivot, j]) = (a[pivot, j], a[col, j]);
            }
            for (var r = 0; r < 8; r++)
            {
                if (r == col)
                {
                    continue;
                }
                var f = a[r, col] / a[col, col];
                for (var j = col; j < 9; j++)
                {
                    a[r, j] -= f * a[col, j];
                }
            }
        }
        var h = new double[9];
        for (var i = 0; i < 8; i++)
        {
            h[i] = a[i, 8] / a[i, i];
        }
        h[8] = 1;
        return h;
    }
}
