using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Motif.Pipeline;
using Spectre.Console;

namespace Motif.Cli;

/// <summary><c>motif clusters</c>: the latest manifest of a workspace as a summary table.</summary>
internal static class ClustersCommand
{
    public static Command Create()
    {
        var workspaceArguments = new WorkspaceArguments();
        var top = new Option<int>("--top") { Description = "Clusters listed, largest first (0: all).", DefaultValueFactory = _ => 20 };
        var command = new Command("clusters", "Summarise the latest published clusters of a workspace.") { top };
        workspaceArguments.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var (workspace, problem) = await workspaceArguments.OpenExistingAsync(parse, cancellationToken);
            await using var opened = workspace;
            var latest = workspace is null ? null : await workspace.Services.GetRequiredService<ReclusterService>().ReadLatestAsync(cancellationToken);
            if (latest is null)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync(problem ??
                    $"No published clusters in {Display.Safe(parse.GetRequiredValue(workspaceArguments.Out).FullName)}: run `motif run <folder> --out <dir>` first.");
                return 2;
            }
            var manifest = latest.Manifest;
            var console = CommandConsole.For(parse.InvocationConfiguration.Output);
            console.WriteLine($"Run {manifest.RunId} ({manifest.CreatedAt:u}), model {manifest.ModelVersion}: {manifest.Counts.Clusters} clusters, " +
                              $"{manifest.Counts.Images - manifest.Counts.Noise} of {manifest.Counts.Images} images clustered, {manifest.Counts.Noise} noise.");
            var table = new Table().AddColumns("cluster", "size", "medoid", "members");
            var clusters = manifest.Clusters.OrderByDescending(c => c.Size).ThenBy(c => c.Id, StringComparer.Ordinal);
            foreach (var cluster in parse.GetValue(top) > 0 ? clusters.Take(parse.GetValue(top)) : clusters)
            {
                var members = string.Join(", ", cluster.Members.Take(4).Select(m => Display.Safe(m.ImageId))) + (cluster.Size > 4 ? ", …" : "");
                table.AddRow(Markup.Escape(cluster.Id), cluster.Size.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Markup.Escape(Display.Safe(cluster.Medoid)), Markup.Escape(members));
            }
            console.Write(table);
            return 0;
        });
        return command;
    }
}
