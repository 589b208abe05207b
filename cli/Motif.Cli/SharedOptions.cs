using System.CommandLine;

namespace Motif.Cli;

/// <summary>
/// The options several commands take, defined once so that they are named, described and defaulted alike. (A
/// workspace's --out and --storage are <see cref="WorkspaceArguments"/>', with the opening they drive.)
/// </summary>
internal static class SharedOptions
{
    /// <summary>--model: the packaged network by name (the default) or a checkpoint file; <paramref name="role"/> says what the command does with it.</summary>
    public static Option<string> Model(string? role = null) => new("--model")
    {
        Description = $"{(role is null ? "" : role + ": ")}{ModelCatalog.PackagedResNet50} (default) or a checkpoint file.",
        DefaultValueFactory = _ => ModelCatalog.PackagedResNet50,
    };

    /// <summary>
    /// --precision for the commands that keep signatures in a workspace: fp32 unless asked, so a workspace's
    /// signatures do not silently change with the device (the precision is part of their model version).
    /// </summary>
    public static Option<string> Precision()
    {
        var option = new Option<string>("--precision")
        {
            Description = "fp32 (default) or bf16: autocast to bfloat16 with channels-last, about 2.4× faster where the CPU has AVX-512 BF16. Signatures of each are kept apart.",
            DefaultValueFactory = _ => "fp32",
        };
        option.AcceptOnlyFromAmong("fp32", "bf16");
        return option;
    }

    /// <summary>--threads, one per core by default; <paramref name="uses"/> completes "Threads for …".</summary>
    public static Option<int> Threads(string uses) => new("--threads")
    {
        Description = $"Threads for {uses}.",
        DefaultValueFactory = _ => Environment.ProcessorCount,
    };

    /// <summary>--batch: images per forward pass.</summary>
    public static Option<int> Batch() => new("--batch") { Description = "Images per forward pass.", DefaultValueFactory = _ => 16 };
}
