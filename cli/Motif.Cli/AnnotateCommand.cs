using System.CommandLine;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Motif.Core.Annotations;
using Motif.Pipeline.Annotations;

namespace Motif.Cli;

/// <summary>
/// <c>motif annotate</c>: a curator's verdict on a cluster of the workspace's latest manifest (confirm pattern, wrong
/// member, wrong cluster, similar but not the same), an undo of an earlier verdict, or the list of them. Annotations are
/// appended to the workspace's <see cref="IAnnotationStore"/> through <see cref="AnnotationService"/>, as the Functions
/// app's <c>POST /api/annotations</c> appends them; <c>motif evaluate</c> and training read them as morphograph edges.
/// </summary>
internal static class AnnotateCommand
{
    public static Command Create()
    {
        var workspaceArguments = new WorkspaceArguments();
        var cluster = new Option<string?>("--cluster") { Description = "The cluster annotated (an id of the latest manifest, as `motif clusters` lists them); with --list, only its annotations." };
        var label = new Option<string?>("--label") { Description = "confirm | wrong-member | wrong-cluster | similar." };
        var images = new Option<string[]>("--images")
        {
            Description = "The selected images, comma-separated (repeatable); use --image for an id that holds a comma.",
            AllowMultipleArgumentsPerToken = false,
        };
        var image = new Option<string[]>("--image") { Description = "One selected image, taken verbatim (repeatable)." };
        var annotator = new Option<string?>("--annotator") { Description = "Who annotates (default: the OS user name)." };
        var note = new Option<string?>("--note") { Description = "A note kept with the annotation." };
        var undo = new Option<string?>("--undo") { Description = "Withdraw the annotation with this id (an undo is itself kept in the history)." };
        var list = new Option<bool>("--list") { Description = "List the annotations, oldest first, and say which are in effect." };
        var command = new Command("annotate", "Annotate a cluster of the latest manifest (confirm, wrong-member, wrong-cluster, similar), undo an annotation, or list them. " +
                                              "Annotations become morphograph edges for evaluation and training.")
        {
            cluster, label, images, image, annotator, note, undo, list,
        };
        workspaceArguments.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var output = parse.InvocationConfiguration.Output;
            var (labelName, undoId, listing) = (parse.GetValue(label), parse.GetValue(undo), parse.GetValue(list));
            if ((labelName is not null ? 1 : 0) + (undoId is not null ? 1 : 0) + (listing ? 1 : 0) != 1)
            {
                await error.WriteLineAsync("motif annotate: give exactly one of --label (with --cluster and --images), --undo ID or --list.");
                return 2;
            }
            AnnotationLabel? parsed = null;
            if (labelName is not null && (AnnotationRules.ParseLabel(labelName) is not { } known || known == AnnotationLabel.Undo))
            {
                await error.WriteLineAsync($"--label: expected confirm, wrong-member, wrong-cluster or similar; got '{Display.Safe(labelName)}'.");
                return 2;
            }
            else if (labelName is not null)
            {
                parsed = AnnotationRules.ParseLabel(labelName);
            }
            var clusterId = parse.GetValue(cluster);
            if (parsed is not null && clusterId is null)
            {
                await error.WriteLineAsync("motif annotate: --label needs --cluster ID (see `motif clusters`).");
                return 2;
            }
            var selected = (parse.GetValue(images) ?? []).SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                .Concat(parse.GetValue(image) ?? []).ToArray();
            var who = parse.GetValue(annotator) ?? Environment.UserName;

            await using var workspace = await workspaceArguments.OpenExistingOrSayWhyAsync(parse, cancellationToken);
            if (workspace is null)
            {
                return 2;
            }
            var service = workspace.Services.GetRequiredService<AnnotationService>();
            try
            {
                if (listing)
                {
                    await output.WriteAsync(List(await service.ListAsync(clusterId, cancellationToken)));
                    return 0;
                }
                var annotation = undoId is not null
                    ? await service.UndoAsync(who, undoId, parse.GetValue(note), cancellationToken)
                    : await service.AnnotateAsync(who, clusterId!, parsed!.Value, selected, parse.GetValue(note), cancellationToken: cancellationToken);
                await output.WriteLineAsync(Describe(annotation));
                return 0;
            }
            catch (AnnotationRefusedException e)
            {
                await error.WriteLineAsync(Display.Safe($"motif annotate: refused ({AnnotationRefusals.Code(e.Refusal)}): {e.Message}."));
                return 2;
            }
            catch (Exception e) when (e is InvalidDataException or FormatException)
            {
                await error.WriteLineAsync(Display.Safe($"motif annotate: {e.Message}"));
                return 2;
            }
        });
        return command;
    }

    private static string Describe(Annotation a) => a.Label == AnnotationLabel.Undo
        ? Display.Safe($"Annotation {a.Id}: undo of {a.Undoes} (cluster {a.ClusterId}), by {a.Annotator}.")
        : Display.Safe($"Annotation {a.Id}: {AnnotationRules.Label(a.Label)} of {a.Images.Count} images in cluster {a.ClusterId} " +
                       $"(run {a.Draft.RunId}, model {a.Draft.ModelVersion}), by {a.Annotator}.");

    /// <summary>One line per annotation, oldest first, then how many are in effect.</summary>
    internal static string List(IReadOnlyList<Annotation> history)
    {
        var effective = AnnotationLog.Effective(history).Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
        var undoneBy = history.Where(a => a.Label == AnnotationLabel.Undo).GroupBy(a => a.Undoes!).ToDictionary(g => g.Key, g => g.First().Id, StringComparer.Ordinal);
        var text = new StringBuilder();
        foreach (var a in history)
        {
            var what = a.Label == AnnotationLabel.Undo
                ? $"undo of {a.Undoes}"
                : $"{AnnotationRules.Label(a.Label)} {string.Join(", ", a.Images.Take(6))}{(a.Images.Count > 6 ? $", … ({a.Images.Count} images)" : "")}";
            var state = a.Label == AnnotationLabel.Undo ? "" : effective.Contains(a.Id) ? "" : $"  [undone by {undoneBy[a.Id]}]";
            text.Append(Display.Safe(string.Create(CultureInfo.InvariantCulture,
                $"{a.Id}  {a.CreatedAt:yyyy-MM-dd HH:mm:ss}Z  {a.Annotator}  cluster {a.ClusterId}  {what}{state}"))).Append('\n');
        }
        text.Append(CultureInfo.InvariantCulture, $"{history.Count} annotations, {effective.Count} in effect.\n");
        return text.ToString();
    }
}
