using System.Diagnostics;
using Motif.Imaging;

namespace Motif.Bench;

/// <summary>
/// Decode + preprocess to a 224×224 float CHW tensor (ImageNet normalisation, resize 256 + centre crop 224)
/// of 2000×1500 JPEGs made from real photographs, in images/s, with 1, 2, 4, … threads up to
/// <c>--threads</c> (default 2, this machine's cores; a GPU machine's decode must scale to its cores); bytes are in
/// memory on both sides. Anchors, same run, same inputs: torchvision's PIL pipeline (what the research code does) and
/// PIL with draft() (JPEG DCT scaling, the same trick as libvips' shrink-on-load). A second table does the same for
/// intake's derivative step (<c>IngestService</c>: a 1024 px display JPEG at quality 90 from the upload, then a 256 px
/// thumbnail at quality 80 from that), against PIL's draft + thumbnail + save.
/// </summary>
/// <remarks>
/// Beside wall-clock images/s, each row has images per CPU-second: on a machine shared with other builds the wall
/// clock swings 2× between runs, while the CPU time a pipeline used barely moves. Motif's is this process's
/// <see cref="Process.TotalProcessorTime"/> across a pass (GC and runtime threads included); the anchor's is the sum
/// of <c>time.process_time()</c> measured inside each one-thread pool worker. Both are medians of the passes.
/// </remarks>
internal static class ImagingBench
{
    private const int Passes = 5;

    /// <param name="root">The repository.</param>
    /// <param name="maxThreads">The most threads measured.</param>
    /// <param name="python">The Python that runs the anchor (Debian's here; the CUDA image's own elsewhere).</param>
    public static void Run(string root, int maxThreads = 2, string python = "/usr/bin/python3")
    {
        // Four images per thread at the most threads, so that every thread has work to the end of a pass.
        var images = Math.Max(32, 4 * maxThreads);
        var inputs = Path.Combine(root, ".cache", "bench", images == 32 ? "jpeg-2000x1500" : $"jpeg-2000x1500-{images}");
        var anchor = Path.Combine(root, "bench", "anchors", "imaging_anchor.py");
        if (!Directory.Exists(inputs) || Directory.GetFiles(inputs, "*.jpg").Length != images)
        {
            // The anchor's tool (PIL) makes the inputs; the images themselves are JPEG, read the same by both.
            _ = Repository.Python(python, null, anchor, "make-inputs", Path.Combine(root, ".cache", "skimage-data"), inputs, images.ToString());
        }
        var bytes = Directory.GetFiles(inputs, "*.jpg").Order(StringComparer.Ordinal).Select(p => (ReadOnlyMemory<byte>)File.ReadAllBytes(p)).ToArray();
        var spec = PreprocessSpec.ImageNet(224);
        var buffer = new float[bytes.Length * spec.ValuesPerImage];

        // libvips' own thread pool is off (MotifProcess, as in every host): parallelism comes from the batch, one image per thread.
        // IngestService's defaults (what motif run uses): the derivative and thumbnail sides.
        var intake = new Motif.Pipeline.IngestOptions { ModelVersion = "bench" };
        var rows = new List<Row>();
        var derivativeRows = new List<Row>();
        for (var threads = 1; threads <= maxThreads; threads = threads == maxThreads ? maxThreads + 1 : Math.Min(2 * threads, maxThreads))
        {
            var pil = Repository.Python(python, Repository.HugePages, anchor, "run", inputs, threads.ToString(), Passes.ToString());
            var motif = Measure(bytes.Length, () =>
            {
                var results = ImageCodec.PreprocessBatch(bytes, spec, buffer, threads);
                if (results.Any(r => !r.Succeeded))
                {
                    throw new InvalidOperationException("a benchmark image was rejected");
                }
            });
            var torchvision = Anchor(pil, "torchvision");
            rows.Add(new("torchvision, PIL (anchor)", threads, torchvision, torchvision));
            rows.Add(new("PIL with draft()", threads, Anchor(pil, "pil_draft"), torchvision));
            rows.Add(new("Motif, libvips shrink-on-load", threads, motif, torchvision));

            // What IngestService.IngestAsync calls for an accepted upload, minus Validate (its full decode has no
            // counterpart in the anchor): the display derivative from the upload, the thumbnail from the derivative.
            var derivatives = Measure(bytes.Length, () => Parallel.For(0, bytes.Length, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
            {
                var display = ImageCodec.Derivative(bytes[i].Span, intake.DerivativeSide, quality: 90);
                _ = ImageCodec.Derivative(display, intake.ThumbnailSide, quality: 80);
            }));
            var pilDerivatives = Anchor(pil, "pil_derivatives");
            derivativeRows.Add(new("PIL draft + thumbnail (anchor)", threads, pilDerivatives, pilDerivatives));
            derivativeRows.Add(new("Motif, libvips vips_thumbnail", threads, derivatives, pilDerivatives));
        }

        Console.WriteLine($"Decode + preprocess to 224² float CHW: {bytes.Length} JPEGs 2000×1500 (q90, real photos), median of {Passes} passes");
        Print(rows);
        // The target is PIL with draft(), the same shortcut (DCT scaling) as Motif's: say the ratio to it outright.
        foreach (var threads in rows.Select(r => r.Threads).Distinct())
        {
            var (draft, motif) = (rows.Single(r => r.Threads == threads && r.Pipeline.StartsWith("PIL", StringComparison.Ordinal)).Rate,
                                  rows.Single(r => r.Threads == threads && r.Pipeline.StartsWith("Motif", StringComparison.Ordinal)).Rate);
            Console.WriteLine($"Motif ÷ PIL with draft(), {threads} thread(s): {motif.Wall / draft.Wall:0.00}× wall clock, {motif.Cpu / draft.Cpu:0.00}× per CPU-second");
        }
        Console.WriteLine();
        Console.WriteLine($"Intake's derivative step: display JPEG ≤1024 px q90 from the upload, then thumbnail ≤256 px q80 from it; same {bytes.Length} JPEGs, median of {Passes} passes");
        Print(derivativeRows);
    }

    /// <summary>Images/s on the wall clock and per CPU-second of this process, each the median of <see cref="Passes"/> passes after a warm-up.</summary>
    /// <remarks>
    /// The warm-up lasts until a whole pass compiles no method. Tiered compilation recompiles hot methods in the
    /// background some time after their 30th call, and that JIT time counts in this process's CPU time, a cost a
    /// worker signing thousands of images pays once (perf on 2026-11-30: a tenth of the samples in the first
    /// seconds of Motif's passes were the JIT's thread; under 1 % once warm). The anchor's Python has no JIT.
    /// </remarks>
    private static Rate Measure(int images, Action pass)
    {
        pass();
        for (var warmUp = 0; warmUp < 10; warmUp++)
        {
            var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
            pass();
            if (System.Runtime.JitInfo.GetCompiledMethodCount() == compiled)
            {
                break;
            }
        }
        var wall = new double[Passes];
        var cpu = new double[Passes];
        using var self = Process.GetCurrentProcess();
        for (var i = 0; i < Passes; i++)
        {
            self.Refresh();
            var cpuStart = self.TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            pass();
            wall[i] = clock.Elapsed.TotalSeconds;
            self.Refresh();
            cpu[i] = (self.TotalProcessorTime - cpuStart).TotalSeconds;
        }
        Array.Sort(wall);
        Array.Sort(cpu);
        return new(images / wall[Passes / 2], images / cpu[Passes / 2]);
    }

    private static Rate Anchor(System.Text.Json.JsonElement result, string pipeline) =>
        new(result.GetProperty(pipeline).GetDouble(), result.GetProperty(pipeline + "_cpu").GetDouble());

    private static void Print(IEnumerable<Row> rows)
    {
        Console.WriteLine();
        Console.WriteLine("| pipeline                        | threads | images/s | vs anchor | images/CPU-s | vs anchor |");
        Console.WriteLine("|---------------------------------|--------:|---------:|----------:|-------------:|----------:|");
        foreach (var (pipeline, threads, rate, anchor) in rows)
        {
            Console.WriteLine($"| {pipeline,-31} | {threads,7} | {rate.Wall,8:0.0} | {rate.Wall / anchor.Wall,8:0.00}× | {rate.Cpu,12:0.0} | {rate.Cpu / anchor.Cpu,8:0.00}× |");
        }
        Console.WriteLine();
    }

    /// <summary>Images per wall-clock second and per CPU-second.</summary>
    private readonly record struct Rate(double Wall, double Cpu);

    private readonly record struct Row(string Pipeline, int Threads, Rate Rate, Rate Anchor);
}
