using System.Text.Json;
using Motif.Pipeline.Models;
using Motif.Pipeline.Training;
using Motif.Testing;

namespace Motif.Pipeline.Tests.Models;

/// <summary>
/// How a deployment keys a version's signatures (<see cref="QueuedRolloutSteps.SignatureVersionOf"/>), the rule the
/// Recluster timer and the worker's graph updates share: the registry's initial version under the configured signature
/// version itself, any other under <see cref="SignatureVersions.Of"/>. The configured model here is not named like the
/// registry's initial version (<see cref="ThumbnailEmbedder"/>, <c>thumbnail-16 test</c>), as a deployment's need not be.
/// </summary>
public sealed class QueuedRolloutStepsTests : IDisposable
{
    private const string Tuned = "checkpoint:0123456789abcdef";
    private readonly PipelineFixture _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public void The_initial_version_is_keyed_by_the_configured_signature_version_and_any_other_by_its_id_at_the_configured_input()
    {
        var steps = new QueuedRolloutSteps(_workspace.Catalog, _workspace.Jobs, "thumbnail-16 test", ModelRegistry.PackagedVersion);

        Assert.Equal("thumbnail-16 test", steps.SignatureVersionOf(ModelRegistry.PackagedVersion));
        Assert.Equal($"{Tuned} test", steps.SignatureVersionOf(Tuned));
    }

    [Fact]
    public async Task A_rollback_to_the_initial_version_counts_the_images_signed_under_the_configured_model_and_switches()
    {
        for (var k = 0; k < 3; k++)
        {
            Assert.Equal(IngestOutcome.Accepted, await _workspace.Ingest.IngestAsync($"img{k}.png", "s", ImageFixtures.ColourGrid(k)));
        }
        Assert.Equal(3, (await _workspace.Signatures.ProcessAllAsync()).Signed);
        var registry = ModelRegistry.ForWorkspace(_workspace.Blobs);
        // A fine-tuned version serves and the initial one is pending again: a rollback, written as an operator writes it.
        await _workspace.Blobs.PutAsync(ModelRegistry.PointerBlob, new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(
            new ServingPointer(Tuned, registry.InitialVersion, null, DateTimeOffset.UnixEpoch), TrainingService.Json)));
        var steps = new QueuedRolloutSteps(_workspace.Catalog, _workspace.Jobs, _workspace.Embedder.ModelVersion, registry.InitialVersion);

        var status = await new ModelRollout(registry, _workspace.Catalog, steps).AdvanceAsync();

        Assert.Equal((true, 0, registry.InitialVersion, (string?)Tuned), (status.Switched, status.Unsigned, status.Pointer.Serving, status.Pointer.Previous));
        Assert.Equal(0, await steps.EnqueueResigningAsync(registry.InitialVersion, CancellationToken.None));
    }
}
