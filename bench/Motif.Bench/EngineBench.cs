using Motif.Engine;

namespace Motif.Bench;

/// <summary>
/// The signature engine against PyTorch, same workloads, same thread count, same run: ResNet-50 embedding
/// (224², batch 16, backbone → mean pool → L2 norm) in images/s, and one fine-tuning step on 8 triplets
/// (compound hinge, Adam, frozen BatchNorm statistics) in seconds. Motif is measured through its C# API
/// (C# → C ABI → libtorch); PyTorch 1.13 (Debian python3-torch) runs with glibc huge pages, at its best here.
/// Rounds alternate PyTorch / Motif so that a drift of the machine shows as a difference between rounds.
/// </summary>
internal static class EngineBench
{
    private const int Threads = 2;
    private const int Batch = 16;
    private const int Size = 224;
    private const int Triplets = 8;
    private const int EmbedIterations = 5;
    private const int TrainIterations = 3;
    private const int Rounds = 2;

    public static void Run(string root)
    {
        var anchor = Path.Combine(root, "gpu-worker", "native", "tools", "bench_pytorch.py");
        EngineProcess.Configure(new EngineProcessOptions { Threads = Threads });
        using var model = SignatureModel.Create("resnet50");
        model.ConfigureTraining(TrainingOptions.Default);
        // The GPU default (bf16 autocast, channels-last) on this CPU, which has AVX-512 BF16 instructions or emulates them.
        using var mixed = SignatureModel.Create("resnet50");
        mixed.SetPrecision(Precision.BFloat16, channelsLast: true);
        mixed.ConfigureTraining(TrainingOptions.Default);
        var random = new Random(1);
        var images = Enumerable.Range(0, Batch * 3 * Size * Size).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var triplet = images.AsSpan(0, Triplets * 3 * Size * Size).ToArray();
        var signatures = new float[Batch * model.EmbeddingDimension];

        var rows = new List<(int Round, string Engine, double ImagesPerSecond, double StepSeconds, string Anchor)>();
        for (var round = 1; round <= Rounds; round++)
        {
            foreach (var (name, network, mode) in new[] { ("Motif (C# → C ABI → libtorch)", model, "fp32"), ("Motif, bf16 + channels-last", mixed, "bf16") })
            {
                string[] flags = mode == "bf16" ? ["--bf16"] : [];
                var torch = Repository.Python(Repository.HugePages, [anchor, "--batch", $"{Batch}", "--size", $"{Size}", "--threads", $"{Threads}",
                    "--iters", $"{EmbedIterations}", "--triplets", $"{Triplets}", "--train-iters", $"{TrainIterations}", .. flags]);
                rows.Add((round, $"PyTorch 1.13, {mode} (anchor)", torch.GetProperty("embed_images_per_s").GetDouble(), torch.GetProperty("train_step_s").GetDouble(), mode));

                var embed = Repository.MedianSeconds(EmbedIterations, () => network.Embed(images, Batch, Size, Size, signatures));
                var step = Repository.MedianSeconds(TrainIterations, () => network.TrainStep(triplet, triplet, triplet, Triplets, Size, Size));
                rows.Add((round, name, Batch / embed, step, mode));
            }
        }

        Console.WriteLine($"Signature engine: ResNet-50, {Threads} threads; embed {Size}² batch {Batch} (median of {EmbedIterations}), train step {Triplets} triplets (median of {TrainIterations})");
        Console.WriteLine();
        Console.WriteLine("| round | engine                          | embed images/s | vs anchor | train step s | vs anchor |");
        Console.WriteLine("|------:|---------------------------------|---------------:|----------:|-------------:|----------:|");
        foreach (var row in rows)
        {
            var anchorRow = rows.First(r => r.Round == row.Round && r.Anchor == row.Anchor); // same precision, same round
            Console.WriteLine($"| {row.Round,5} | {row.Engine,-31} | {row.ImagesPerSecond,14:0.0} | {row.ImagesPerSecond / anchorRow.ImagesPerSecond,8:0.00}× | " +
                              $"{row.StepSeconds,12:0.00} | {anchorRow.StepSeconds / row.StepSeconds,8:0.00}× |");
        }
        Console.WriteLine("(vs anchor: higher is better in both columns: speed ratio)");
        Console.WriteLine();
    }

}
