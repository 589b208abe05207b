using System.CommandLine;
using System.Globalization;
using System.Text;
using Motif.Core.Evaluation;
using Motif.Pipeline;
using Motif.Storage.Blobs;

namespace Motif.Cli;

/// <summary>
/// <c>motif morphograph import &lt;csv&gt;</c>: stores a ground-truth morphograph (the research's CSV) in a workspace
/// with its frozen train/validation/test split. DUPLICATE groups are merged first (<see cref="MorphographDuplicates"/>);
/// the split stored by an earlier import is extended, never rebuilt (<see cref="MorphographSplit.Extend"/>), so a
/// bigger CSV later never moves a held-out image into training. Both go to the workspace's blob store:
/// <see cref="CollectionBlobs.MorphographEdges"/> (the CSV as read) and <see cref="CollectionBlobs.MorphographSplit"/>.
/// </summary>
internal static class MorphographCommand
{
    /// <summary>Moved images listed one per line; the rest are counted.</summary>
    private const int MovesListed = 20;

    public static Command Create() => new("morphograph", "Ground truth: curated visual connections (the research's morphograph) and their frozen split.")
    {
        CreateImport(),
    };

    private static Command CreateImport()
    {
        var csv = new Argument<FileInfo>("csv") { Description = "The morphograph CSV: columns type, img1, img2 (and optionally uid_connection), as the research writes it." };
        var ratios = new Option<string?>("--ratios")
        {
            Description = "train,validation,test shares for a new split (default 2/3,1/6,1/6, the research's). A stored split keeps the ratios it was made with.",
        };
        var workspaceArguments = new WorkspaceArguments();
        var command = new Command("import", "Import a morphograph CSV into a workspace: merge DUPLICATE photographs, then compute or extend the frozen " +
                                            "train/validation/test split by component of POSITIVE edges, and store both.")
        {
            csv, ratios,
        };
        workspaceArguments.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var file = parse.GetRequiredValue(csv);
            if (!file.Exists)
            {
                await error.WriteLineAsync($"No such file: {Display.Safe(file.FullName)}");
                return 2;
            }
            SplitRatios? requested = null;
            if (parse.GetValue(ratios) is { } text && !TryParseRatios(text, out requested))
            {
                await error.WriteLineAsync($"--ratios: expected three non-negative shares summing to 1, as train,validation,test (e.g. 0.7,0.15,0.15); got '{Display.Safe(text)}'.");
                return 2;
            }
            var bytes = await File.ReadAllBytesAsync(file.FullName, cancellationToken);
            Morphograph morphograph;
            try
            {
                using var reader = new StreamReader(new MemoryStream(bytes), Encoding.UTF8);
                morphograph = Morphograph.Read(reader);
            }
            catch (FormatException e)
            {
                await error.WriteLineAsync(Display.Safe($"{file.FullName}: {e.Message}"));
                return 2;
            }

            var root = parse.GetRequiredValue(workspaceArguments.Out);
            var storage = parse.GetValue(workspaceArguments.Storage);
            try
            {
                await using var workspace = (await Workspace.OpenAsync(root, storage, create: true, cancellationToken))!;
                var blobs = workspace.Blobs;
                var (stored, etag) = await ReadSplitAsync(blobs, cancellationToken);
                if (stored is not null && requested is not null && stored.Ratios != requested)
                {
                    await error.WriteLineAsync($"The workspace's split was made with ratios {Format(stored.Ratios)}; a frozen split keeps them (leave out --ratios).");
                    return 2;
                }
                var duplicates = MorphographDuplicates.Of(morphograph);
                var extension = (stored ?? MorphographSplit.Empty(requested)).Extend(duplicates);

                // The split first, conditional on the version read: two imports at once cannot both extend the same
                // split and lose one's assignments. The CSV after it: if this stops in between, the stored split is a
                // superset of what the old CSV needs, and importing again repairs the CSV.
                var conditions = etag is null ? BlobConditions.CreateOnly : BlobConditions.Matching(etag);
                await blobs.PutAsync(CollectionBlobs.MorphographSplit, new MemoryStream(extension.Split.ToJson()),
                    new BlobPutOptions { ContentType = "application/json", Conditions = conditions }, cancellationToken);
                await blobs.PutAsync(CollectionBlobs.MorphographEdges, new MemoryStream(bytes), new BlobPutOptions { ContentType = "text/csv" }, cancellationToken);

                var dataVersion = MorphographDataVersion.Of(morphograph, extension.Split);
                await parse.InvocationConfiguration.Output.WriteAsync(Summary(file, duplicates, extension, stored, workspace.Description, dataVersion));
                return 0;
            }
            catch (FormatException e)
            {
                await error.WriteLineAsync(Display.Safe($"The workspace's {CollectionBlobs.MorphographSplit} is unreadable: {e.Message}"));
                return 2;
            }
            catch (BlobStoreException e) when (e.IsConditionFailure)
            {
                await error.WriteLineAsync("Another import changed the stored split meanwhile; nothing was written by this one: run it again.");
                return 2;
            }
            catch (Exception e) when (WorkspaceArguments.StorageFailure(storage, root, e) is { } message)
            {
                await error.WriteLineAsync(Display.Safe(message));
                return 2;
            }
        });
        return command;
    }

    /// <summary>The stored split and the ETag it was read at, or (null, null) when the workspace has none.</summary>
    private static async Task<(MorphographSplit? Split, string? ETag)> ReadSplitAsync(IBlobStore blobs, CancellationToken cancellationToken)
    {
        try
        {
            var (content, properties) = await blobs.ReadAllAsync(CollectionBlobs.MorphographSplit, cancellationToken);
            return (MorphographSplit.Parse(content), properties.ETag);
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return (null, null);
        }
    }

    private static bool TryParseRatios(string text, out SplitRatios? ratios)
    {
        ratios = null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new double[3];
        if (parts.Length != 3 || !parts.Select((p, i) => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out values[i])).All(ok => ok))
        {
            return false;
        }
        try
        {
            var candidate = new SplitRatios(values[0], values[1], values[2]);
            candidate.Validate();
            ratios = candidate;
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static string Format(SplitRatios ratios) =>
        string.Create(CultureInfo.InvariantCulture, $"train {ratios.Train:0.###}, validation {ratios.Validation:0.###}, test {ratios.Test:0.###}");

    /// <summary>What the import found and did, a few lines for people.</summary>
    internal static string Summary(FileInfo file, MorphographDuplicates duplicates, SplitExtension extension, MorphographSplit? stored, string workspace, string dataVersion)
    {
        var source = duplicates.Source;
        var split = extension.Split;
        var components = duplicates.Merged.Components();
        var inComponents = components.Sum(c => c.Sum(id => duplicates.Members(id).Count));
        var text = new StringBuilder();
        var line = (string s) => text.Append(s).Append('\n');
        line($"Morphograph {Display.Safe(file.Name)}: {source.Images.Count} images, {source.Edges.Count(e => e.Type == MorphographEdgeType.Positive)} POSITIVE edges, " +
             $"{source.Edges.Count(e => e.Type == MorphographEdgeType.Duplicate)} DUPLICATE edges.");
        line($"Duplicates: {duplicates.Groups.Count} groups merged ({duplicates.Groups.Sum(g => g.Count - 1)} photographs folded into their group's smallest id).");
        line($"Components: {extension.Components} of positive edges over {inComponents} images; {extension.NewComponents} new, assigned by hash " +
             $"({Format(split.Ratios)}){(stored is null ? "; a new split" : "; the stored split extended")}.");
        var counts = Enum.GetValues<SplitPart>().Select(p => $"{MorphographSplit.NameOf(p)} {split.ImagesOf(p).Count}");
        var kept = split.Parts.Count - inComponents;
        line($"Split: {string.Join(", ", counts)} images{(kept > 0 ? $" ({kept} kept from earlier imports, in no component now)" : "")}.");
        if (extension.Moves.Count == 0)
        {
            line("Moved: none.");
        }
        else
        {
            line($"Moved: {extension.Moves.Count} images, each because a new edge joined its component to a more held-out one (never towards train):");
            foreach (var move in extension.Moves.Take(MovesListed))
            {
                line($"  {Display.Safe(move.Image)}: {MorphographSplit.NameOf(move.From)} → {MorphographSplit.NameOf(move.To)} (component of {Display.Safe(move.Component)})");
            }
            if (extension.Moves.Count > MovesListed)
            {
                line($"  … and {extension.Moves.Count - MovesListed} more.");
            }
        }
        line($"Stored {CollectionBlobs.MorphographEdges} and {CollectionBlobs.MorphographSplit} in {Display.Safe(workspace)}; data version {dataVersion}.");
        return text.ToString();
    }
}
