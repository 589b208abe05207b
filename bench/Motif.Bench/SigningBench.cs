using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Engine;
using Motif.Imaging;
using Motif.Pipeline;
using Motif.Pipeline.Composition;
using Motif.Storage;

namespace Motif.Bench;

/// <summary>
/// Is decoding and I/O hidden behind inference? The worker's signing loop (<see cref="SignatureService"/>: receive,
/// catalog lookups, derivative downloads, decode + preprocess of the next batch overlapped with the forward pass, shard,
/// catalog, complete) on an embedded workspace, against the engine's raw embed rate on the same images already
/// preprocessed in memory (the anchor), same batch size, same threads, same run. Goal ≥ 0.9×.
/// </summary>
internal static class SigningBench
{
    private const int Threads = 2;
    private const int Batch = 16;
    private const int Images = 200;

    public static async Task RunAsync(string root)
    {
        var (collection, _) = BenchCollections.Sample(root, Images);
        var folder = Directory.CreateTempSubdirectory("motif-bench-signing-");
        try
        {
            SignatureModel.Threads = Threads;
            var model = SignatureModels.PackagedResNet50;
            var options = new MotifPipelineOptions
            {
                Storage = PipelineStorage.Embedded,
                Workspace = folder.FullName,
                Threads = Threads,
                BatchSize = Batch,
            };
            await using var services = new ServiceCollection()
                .AddMotifPipeline(options, new ConfigurationBuilder().Build())
                .AddSignatureModel(() => SignatureModels.Open(model), SignatureModels.VersionOf(model))
                .BuildServiceProvider();
            var ingest = services.GetRequiredService<IngestService>();
            foreach (var file in Directory.GetFiles(collection, "*.*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".txt", StringComparison.Ordinal) && !f.EndsWith(".csv", StringComparison.Ordinal)))
            {
                await ingest.IngestAsync(Path.GetRelativePath(collection, file), null, await File.ReadAllBytesAsync(file));
            }
            var embedder = services.GetRequiredService<ISignatureEmbedder>();
            var signing = services.GetRequiredService<SignatureService>();

            // The anchor's input: every queued job's derivative, preprocessed once, outside the clock.
            var catalog = services.GetRequiredService<IImageCatalog>();
            var blobs = services.GetRequiredService<IBlobStore>();
            var unsigned = await catalog.ListUnsignedAsync(embedder.ModelVersion);
            var derivatives = new List<ReadOnlyMemory<byte>>();
            foreach (var hash in unsigned.Select(i => i.ContentHash!).Distinct(StringComparer.Ordinal))
            {
                derivatives.Add(await blobs.ReadAllBytesAsync(CollectionBlobs.Derivative(hash)));
            }
            var spec = embedder.Preprocessing;
            var inputs = new float[derivatives.Count * spec.ValuesPerImage];
            ImageCodec.PreprocessBatch([.. derivatives], spec, inputs, Threads, ValidationLimits.Default, CancellationToken.None);   // warm-up
            var decodeClock = Stopwatch.StartNew();
            ImageCodec.PreprocessBatch([.. derivatives], spec, inputs, Threads, ValidationLimits.Default, CancellationToken.None);
            var decodeRate = derivatives.Count / decodeClock.Elapsed.TotalSeconds;
            var output = new float[Batch * embedder.Dimension];
            var count = derivatives.Count;

            double RawRate()
            {
                var clock = Stopwatch.StartNew();
                for (var start = 0; start < count; start += Batch)
                {
                    var n = Math.Min(Batch, count - start);
                    embedder.Embed(inputs.AsSpan(start * spec.ValuesPerImage, n * spec.ValuesPerImage), n, output);
                }
                return count / clock.Elapsed.TotalSeconds;
            }

            embedder.Embed(inputs.AsSpan(0, Batch * spec.ValuesPerImage), Batch, output);   // warm-up
            var before = RawRate();
            var clock = Stopwatch.StartNew();
            var reports = new Reports();
            var result = await signing.RunAsync(idleReceiveWait: null, reports);
            var loop = result.Signed / clock.Elapsed.TotalSeconds;
            var batches = reports.Batches.Where(b => b.Result.Signed > 0).ToArray();
            double Mean(Func<SignatureBatchReport, TimeSpan> time) => batches.Average(b => time(b).TotalMilliseconds);
            var after = RawRate();
            var anchor = (before + after) / 2;

            Console.WriteLine($"Signing loop vs raw inference: {count} distinct images (sample collection derivatives), ResNet-50 fp32, batch {Batch}, {Threads} threads, embedded workspace");
            Console.WriteLine();
            Console.WriteLine("| what                                                        | images/s | vs anchor |");
            Console.WriteLine("|-------------------------------------------------------------|---------:|----------:|");
            Console.WriteLine($"| engine.Embed on preprocessed batches (anchor; before/after) | {anchor,8:0.0} | {1.0,8:0.00}× |");
            Console.WriteLine($"| SignatureService: queue → decode → embed → shard → catalog  | {loop,8:0.0} | {loop / anchor,8:0.00}× |");
            Console.WriteLine($"| decode + preprocess alone, {Threads} threads (for scale: CPU the forward pass shares) | {decodeRate,8:0.0} |           |");
            Console.WriteLine();
            Console.WriteLine($"Where a batch's time goes in the loop (mean of {batches.Length} batches): forward pass {Mean(b => b.EmbedTime):0} ms " +
                $"(anchor: {1000.0 * Batch / anchor:0} ms), shard + catalog + completions {Mean(b => b.SignTime - b.EmbedTime):0} ms, " +
                $"preparation {Mean(b => b.PrepareTime):0} ms (overlapped with the previous forward pass)");
            Console.WriteLine($"(anchor before {before:0.0}, after {after:0.0} images/s; {result.Signed} signed by the loop; goal ≥ 0.90×. On a CPU-only machine the next");
            Console.WriteLine(" batch's decoding runs on the cores the forward pass uses, so the loop can reach at most 1 / (1/embed + 1/decode) of them: " +
                $"{1 / (1 / anchor + 1 / decodeRate):0.0} images/s here)");
            Console.WriteLine();
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>The loop's batch reports, in order (handled on the loop's thread, not posted like <see cref="Progress{T}"/>).</summary>
    private sealed class Reports : IProgress<SignatureBatchReport>
    {
        public List<SignatureBatchReport> Batches { get; } = [];

        public void Report(SignatureBatchReport value) => Batches.Add(value);
    }
}
