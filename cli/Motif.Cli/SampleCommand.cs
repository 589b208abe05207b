using System.CommandLine;

namespace Motif.Cli;

/// <summary>
/// <c>motif sample &lt;folder&gt;</c>: writes a reproducible sample collection of pattern families (photos and
/// images derived from them) among distractors, with its ground truth in morphograph.csv. See <see cref="SampleCollection"/>.
/// </summary>
internal static class SampleCommand
{
    public static Command Create()
    {
        var folder = new Argument<DirectoryInfo>("folder") { Description = "Where to write the collection: a new or empty folder, or a previous sample." };
        var source = new Option<DirectoryInfo>("--source")
        {
            Description = "Folder of photographs to build from (top level only). Default: scikit-image's photos under .cache/skimage-data.",
            DefaultValueFactory = _ => new DirectoryInfo(SampleCollection.DefaultSource),
        };
        var seed = new Option<int>("--seed")
        {
            Description = "Seeds every random choice; the same seed and source write the same bytes.",
            DefaultValueFactory = _ => SampleCollection.DefaultSeed,
        };
        var bases = new Option<string>("--bases")
        {
            Description = "Which usable photos to build from: all, or half a or b (sorted by name, dealt alternately). Samples of a and b share " +
                          "no photo whatever their seeds: train on one, test on the other.",
            DefaultValueFactory = _ => "all",
        };
        bases.AcceptOnlyFromAmong("all", "a", "b");
        var families = new Option<int?>("--families")
        {
            Description = "Most pattern families to write. Default: as many as the source allows after reserving distractors and scenes.",
        };
        var layout = new Option<string>("--layout")
        {
            Description = "families (default): whole photos, each with 3-6 variants, among distractors. tiles: every photo cut into " +
                          "non-overlapping tiles, each tile an artwork beside one reproduction of a detail of it (recoloured, engraved or " +
                          "tilted); neighbouring tiles are hard negatives. --families does not apply.",
            DefaultValueFactory = _ => "families",
        };
        layout.AcceptOnlyFromAmong("families", "tiles");
        var command = new Command("sample", "Write a reproducible sample collection: pattern families (a photo and variants derived from it) among " +
                                            "unrelated distractors, with the POSITIVE pairs in morphograph.csv.")
        {
            folder, source, seed, bases, families, layout,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(families) is < 1)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync("--families must be at least 1.");
                return 2;
            }
            var options = new SampleOptions(parse.GetRequiredValue(source))
            {
                Seed = parse.GetValue(seed), Families = parse.GetValue(families),
                Bases = parse.GetValue(bases) switch { "a" => SampleBases.HalfA, "b" => SampleBases.HalfB, _ => SampleBases.All },
                Layout = parse.GetValue(layout) == "tiles" ? SampleLayout.Tiles : SampleLayout.Families,
            };
            if (options.Layout == SampleLayout.Tiles && options.Families is not null)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync("--families applies to --layout families only.");
                return 2;
            }
            SampleSummary summary;
            try
            {
                summary = await Task.Run(() => SampleCollection.Write(parse.GetRequiredValue(folder), options, cancellationToken), cancellationToken);
            }
            catch (SampleException e)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync(Display.Safe(e.Message));
                return 2;
            }
            await parse.InvocationConfiguration.Output.WriteAsync(AsText(summary, options));
            return 0;
        });
        return command;
    }

    internal static string AsText(SampleSummary summary, SampleOptions options)
    {
        var text = new System.Text.StringBuilder();
        var root = Display.Safe(summary.Directory);
        var half = options.Bases switch { SampleBases.HalfA => ", half a of the source", SampleBases.HalfB => ", half b of the source", _ => "" };
        text.AppendLine($"Motif sample in {root} ({summary.Elapsed.TotalSeconds:0.0} s, seed {options.Seed}{half})");
        if (options.Layout == SampleLayout.Tiles)
        {
            var photos = summary.SourceFiles - summary.Skipped.Count;
            text.AppendLine($"  {summary.Families} tiles of {photos} photos, each an artwork beside one reproduction of a detail: {summary.Images} images (listed in {SampleCollection.ImagesFile})");
            text.AppendLine($"  {summary.Edges} POSITIVE pairs in {SampleCollection.MorphographFile}; image ids are paths relative to {root}");
            text.AppendLine($"  from {Display.Safe(options.Source.FullName)}: {summary.SourceFiles} files, {summary.Skipped.Count} skipped");
            return text.ToString();
        }
        text.AppendLine($"  {summary.Families} families: {summary.FamilyImages} images ({summary.Families} originals, {summary.FamilyImages - summary.Families} variants)");
        text.AppendLine($"  {summary.Distractors} distractors, {summary.Images} images in all (listed in {SampleCollection.ImagesFile})");
        text.AppendLine($"  {summary.Edges} POSITIVE pairs in {SampleCollection.MorphographFile}; image ids are paths relative to {root}");
        text.AppendLine($"  from {Display.Safe(options.Source.FullName)}: {summary.SourceFiles} files, {summary.SourceFiles - summary.Skipped.Count} usable photos " +
                        $"({summary.Scenes} only as backgrounds of pasted variants), {summary.Skipped.Count} skipped");
        return text.ToString();
    }
}
