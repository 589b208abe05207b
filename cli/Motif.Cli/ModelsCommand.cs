using System.CommandLine;
using System.Globalization;
using System.Text;
using Motif.Engine;
using Motif.Pipeline;
using Motif.Pipeline.Models;
using Motif.Pipeline.Training;

namespace Motif.Cli;

/// <summary><c>motif models</c>: the workspace's model versions (<see cref="ModelRegistry"/>) and which one serves.</summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var workspaceArguments = new WorkspaceArguments();
        var command = new Command("models", "List the workspace's model versions: id, parent, validation and test mAP, the radius calibrated for its signatures at each precision, and state " +
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
                // A radius is calibrated per signature version, which is the model version at an input size and a
                // precision: each precision `motif run` can sign at (always 224 px) has its own, so each is shown.
                var radii = new Dictionary<string, double?>(StringComparer.Ordinal);
                foreach (var signatures in versions.Select(v => v.Id).Prepend(registry.InitialVersion).SelectMany(SignatureVersions))
                {
                    radii[signatures] = (await RadiusCalibrator.ReadStoredAsync(workspace.Blobs, signatures, cancellationToken))?.Result.Radius;
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

    /// <summary>The signature versions <c>motif run</c> can calibrate a radius for under model version <paramref name="id"/>:
    /// its 224 px signatures at each precision, in the table's column order.</summary>
    private static IEnumerable<string> SignatureVersions(string id) =>
        Enum.GetValues<Precision>().Select(p => EngineSignatureEmbedder.VersionOf(id, precision: p));

    /// <summary>One line per version, the packaged network first, oldest to newest; a radius column per precision
    /// (<paramref name="radii"/> is keyed by signature version), then a line saying what the radii are.</summary>
    internal static string Table(string initialVersion, IReadOnlyList<ModelVersionRecord> versions, ServingPointer pointer, IReadOnlyDictionary<string, double?> radii)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        var precisions = Enum.GetValues<Precision>().Select(EngineSignatureEmbedder.PrecisionName).ToArray();
        var radiusHeader = string.Concat(precisions.Select(p => $"  {"radius " + p,11}"));
        text.Append(c, $"{"version",-28}  {"parent",-28}  {"val mAP",7}  {"base",7}  {"test mAP",8}{radiusHeader}  {"state",-9}  projection\n");
        static string Number(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
        string Radii(string id) => string.Concat(SignatureVersions(id).Select(s => $"  {Number(radii.GetValueOrDefault(s), "0.000"),11}"));
        text.Append(c, $"{Display.Safe(initialVersion),-28}  {"(packaged)",-28}  {"-",7}  {"-",7}  {"-",8}{Radii(initialVersion)}  {State(initialVersion),-9}  -\n");
        foreach (var v in versions)
        {
            text.Append(c, $"{v.Id,-28}  {Display.Safe(v.Parent),-28}  {v.Metrics.ValidationMap,7:0.0000}  {v.Metrics.BaseValidationMap,7:0.0000}  " +
                           $"{Number(v.Metrics.TestMap, "0.0000"),8}{Radii(v.Id)}  {State(v.Id),-9}  {Projection(v.Projection)}\n");
        }
        text.Append(c, $"radius {string.Join(", ", precisions)}: the OPTICS radius `motif run` calibrated for the version's 224 px signatures at that precision (--precision); ")
            .Append("- where no run without --max-eps has calibrated one yet. projection: the learned signature projection the version signs with (motif train, unless --no-whiten), its power and dimensions.\n");
        return text.ToString();

        static string Projection(TrainingProjection? p) => p is null ? "-" : string.Create(CultureInfo.InvariantCulture, $"power {p.Power:0.##}, {p.Dimension} dims");

        string State(string id) => ModelRegistry.StateOf(id, pointer).ToString().ToLowerInvariant();
    }
}
