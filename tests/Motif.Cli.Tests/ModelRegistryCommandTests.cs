using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Motif.Engine;
using Motif.Pipeline;
using Motif.Pipeline.Models;
using Motif.Pipeline.Training;
using Motif.Storage.Blobs;
using Motif.Testing;

namespace Motif.Cli.Tests;

/// <summary>The registry from the command line: <c>motif models</c>, <c>motif run</c> picking the workspace's version and
/// completing a rollout, on the engine's tiny ResNet (the packaged network is never opened).</summary>
public sealed class ModelRegistryCommandTests : IDisposable
{
    private const string Tiny = "torchvision:layers=1-1-1-1;base=8;classes=0";
    private static readonly string Packaged = ModelCatalog.VersionOf(ModelCatalog.PackagedResNet50);
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("motif-models-");

    public void Dispose() => _scratch.Delete(recursive: true);

    private string Workspace => Path.Combine(_scratch.FullName, "workspace");

    private string In(string relative) => Path.Combine(_scratch.FullName, relative);

    /// <summary>Registers a tiny network as a version trained from <paramref name="parent"/> (a hand-made finished run
    /// whose epoch 1 validated at <paramref name="validation"/> against the base's 0.5).</summary>
    private async Task<ModelVersionRecord> RegisterTinyAsync(IBlobStore blobs, string parent, double validation)
    {
        var file = In($"tiny-{Guid.NewGuid():N}.ckpt");
        using (var tiny = SignatureModel.Create(Tiny))
        {
            tiny.SaveCheckpoint(file);
        }
        var folder = CollectionBlobs.TrainingRun(Guid.NewGuid().ToString("N"));
        await using (var content = File.OpenRead(file))
        {
            await blobs.PutAsync(folder + "epoch-0001.ckpt", content);
        }
        var epochs = new[]
        {
            new TrainingEpoch(0, 0, 0, [], 0.5, folder + "epoch-0000.ckpt", "h0"),
            new TrainingEpoch(1, 4, 16, [0.3f], validation, folder + "epoch-0001.ckpt", "h1"),
        };
        var progress = new TrainingProgress(TrainingProgress.CurrentSchema, "k", parent, "data", TrainingRunOptions.Cpu, epochs, new TrainingTest(1, 0.6, 4, 0.5, 1));
        return await WorkspaceModels.Registry(blobs).RegisterAsync(new TrainingResult(folder, progress, folder + "epoch-0001.ckpt", false, []));
    }

    [Fact]
    public async Task A_run_signs_under_the_pending_version_then_it_serves_and_models_lists_it()
    {
        var collection = Directory.CreateDirectory(In("collection"));
        for (var i = 0; i < 4; i++)
        {
            await File.WriteAllBytesAsync(Path.Combine(collection.FullName, $"grid-{i}.png"), ImageFixtures.ColourGrid(i));
        }
        ModelVersionRecord version, stale;
        await using (var workspace = (await Motif.Cli.Workspace.OpenAsync(new DirectoryInfo(Workspace), StorageKind.Embedded, create: true, CancellationToken.None))!)
        {
            await workspace.Catalog.GetImageAsync("");   // the catalog makes the folder a workspace
            version = await RegisterTinyAsync(workspace.Blobs, Packaged, 0.6);
            stale = await RegisterTinyAsync(workspace.Blobs, "checkpoint:ffffffffffffffff", 0.9);
            Assert.True((await WorkspaceModels.Registry(workspace.Blobs).PromoteAsync(version.Id)).Promoted);
        }

        var (exit, output, error) = await Cli.RunAsync("models", "--out", Workspace);

        Assert.True(exit == 0, error);
        Assert.Matches($@"{Regex.Escape(Packaged)} +\(packaged\) .* serving +-\n", output);
        Assert.Matches($@"{Regex.Escape(version.Id)} +{Regex.Escape(Packaged)} +0\.6000 +0\.5000 +0\.6000 +- +- +pending +-\n", output);
        Assert.Matches($@"{Regex.Escape(stale.Id)} +checkpoint:ffffffffffffffff +0\.9000 .* candidate +-\n", output);

        // No --model: the run signs under the pending version, and once every image is signed it serves.
        (exit, output, error) = await Cli.RunAsync("run", collection.FullName, "--out", Workspace, "--max-eps", "0.3", "--threads", "2");

        Assert.True(exit == 0, error);
        Assert.Contains($"  model               {version.Id}  (promoted: its signatures are complete, so it serves from this run on)", output);
        await using (var workspace = (await Motif.Cli.Workspace.OpenAsync(new DirectoryInfo(Workspace), StorageKind.Embedded, create: false, CancellationToken.None))!)
        {
            var (pointer, _) = await WorkspaceModels.Registry(workspace.Blobs).ReadPointerAsync();
            Assert.Equal(new[] { version.Id, null, Packaged }, new[] { pointer.Serving, pointer.Pending, pointer.Previous });
            Assert.Equal(4, (await workspace.Catalog.ListSignedAsync(EngineSignatureEmbedder.VersionOf(version.Id))).Count);
            var latest = await workspace.Services.GetRequiredService<ReclusterService>().ReadLatestAsync();
            Assert.Equal(EngineSignatureEmbedder.VersionOf(version.Id), latest!.Manifest.ModelVersion);
        }

        // The next run uses the serving version as it is.
        (exit, output, error) = await Cli.RunAsync("run", collection.FullName, "--out", Workspace, "--max-eps", "0.3", "--threads", "2");
        Assert.True(exit == 0, error);
        Assert.Contains($"  model               {version.Id}  (the workspace's serving version)", output);
        (exit, output, _) = await Cli.RunAsync("models", "--out", Workspace);
        Assert.Matches($@"{Regex.Escape(version.Id)} .* serving +-\n", output);
        Assert.Matches($@"{Regex.Escape(Packaged)} .* candidate +-\n", output);
    }

    /// <summary>
    /// A <c>node</c> first on the PATH that notes each start and runs the real one: how Azurite is started (its
    /// <see cref="Motif.Storage.Azure.Azurite.AzuriteOptions.Node"/> is found on the PATH), so every Azurite a command
    /// starts is one line of the returned file.
    /// </summary>
    private string CountingNode()
    {
        var real = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "node")).First(File.Exists);
        var folder = Directory.CreateDirectory(In("counting-node")).FullName;
        var starts = Path.Combine(folder, "starts.log");
        var script = Path.Combine(folder, "node");
        File.WriteAllText(script, $"#!/bin/sh\necho \"$*\" >> '{starts}'\nexec '{real}' \"$@\"\n");
        if (!OperatingSystem.IsWindows())   // the whole test is Unix-only (a shell script named node); this is for the analyzer
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return folder;
    }

    [Fact]
    public async Task A_run_on_Azurite_without_model_chooses_the_pending_version_in_the_one_Azurite_it_starts()
    {
        var collection = Directory.CreateDirectory(In("collection"));
        for (var i = 0; i < 4; i++)
        {
            await File.WriteAllBytesAsync(Path.Combine(collection.FullName, $"grid-{i}.png"), ImageFixtures.ColourGrid(i));
        }
        ModelVersionRecord version;
        await using (var workspace = (await Motif.Cli.Workspace.OpenAsync(new DirectoryInfo(Workspace), StorageKind.Azurite, create: true, CancellationToken.None))!)
        {
            version = await RegisterTinyAsync(workspace.Blobs, Packaged, 0.6);
            Assert.True((await WorkspaceModels.Registry(workspace.Blobs).PromoteAsync(version.Id)).Promoted);
        }
        var node = CountingNode();

        // The real command line in its own process, so that its PATH (and only its) leads to the counting node.
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "motif.dll"), "run", collection.FullName, "--out", Workspace,
            "--storage", "azurite", "--max-eps", "0.3", "--threads", "2"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["PATH"] = node + ":" + Environment.GetEnvironmentVariable("PATH");
        start.Environment.Remove("MotifStorage");
        using var run = Process.Start(start)!;
        var (output, error) = (run.StandardOutput.ReadToEndAsync(), run.StandardError.ReadToEndAsync());
        await run.WaitForExitAsync();

        Assert.True(run.ExitCode == 0, await error);
        // The registry's pointer was read in the workspace the run used: the pending version signed, then served.
        Assert.Contains($"  model               {version.Id}  (promoted: its signatures are complete, so it serves from this run on)", await output);
        var starts = await File.ReadAllLinesAsync(Path.Combine(node, "starts.log"));
        Assert.Single(starts, l => l.Contains("azurite.js", StringComparison.Ordinal));
    }

    [Fact]
    public void Models_shows_the_radius_of_each_precision_and_says_which_signatures_it_belongs_to()
    {
        var pointer = new ServingPointer(Packaged, null, null, DateTimeOffset.UnixEpoch);
        var radii = new Dictionary<string, double?>
        {
            [EngineSignatureEmbedder.VersionOf(Packaged)] = 0.448,
            [EngineSignatureEmbedder.VersionOf(Packaged, precision: Precision.BFloat16)] = 0.431,
            [EngineSignatureEmbedder.VersionOf(Packaged, inputSize: 320)] = 0.2,   // no column: `motif run` signs at 224 px only
        };

        var table = ModelsCommand.Table(Packaged, [], pointer, radii);

        Assert.Matches(@"^version +parent +val mAP +base +test mAP +radius fp32 +radius bf16 +state +projection\n", table);
        Assert.Matches($@"\n{Regex.Escape(Packaged)} +\(packaged\) +- +- +- +0\.448 +0\.431 +serving +-\n", table);
        Assert.EndsWith("radius fp32, bf16: the OPTICS radius `motif run` calibrated for the version's 224 px signatures at that precision (--precision); " +
                        "- where no run without --max-eps has calibrated one yet. projection: the learned signature projection the version signs with " +
                        "(motif train, unless --no-whiten), its power and dimensions.\n", table);
    }

    [Fact]
    public async Task Models_reads_one_line_errors()
    {
        var (exit, _, error) = await Cli.RunAsync("models", "--out", In("nowhere"));
        Assert.Equal(2, exit);
        Assert.Contains("No workspace in", error);

        await using (var workspace = (await Motif.Cli.Workspace.OpenAsync(new DirectoryInfo(Workspace), StorageKind.Embedded, create: true, CancellationToken.None))!)
        {
            await workspace.Catalog.GetImageAsync("");
            await workspace.Blobs.PutAsync(ModelRegistry.PointerBlob, new MemoryStream("{broken"u8.ToArray()));
        }
        (exit, _, error) = await Cli.RunAsync("models", "--out", Workspace);
        Assert.Equal(2, exit);
        Assert.True(error.Contains("models/serving.json is unreadable", StringComparison.Ordinal), error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.DoesNotContain("   at ", error);
    }
}
