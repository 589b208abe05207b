using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Motif.Core;
using Motif.Imaging;

namespace Motif.Cli;

/// <summary><c>motif intake &lt;folder&gt;</c>: what would be accepted, and why the rest would be rejected.</summary>
internal static class IntakeCommand
{
    public static Command Create()
    {
        var folder = new Argument<DirectoryInfo>("folder") { Description = "Folder of images, searched recursively." };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var maxPixels = new Option<long>("--max-pixels")
        {
            Description = "Most pixels an image may declare (checked on the header, before decoding).",
            DefaultValueFactory = _ => ValidationLimits.Default.MaxPixels,
        };
        var minSide = new Option<int>("--min-side")
        {
            Description = "Smallest allowed shorter side, in pixels.",
            DefaultValueFactory = _ => ValidationLimits.Default.MinSide,
        };
        var maxBytes = new Option<long>("--max-bytes")
        {
            Description = "Largest file read, in bytes.",
            DefaultValueFactory = _ => ValidationLimits.Default.MaxBytes,
        };
        var parallel = new Option<int>("--parallel")
        {
            Description = "Files validated at once.",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        var command = new Command("intake", "Validate every file under a folder and report what is accepted and why the rest is rejected.")
        {
            folder, json, maxPixels, minSide, maxBytes, parallel,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var root = parse.GetRequiredValue(folder);
            if (!root.Exists)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"No such folder: {Display.Safe(root.FullName)}");
                return 2;
            }
            var limits = ValidationLimits.Default with
            {
                MaxPixels = parse.GetValue(maxPixels),
                MinSide = parse.GetValue(minSide),
                MaxBytes = parse.GetValue(maxBytes),
            };
            var clock = Stopwatch.StartNew();
            // A folder that cannot be listed throws an IOException naming it (everything below it is reported file by
            // file): OrdinaryFailure turns that into one line and exit 2, as for every command.
            var report = await FolderIntake.RunAsync(root, limits, Math.Max(1, parse.GetValue(parallel)), cancellationToken);
            await output.WriteAsync(parse.GetValue(json) ? AsJson(report) : AsText(report, root, clock.Elapsed));
            return 0;
        });
        return command;
    }

    internal static string AsText(IntakeReport report, DirectoryInfo root, TimeSpan elapsed)
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine($"Motif intake of {Display.Safe(root.FullName)}");
        text.AppendLine($"  {report.Items.Count} files: {report.Accepted} accepted, {report.Rejected} rejected ({elapsed.TotalSeconds:0.0} s)");
        text.AppendLine();
        text.AppendLine("  accepted by format");
        foreach (var (format, count) in report.AcceptedByFormat.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.AppendLine($"    {format,-20}{count,6}");
        }
        if (report.DuplicateContent > 0)
        {
            text.AppendLine($"    {"(same bytes twice)",-20}{report.DuplicateContent,6}");
        }
        text.AppendLine("  rejected by reason");
        foreach (var (reason, count) in report.RejectedByReason)
        {
            text.AppendLine($"    {reason.Code(),-20}{count,6}");
        }
        if (report.Rejected > 0)
        {
            text.AppendLine();
            text.AppendLine("  rejected files");
            foreach (var item in report.Items.Where(i => !i.Accepted))
            {
                text.AppendLine($"    {item.Rejection!.Value.Code(),-20}{Display.Safe(item.Path)}");
                text.AppendLine($"    {"",-20}  {Display.Safe(item.Message ?? string.Empty)}");
            }
        }
        return text.ToString();
    }

    internal static string AsJson(IntakeReport report) => JsonSerializer.Serialize(new
    {
        files = report.Items.Count,
        accepted = report.Accepted,
        rejected = report.Rejected,
        duplicateContent = report.DuplicateContent,
        acceptedByFormat = report.AcceptedByFormat,
        rejectedByReason = report.RejectedByReason.ToDictionary(p => p.Key.Code(), p => p.Value),
        items = report.Items.Select(i => new
        {
            path = i.Path,
            bytes = i.Bytes,
            sha256 = i.Hash?.Hex,
            format = i.Format,
            reason = i.Rejection?.Code(),
            message = i.Message,
        }),
    }, JsonOptions) + Environment.NewLine;

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
}
