using System.CommandLine;
using Motif.Core;
using Motif.Engine;
using Motif.Imaging;
using Motif.Pipeline;

namespace Motif.Cli;

/// <summary>
/// <c>motif search &lt;image&gt;</c>: the nearest images of a workspace's collection, for an image file (validated and
/// embedded like an upload) or for the id of an image already in the collection.
/// </summary>
internal static class SearchCommand
{
    public static Command Create()
    {
        var image = new Argument<string>("image") { Description = "An image file, or the id (collection-relative path) of an image in the collection." };
        var workspaceArguments = new WorkspaceArguments();
        var k = new Option<int>("-k") { Description = "How many neighbours.", DefaultValueFactory = _ => 10 };
        var model = SharedOptions.Model("The model the workspace was run with");
        var precision = SharedOptions.Precision();
        var command = new Command("search", "Find the images of a collection nearest to an image.") { image, k, model, precision };
        workspaceArguments.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            if (parse.GetValue(k) < 1)
            {
                await error.WriteLineAsync("-k must be at least 1.");
                return 2;
            }
            await using var workspace = await workspaceArguments.OpenExistingOrSayWhyAsync(parse, cancellationToken);
            if (workspace is null)
            {
                return 2;
            }
            var modelName = parse.GetValue(model)!;
            var chosen = ModelCatalog.ParsePrecision(parse.GetValue(precision)!);
            var modelVersion = ModelCatalog.VersionOf(modelName);   // hashes a checkpoint file: once
            var version = EngineSignatureEmbedder.VersionOf(modelVersion, precision: chosen);
            var set = await SignatureSet.LoadAsync(workspace.Blobs, workspace.Catalog, version, cancellationToken);
            if (set.Count == 0)
            {
                await error.WriteLineAsync($"The workspace has no signatures from {version}.");
                return 2;
            }
            var query = parse.GetRequiredValue(image);
            IReadOnlyList<SearchHit> hits;
            try
            {
                if (File.Exists(query))
                {
                    using var network = ModelCatalog.Open(modelName);
                    var search = new SearchService(set, new EngineSignatureEmbedder(network, modelVersion, precision: chosen));
                    hits = search.Nearest(await File.ReadAllBytesAsync(query, cancellationToken), parse.GetValue(k));
                }
                else
                {
                    hits = new SearchService(set).Nearest(query, parse.GetValue(k));
                }
            }
            catch (KeyNotFoundException e)
            {
                await error.WriteLineAsync($"{Display.Safe(e.Message)} (no file of that name either)");
                return 2;
            }
            catch (ImageRejectedException e)
            {
                await error.WriteLineAsync($"The image was refused ({e.Reason.Code()}): {Display.Safe(e.Message)}");
                return 2;
            }
            foreach (var (hit, rank) in hits.Select((h, i) => (h, i + 1)))
            {
                await parse.InvocationConfiguration.Output.WriteLineAsync(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"{rank,3}  {hit.Distance:0.0000}  {Display.Safe(hit.ImageId)}"));
            }
            return 0;
        });
        return command;
    }
}
