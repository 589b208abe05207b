using System.Globalization;
using System.Text;
using Motif.Storage.Blobs;

namespace Motif.Pipeline.Training;

/// <summary>One line chart: a title, axis labels and its points.</summary>
public sealed record TrainingChart(string Title, string XLabel, string YLabel, IReadOnlyList<(double X, double Y)> Points);

/// <summary>Renders a <see cref="TrainingChart"/> as a PNG: a port, because raster graphics need a native library
/// (SkiaSharp) that the pipeline, which the Functions app builds too, does not carry. Hosts that train supply one.</summary>
public interface ITrainingChartRenderer
{
    byte[] RenderPng(TrainingChart chart, int width, int height);
}

/// <summary>
/// The curves of a training run, written next to its checkpoints: the loss of every step and the validation mAP of
/// every epoch. Always as SVG, rendered here as plain text; as PNG too when the host supplies an
/// <see cref="ITrainingChartRenderer"/>.
/// </summary>
public static class TrainingCurves
{
    public const string LossSvg = "loss.svg";
    public const string ValidationMapSvg = "validation-map.svg";
    public const string LossPng = "loss.png";
    public const string ValidationMapPng = "validation-map.png";

    /// <summary>Writes both curves of <paramref name="record"/> into <paramref name="folder"/>; returns the blob names.</summary>
    public static async Task<IReadOnlyList<string>> WriteAsync(IBlobStore blobs, string folder, TrainingProgress record, ITrainingChartRenderer? png = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(record);
        var (loss, map) = Points(record);
        var written = new List<string>();
        foreach (var (svgName, pngName, chart) in new[]
                 {
                     (LossSvg, LossPng, new TrainingChart("Training loss per step", "step", "loss", loss)),
                     (ValidationMapSvg, ValidationMapPng, new TrainingChart("Validation mAP per epoch", "epoch", "mAP", map)),
                 })
        {
            await PutAsync(svgName, Encoding.UTF8.GetBytes(Svg(chart.Title, chart.XLabel, chart.YLabel, chart.Points)), "image/svg+xml").ConfigureAwait(false);
            if (png is not null)
            {
                await PutAsync(pngName, png.RenderPng(chart, 640, 400), "image/png").ConfigureAwait(false);
            }
        }
        return written;

        async Task PutAsync(string name, byte[] content, string contentType)
        {
            await blobs.PutAsync(folder + name, new MemoryStream(content), new BlobPutOptions { ContentType = contentType }, cancellationToken).ConfigureAwait(false);
            written.Add(folder + name);
        }
    }

    /// <summary>The two series: (step, loss) over every step of every epoch, and (epoch, validation mAP) from epoch 0.</summary>
    public static (IReadOnlyList<(double X, double Y)> Loss, IReadOnlyList<(double X, double Y)> ValidationMap) Points(TrainingProgress record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var loss = new List<(double, double)>();
        foreach (var epoch in record.Epochs)
        {
            var first = epoch.Steps - epoch.StepLosses.Count;
            loss.AddRange(epoch.StepLosses.Select((l, i) => ((double)(first + i + 1), (double)l)));
        }
        return (loss, [.. record.Epochs.Select(e => ((double)e.Epoch, e.ValidationMap))]);
    }

    /// <summary>A line chart with axes, four ticks per axis and a title, in a 640 × 400 SVG. Non-finite points are skipped.</summary>
    public static string Svg(string title, string xLabel, string yLabel, IReadOnlyList<(double X, double Y)> points)
    {
        const double width = 640, height = 400, left = 70, right = 20, top = 40, bottom = 50;
        var c = CultureInfo.InvariantCulture;
        var finite = points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToArray();
        var (xMin, xMax) = finite.Length == 0 ? (0.0, 1.0) : (finite.Min(p => p.X), finite.Max(p => p.X));
        var (yMin, yMax) = finite.Length == 0 ? (0.0, 1.0) : (finite.Min(p => p.Y), finite.Max(p => p.Y));
        if (xMax <= xMin)
        {
            (xMin, xMax) = (xMin - 0.5, xMax + 0.5);
        }
        if (yMax <= yMin)
        {
            (yMin, yMax) = (yMin - 0.5, yMax + 0.5);
        }
        double X(double x) => left + (x - xMin) / (xMax - xMin) * (width - left - right);
        double Y(double y) => height - bottom - (y - yMin) / (yMax - yMin) * (height - top - bottom);
        var svg = new StringBuilder();
        svg.Append(c, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(c, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append(c, $"<text x=\"{width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{Escape(title)}</text>\n");
        svg.Append(c, $"<line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{width - right}\" y2=\"{height - bottom}\" stroke=\"black\"/>\n");
        svg.Append(c, $"<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{height - bottom}\" stroke=\"black\"/>\n");
        for (var i = 0; i <= 4; i++)
        {
            var (xv, yv) = (xMin + (xMax - xMin) * i / 4, yMin + (yMax - yMin) * i / 4);
            svg.Append(c, $"<text x=\"{X(xv):0.#}\" y=\"{height - bottom + 18}\" text-anchor=\"middle\">{xv:0.###}</text>\n");
            svg.Append(c, $"<text x=\"{left - 6}\" y=\"{Y(yv) + 4:0.#}\" text-anchor=\"end\">{yv:0.####}</text>\n");
            svg.Append(c, $"<line x1=\"{left}\" y1=\"{Y(yv):0.#}\" x2=\"{width - right}\" y2=\"{Y(yv):0.#}\" stroke=\"#ddd\"/>\n");
        }
        svg.Append(c, $"<text x=\"{(left + width - right) / 2}\" y=\"{height - 10}\" text-anchor=\"middle\">{Escape(xLabel)}</text>\n");
        svg.Append(c, $"<text x=\"16\" y=\"{(top + height - bottom) / 2}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {(top + height - bottom) / 2})\">{Escape(yLabel)}</text>\n");
        if (finite.Length > 0)
        {
            svg.Append("<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"");
            svg.AppendJoin(' ', finite.Select(p => string.Create(c, $"{X(p.X):0.##},{Y(p.Y):0.##}")));
            svg.Append("\"/>\n");
            foreach (var p in finite.Length <= 60 ? finite : [])
            {
                svg.Append(c, $"<circle cx=\"{X(p.X):0.##}\" cy=\"{Y(p.Y):0.##}\" r=\"3\" fill=\"#1f77b4\"/>\n");
            }
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace(">", "&gt;", StringComparison.Ordinal);
}
