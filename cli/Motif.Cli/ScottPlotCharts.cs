using Motif.Pipeline.Training;

namespace Motif.Cli;

/// <summary>
/// The training curves as PNG through ScottPlot 5 (SkiaSharp underneath; its Linux "NoDependencies" native library
/// renders headless, with no X server or fontconfig set-up, on Debian 12).
/// </summary>
internal sealed class ScottPlotCharts : ITrainingChartRenderer
{
    public byte[] RenderPng(TrainingChart chart, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(chart);
        var plot = new ScottPlot.Plot();
        var points = chart.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToArray();
        if (points.Length > 0)
        {
            var line = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
            // Markers only while they stay readable; a loss per step over many steps is a line.
            line.MarkerSize = points.Length <= 60 ? 5 : 0;
        }
        plot.Title(chart.Title);
        plot.XLabel(chart.XLabel);
        plot.YLabel(chart.YLabel);
        return plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
    }
}
