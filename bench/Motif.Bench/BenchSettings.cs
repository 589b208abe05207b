using System.Globalization;
using Motif.Engine;

namespace Motif.Bench;

/// <summary>
/// Options of the benchmarks that take them (<see cref="SigningBench"/>; <see cref="ImagingBench"/> reads --threads and
/// --python; <see cref="TrainingBench"/> reads --families, --epochs, --layout, --train, --labelled and --itself). <c>make bench</c> takes the defaults (this 2-core CPU); a GPU machine passes
/// <c>signing --device cuda --precision bf16 --batch 256 --threads 16 --images 12000 --python python3</c>.
/// </summary>
internal sealed record BenchSettings
{
    /// <summary>cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "cpu";

    public Precision Precision { get; init; } = Precision.Float32;

    public int Batch { get; init; } = 16;

    /// <summary>Decode threads, and libtorch's intra-op threads.</summary>
    public int Threads { get; init; } = 2;

    /// <summary>Distinct images signed (the sample collections are generated until there are at least this many).</summary>
    public int Images { get; init; } = 200;

    /// <summary>Longest side of the generated uploads; the worker reads the model-sized derivative whatever it is.</summary>
    public int UploadSide { get; init; } = 1024;

    /// <summary>Batches prepared ahead of the forward pass (the worker's Motif__Worker__PreparedBatches).</summary>
    public int PreparedBatches { get; init; } = 1;

    /// <summary>The Python that runs the PyTorch anchor (Debian's here; the CUDA image's own elsewhere).</summary>
    public string Python { get; init; } = "/usr/bin/python3";

    /// <summary>The clustering and map benchmarks' sizes (<c>--points 8000,20000</c>), or null for all of them.</summary>
    public IReadOnlyList<int>? Points { get; init; }

    /// <summary>With <c>--layout families</c>, the training benchmark's families in the collection it trains on, or null for as
    /// many as its half of the source allows (6 families, 27 images from scikit-image's photos); the collection it scores on is
    /// always whole.</summary>
    public int? Families { get; init; }

    /// <summary>The training benchmark's epochs at most (4 by default: on the tiles, 4 epochs of 30 steps took 402 s of CPU,
    /// and validation chose epoch 2). 0 fits only (with --train "--whiten").</summary>
    public int Epochs { get; init; } = 4;

    /// <summary>The training benchmark's collections: <c>tiles</c> (the default; a few hundred tiles of photos, each beside a
    /// reproduction of a detail, hard for a pretrained network) or <c>families</c> (whole photos with variants; easy).</summary>
    public string Layout { get; init; } = "tiles";

    /// <summary>More options for the training benchmark's <c>motif train</c> (e.g. <c>--train "--lr 1e-4 --negatives 3"</c>),
    /// after the bench's own, so they win: how a recipe's knobs are tried without a rebuild. A --train replaces the default.
    /// The default, 3 negatives per pair instead of the recipe's 10, makes an epoch on the tiles' 80 training images 30 steps
    /// rather than 100: 402 s of CPU for 4 epochs, within the benchmark's 15 minutes on 2 cores (the wall was 1,655 s
    /// only because other builds loaded the machine to 20-30).</summary>
    public IReadOnlyList<string> TrainArguments { get; init; } = ["--negatives", "3"];

    /// <summary>Whether the training benchmark also trains on collection A's morphograph (a third row; twice the time).</summary>
    public bool Labelled { get; init; }

    /// <summary>Whether the training benchmark also trains without labels on collection B itself, the one it scores (a
    /// fourth row; about twice A's training time): how a museum uses <c>motif train</c> on its own collection, which
    /// the goal's held-out row does not measure.</summary>
    public bool Itself { get; init; }

    /// <summary>Reads <c>--name value</c> pairs; throws <see cref="ArgumentException"/> with a one-line message on anything else.</summary>
    public static BenchSettings Parse(IReadOnlyList<string> arguments)
    {
        var settings = new BenchSettings();
        for (var i = 0; i < arguments.Count; i += 2)
        {
            if (i + 1 >= arguments.Count)
            {
                throw new ArgumentException($"{arguments[i]} needs a value.");
            }
            var value = arguments[i + 1];
            settings = arguments[i] switch
            {
                "--device" => settings with { Device = value },
                "--precision" => settings with { Precision = SignatureModels.ParsePrecision(value) ?? throw new ArgumentException($"--precision: fp32 or bf16, not '{value}'.") },
                "--batch" => settings with { Batch = Number(arguments[i], value, 1, 4096) },
                "--threads" => settings with { Threads = Number(arguments[i], value, 1, 1024) },
                "--images" => settings with { Images = Number(arguments[i], value, 1, 1_000_000) },
                "--upload-side" => settings with { UploadSide = Number(arguments[i], value, 256, 8192) },
                "--prepared-batches" => settings with { PreparedBatches = Number(arguments[i], value, 1, 8) },
                "--python" => settings with { Python = value },
                "--families" => settings with { Families = Number(arguments[i], value, 1, 1000) },
                // 0 with --train "--whiten": the projection fitted on the pretrained network alone.
                "--epochs" => settings with { Epochs = Number(arguments[i], value, 0, 1000) },
                "--layout" => settings with { Layout = value is "tiles" or "families" ? value : throw new ArgumentException($"--layout: tiles or families, not '{value}'.") },
                "--train" => settings with { TrainArguments = value.Split(' ', StringSplitOptions.RemoveEmptyEntries) },
                "--labelled" => settings with { Labelled = YesOrNo("--labelled", value) },
                "--itself" => settings with { Itself = YesOrNo("--itself", value) },
                "--points" => settings with { Points = value.Split(',').Select(v => Number(arguments[i], v, 2, 10_000_000)).ToArray() },
                _ => throw new ArgumentException($"Unknown option {arguments[i]} (--device, --precision, --batch, --threads, --images, --upload-side, --prepared-batches, --python, --points, --families, --epochs, --layout, --train, --labelled, --itself)."),
            };
        }
        return settings;
    }

    private static bool YesOrNo(string name, string value) =>
        value switch { "yes" => true, "no" => false, _ => throw new ArgumentException($"{name}: yes or no, not '{value}'.") };

    private static int Number(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new ArgumentException($"{name}: a whole number from {min} to {max}, not '{value}'.");
}
