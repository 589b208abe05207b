using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Engine;
using Motif.Imaging;
using Motif.Pipeline;
using Motif.Pipeline.Composition;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;

namespace Motif.Bench;

/// <summary>
/// Is decoding and I/O hidden behind inference? The worker's signing loop (<see cref="SignatureService"/>: receive,
/// catalog lookups, derivative downloads, decode + preprocess of the next batch overlapped with the forward pass, shard,
/// catalog, complete) on an embedded workspace, against the engine's raw embed rate on the same images already
/// preprocessed in memory (the anchor), same batch size, same threads, same run; and PyTorch's own forward pass at
/// the same batch and precision for scale. Goal ≥ 0.9×. It also says where the loop's wall-clock went: the forward
/// pass, waiting for the previous batch's commit (shard, catalog, completions; run during the next forward pass, so
/// only what outlasts it counts), and waiting for the next prepared batch (on a GPU: starved by decoding and downloads).
/// </summary>
internal static class SigningBench
{
    public static async Task RunAsync(string root, BenchSettings settings)
    {
        var (collection, _) = BenchCollections.Sample(root, settings.Images, settings.UploadSide, settings.Threads);
        var folder = Directory.CreateTempSubdirectory("motif-bench-signing-");
        try
        {
            EngineProcess.Configure(new EngineProcessOptions { Threads = settings.Threads });
            // The packaged ImageNet weights where setup fetched them; otherwise (a GPU machine gets the repository
            // without .cache/weights) the same network with seeded random weights: the speed is the same.
            var pretrained = File.Exists(SignatureModels.PackagedWeights);
            var model = pretrained ? SignatureModels.PackagedResNet50 : "resnet50";
            var version = EngineSignatureEmbedder.VersionOf(model, precision: settings.Precision);
            var options = new MotifPipelineOptions
            {
                Storage = PipelineStorage.Embedded,
                Workspace = folder.FullName,
                Threads = settings.Threads,
                BatchSize = settings.Batch,
                ModelVersion = version,
            };
            await using var services = new ServiceCollection()
                .AddMotifPipeline(options, new ConfigurationBuilder().Build())
                .AddSingleton(new SignatureServiceOptions { PreparedBatches = settings.PreparedBatches })
                .AddSignatureModel(() => pretrained ? SignatureModels.Open(model, settings.Device) : SignatureModel.Create(model, settings.Device),
                    model, settings.Precision)
                .BuildServiceProvider();
            var ingest = services.GetRequiredService<IngestService>();
            var files = Directory.GetFiles(collection, "*.*", SearchOption.AllDirectories)
                .Where(f => !f.EndsWith(".txt", StringComparison.Ordinal) && !f.EndsWith(".csv", StringComparison.Ordinal)).ToArray();
            var ingestClock = Stopwatch.StartNew();
            await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 2 * settings.Threads }, async (file, ct) =>
                await ingest.IngestAsync(Path.GetRelativePath(collection, file), null, await File.ReadAllBytesAsync(file, ct), ct));
            var ingestSeconds = ingestClock.Elapsed.TotalSeconds;
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
            ImageCodec.PreprocessBatch([.. derivatives], spec, inputs, settings.Threads, ValidationLimits.Default, CancellationToken.None);   // warm-up
            var decodeClock = Stopwatch.StartNew();
            ImageCodec.PreprocessBatch([.. derivatives], spec, inputs, settings.Threads, ValidationLimits.Default, CancellationToken.None);
            var decodeRate = derivatives.Count / decodeClock.Elapsed.TotalSeconds;
            var batch = settings.Batch;
            var output = new float[batch * embedder.Dimension];
            var count = derivatives.Count;

            double RawRate()
            {
                var clock = Stopwatch.StartNew();
                for (var start = 0; start < count; start += batch)
                {
                    var n = Math.Min(batch, count - start);
                    embedder.Embed(inputs.AsSpan(start * spec.ValuesPerImage, n * spec.ValuesPerImage), n, output);
                }
                return count / clock.Elapsed.TotalSeconds;
            }

            var full = Math.Min(batch, count);
            embedder.Embed(inputs.AsSpan(0, full * spec.ValuesPerImage), full, output);   // warm-up
            var before = RawRate();
            var clock = Stopwatch.StartNew();
            var reports = new Reports();
            var result = await signing.RunAsync(idleReceiveWait: null, reports);
            var wall = clock.Elapsed;
            var loop = result.Signed / wall.TotalSeconds;
            var batches = reports.Batches.Where(b => b.Result.Signed > 0).ToArray();
            double Mean(Func<SignatureBatchReport, TimeSpan> time) => batches.Average(b => time(b).TotalMilliseconds);
            double Share(Func<SignatureBatchReport, TimeSpan> time) => batches.Sum(b => time(b).TotalSeconds) / wall.TotalSeconds;
            var after = RawRate();
            var anchor = (before + after) / 2;
            var bf16 = settings.Precision == Precision.BFloat16;
            var torch = Repository.Python(settings.Python, Repository.HugePages,
                [Path.Combine(root, "gpu-worker", "native", "tools", "bench_pytorch.py"), "--device", settings.Device, "--batch", $"{batch}",
                 "--threads", $"{settings.Threads}", "--iters", "10", "--train-iters", "0", .. bf16 ? new[] { "--bf16" } : []]);
            var torchRate = torch.GetProperty("embed_images_per_s").GetDouble();
            var torchResident = torch.GetProperty("embed_resident_images_per_s").GetDouble();
            var precision = EngineSignatureEmbedder.PrecisionName(settings.Precision);

            Console.WriteLine($"Signing loop vs raw inference: {count} distinct images (sample collection derivatives, uploads ≤ {settings.UploadSide} px), " +
                $"ResNet-50 {precision}{(pretrained ? "" : " (seeded random weights)")} on {settings.Device}, batch {batch}, {settings.Threads} threads " +
                $"({signing.Options.PreprocessThreads} decoding in the loop), " +
                $"{settings.PreparedBatches} batch(es) prepared ahead, embedded workspace");
            Console.WriteLine();
            (string What, double Rate, bool Ratio)[] rows =
            [
                ("engine.Embed on preprocessed batches in memory (anchor; before/after)", anchor, true),
                ("SignatureService: queue → decode → embed → shard → catalog", loop, true),
                ($"PyTorch {torch.GetProperty("torch").GetString()}, same forward pass, batch from host memory", torchRate, true),
                ("PyTorch, batch already on the device (no copy)", torchResident, true),
                ($"decode + preprocess alone, {settings.Threads} threads", decodeRate, false),
            ];
            var width = rows.Max(r => r.What.Length);
            Console.WriteLine($"| {"what".PadRight(width)} | images/s | vs anchor |");
            Console.WriteLine($"|{new string('-', width + 2)}|---------:|----------:|");
            foreach (var (what, rate, ratio) in rows)
            {
                Console.WriteLine($"| {what.PadRight(width)} | {rate,8:0.0} | {(ratio ? $"{rate / anchor,8:0.00}×" : ""),9} |");
            }
            Console.WriteLine();
            // The commit of each batch runs during the next one's forward pass: only the part that outlasted it
            // (CommitWait) holds the forward pass up; CommitTime is its whole length, for scale.
            Console.WriteLine($"Where the loop's {wall.TotalSeconds:0.00} s went ({batches.Length} batches): forward pass {Share(b => b.EmbedTime):P1} " +
                $"(mean {Mean(b => b.EmbedTime):0} ms; anchor {1000.0 * batch / anchor:0} ms), waiting for a commit {Share(b => b.CommitWait):P1} " +
                $"(shard + catalog + completions, mean {Mean(b => b.CommitTime):0} ms, overlapped with the next forward pass), " +
                $"waiting for a prepared batch {Share(b => b.InputWait):P1}, the rest (re-checks, hand-overs) " +
                $"{1 - Share(b => b.EmbedTime) - Share(b => b.CommitWait) - Share(b => b.InputWait):P1}; " +
                $"preparation {Mean(b => b.PrepareTime):0} ms per batch (overlapped with the forward pass)");
            Console.WriteLine($"(anchor before {before:0.0}, after {after:0.0} images/s; {result.Signed} signed by the loop; goal ≥ 0.90×; " +
                $"ingest of {files.Length} uploads took {ingestSeconds:0.0} s, not timed above.");
            if (settings.Device == "cpu")
            {
                Console.WriteLine(" On a CPU-only machine the next batch's decoding runs on the cores the forward pass uses, so the loop can reach at most " +
                    $"1 / (1/embed + 1/decode) of them: {1 / (1 / anchor + 1 / decodeRate):0.0} images/s here)");
            }
            else
            {
                Console.WriteLine(" The waiting share is the time the GPU had no input: decoding and downloads that did not keep up)");
            }
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
