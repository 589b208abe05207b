using System.CommandLine;
using System.Globalization;
using System.Text;
using Motif.Engine;
using Motif.Pipeline;
using Motif.Pipeline.Models;

namespace Motif.Cli;

/// <summary><c>motif models</c>: the workspace's model versions (<see cref="ModelRegistry"/>) and which one serves.</summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var workspaceArguments = new WorkspaceArguments();
        var command = new Command("models", "List the workspace's model versions: id, parent, validation and test mAP, calibrated radius, and state " +
                                            "(serving, pending: being signed before it serves, candidate: registered, not promoted).");
        workspaceArguments.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var root = parse.GetRequiredValue(workspaceArguments.Out);
            var storage = parse.GetValue(workspaceArguments.Storage);
            await using var workspace = await workspaceArguments.OpenExistingOrSayWhyAsync(parse, cancellationToken);
            if (workspace is null)
            {
                return 2;
            }
            try
            {
                var registry = WorkspaceModels.Registry(workspace.Blobs);
                var (pointer, _) = await registry.ReadPointerAsync(cancellationToken);
                var versions = await registry.ListAsync(cancellationToken);
                var radii = new Dictionary<string, double?>(StringComparer.Ordinal);
                foreach (var id in versions.Select(v => v.Id).Prepend(registry.InitialVersion))
                {
                    // The radius is calibrated per signature version; `motif run` signs at 224 px in fp32 by default.
                    var stored = await RadiusCalibrator.ReadStoredAsync(workspace.Blobs, EngineSignatureEmbedder.VersionOf(id), cancellationToken);
                    radii[id] = stored?.Result.Radius;
                }
                await parse.InvocationConfiguration.Output.WriteAsync(Table(registry.InitialVersion, versions, pointer, radii));
                return 0;
            }
            catch (InvalidDataException e)
            {
                await error.WriteLineAsync(Display.Safe(e.Message));
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

    /// <summary>One line per version, the packaged network first, oldest to newest.</summary>
    internal static string Table(string initialVersion, IReadOnlyList<ModelVersionRecord> versions, ServingPointer pointer, IReadOnlyDictionary<string, double?> radii)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.Append(c, $"{"version",-28}  {"parent",-28}  {"val mAP",7}  {"base",7}  {"test mAP",8}  {"radius",6}  state\n");
        static string Number(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
        string Radius(string id) => Number(radii.GetValueOrDefault(id), "0.000");
        text.Append(c, $"{Display.Safe(initialVersion),-28}  {"(packaged)",-28}  {"-",7}  {"-",7}  {"-",8}  {Radius(initialVersion),6}  {State(initialVersion)}\n");
        foreach (var v in versions)
        {
            text.Append(c, $"{v.Id,-28}  {Display.Safe(v.Parent),-28}  {v.Metrics.ValidationMap,7:0.0000}  {v.Metrics.BaseValidationMap,7:0.0000}  " +
                           $"{Number(v.Metrics.TestMap, "0.0000"),8}  {Radius(v.Id),6}  {State(v.Id)}\n");
        }
        return text.ToString();

        string State(string id) => ModelRegistry.StateOf(id, pointer).ToString().ToLowerInvariant();
    }
}
