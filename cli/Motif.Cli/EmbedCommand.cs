using System.CommandLine;
using System.Diagnostics;
using Motif.Core;
using Motif.Core.Signatures;
using Motif.Engine;
using Motif.Imaging;

namespace Motif.Cli;

/// <summary>
/// <c>motif embed &lt;folder&gt; --out signatures.npy</c>: one signature per valid image, as a NumPy matrix
/// (float32, N × D) with <c>signatures.ids.txt</c> naming each row, so anyone can check Motif's signatures from
/// outside. Files are taken in relative-path order; every skipped file is reported with its reason.
/// </summary>
internal static class EmbedCommand
{
    public static Command Create(CliProcess? process)
    {
        var folder = new Argument<DirectoryInfo>("folder") { Description = "Folder of images, searched recursively." };
        var output = new Option<FileInfo>("--out") { Description = "The .npy file to write (rows named in <file>.ids.txt).", Required = true };
        var model = SharedOptions.Model();
        var batch = SharedOptions.Batch();
        var threads = SharedOptions.Threads("the network and preprocessing");
        var size = new Option<int>("--size") { Description = "Side of the square model input, in pixels.", DefaultValueFactory = _ => 224 };
        var precision = new Option<string?>("--precision")
        {
            Description = "fp32 or bf16 (autocast to bfloat16 with channels-last). Default: the device's (fp32 on CPU, bf16 on CUDA).",
        };
        precision.AcceptOnlyFromAmong("fp32", "bf16");
        var command = new Command("embed", "Compute a visual signature for every valid image in a folder and write them as a NumPy .npy matrix.")
        {
            folder, output, model, batch, threads, size, precision,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var root = parse.GetRequiredValue(folder);
            if (!root.Exists)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"No such folder: {Display.Safe(root.FullName)}");
                return 2;
            }
            var settings = new Settings(Math.Max(1, parse.GetValue(batch)), Math.Max(1, parse.GetValue(threads)), parse.GetValue(size));
            process?.UseEngineThreads(settings.Threads);
            using var network = ModelCatalog.Open(parse.GetValue(model)!);
            if (parse.GetValue(precision) is { } chosen)
            {
                network.SetPrecision(chosen == "bf16" ? Precision.BFloat16 : Precision.Float32, channelsLast: chosen == "bf16");
            }
            var summary = await RunAsync(root, parse.GetRequiredValue(output).FullName, network, settings, cancellationToken);
            await parse.InvocationConfiguration.Output.WriteAsync(summary);
            return 0;
        });
        return command;
    }

    internal sealed record Settings(int Batch, int Threads, int InputSize);

    internal static async Task<string> RunAsync(DirectoryInfo root, string npyPath, SignatureModel model, Settings settings, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var spec = model.Preprocessing(settings.InputSize);
        var limits = ValidationLimits.Default;
        var files = FolderIntake.List(root);
        var inputs = new float[settings.Batch * spec.ValuesPerImage];
        // A version that signs details gives each image its whole and each detail: a row of all of them, written as
        // a 3-D array (images, parts, dimension).
        var (parts, width) = (model.SignatureParts, model.EmbeddingDimension * model.SignatureParts);
        var signatures = new float[settings.Batch * width];
        var ids = new List<string>();
        var skipped = new List<IntakeItem>();

        await using (var matrix = new NpyFile.Writer(npyPath, width, parts))
        {
            foreach (var chunk in files.Chunk(settings.Batch))
            {
                var readable = new List<(string Path, byte[] Bytes)>();
                foreach (var file in chunk)
                {
                    if (file.Path.Any(char.IsControl))
                    {
                        // ids.txt has one path per line: a name with a line break would shift every later row.
                        skipped.Add(new IntakeItem(file.Path, 0, null, null, RejectionReason.Unreadable, "The name contains a line break or control character."));
                        continue;
                    }
                    var (bytes, refused) = await FolderIntake.ReadAsync(file, limits, cancellationToken);
                    if (refused is not null)
                    {
                        skipped.Add(refused);
                    }
                    else
                    {
                        readable.Add((file.Path, bytes!));
                    }
                }
                if (readable.Count == 0)
                {
                    continue;
                }
                var results = ImageCodec.PreprocessBatch(readable.Select(r => (ReadOnlyMemory<byte>)r.Bytes).ToArray(), spec, inputs, settings.Threads, limits, cancellationToken);
                var n = readable.Count;
                model.Sign(inputs.AsSpan(0, n * spec.ValuesPerImage), n, settings.InputSize, settings.InputSize, signatures.AsSpan(0, n * width));
                for (var i = 0; i < n; i++)
                {
                    if (results[i].Succeeded)
                    {
                        await matrix.AppendAsync(signatures.AsMemory(i * width, width), cancellationToken);
                        ids.Add(readable[i].Path);
                    }
                    else
                    {
                        skipped.Add(new IntakeItem(readable[i].Path, readable[i].Bytes.Length, null, null, results[i].Rejection, results[i].Message));
                    }
                }
            }
            await matrix.CompleteAsync(cancellationToken);
        }
        var idsPath = Path.ChangeExtension(npyPath, ".ids.txt");
        await File.WriteAllLinesAsync(idsPath + ".partial", ids, cancellationToken);
        File.Move(idsPath + ".partial", idsPath, overwrite: true);

        var text = new System.Text.StringBuilder();
        var seconds = clock.Elapsed.TotalSeconds;
        text.AppendLine($"Embedded {ids.Count} of {files.Count} files into {Display.Safe(npyPath)} ({ids.Count}×{(parts == 1 ? "" : $"{parts}×")}{model.EmbeddingDimension} float32) " +
                        $"in {seconds:0.0} s ({ids.Count / Math.Max(seconds, 1e-9):0.0} images/s); rows named in {Display.Safe(idsPath)}");
        if (skipped.Count > 0)
        {
            text.AppendLine($"Skipped {skipped.Count}:");
            foreach (var item in skipped.OrderBy(s => s.Path, StringComparer.Ordinal))
            {
                text.AppendLine($"  {item.Rejection!.Value.Code(),-20}{Display.Safe(item.Path)}: {Display.Safe(item.Message ?? string.Empty)}");
            }
        }
        return text.ToString();
    }
}
