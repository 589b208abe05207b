using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Imaging;
using Motif.Pipeline.Composition;

namespace Motif.Pipeline.Tests;

/// <summary>
/// How many threads the composition gives the signing loop's decoding, and whether they decode during a forward pass:
/// all of Motif__Threads, taking turns with the forward pass, when it runs on the CPU's cores; one fewer, beside it,
/// when it runs on an accelerator (its feeding thread keeps a core); and what Motif__DecodeCores says when it is set.
/// </summary>
public sealed class DecodeCoresTests : IDisposable
{
    private readonly DirectoryInfo _workspace = Directory.CreateTempSubdirectory("motif-decode-cores-");

    public void Dispose() => _workspace.Delete(recursive: true);

    [Theory]
    [InlineData(null, false, 4, false)]
    [InlineData(null, true, 3, true)]
    [InlineData("auto", true, 3, true)]
    [InlineData("shared", true, 4, true)]
    [InlineData("shared", false, 4, true)]
    [InlineData("Leave-Inference-Core", false, 3, true)]
    [InlineData("take-turns", true, 4, false)]
    public void The_composition_chooses_the_decode_threads_from_the_setting_and_the_embedder(string? setting, bool onAccelerator, int expected, bool beside)
    {
        using var services = Compose(new() { ["Motif:Threads"] = "4", ["Motif:DecodeCores"] = setting }, onAccelerator);

        var options = services.GetRequiredService<SignatureService>().Options;
        Assert.Equal((expected, beside), (options.PreprocessThreads, options.DecodeBesideForwardPass));
    }

    [Fact]
    public void One_thread_still_decodes_when_the_inference_core_is_left_free()
    {
        Assert.Equal(1, new MotifPipelineOptions { Threads = 1, DecodeCores = DecodeCores.LeaveInferenceCore }.DecodeThreads(embedderOnAccelerator: true));
    }

    [Fact]
    public void An_unknown_value_is_refused_with_the_setting_named()
    {
        var error = Assert.Throws<PipelineConfigurationException>(() => Compose(new() { ["Motif:DecodeCores"] = "most" }, onAccelerator: false));

        Assert.Contains("Motif__DecodeCores", error.Message, StringComparison.Ordinal);
        Assert.Contains("'most'", error.Message, StringComparison.Ordinal);
    }

    private ServiceProvider Compose(Dictionary<string, string?> settings, bool onAccelerator)
    {
        settings["Motif:Workspace"] = _workspace.FullName;
        settings["Motif:ModelVersion"] = new ThumbnailEmbedder().ModelVersion;
        return new ServiceCollection()
            .AddMotifPipeline(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .AddSingleton<ISignatureEmbedder>(new PlacedEmbedder(new ThumbnailEmbedder(), onAccelerator))
            .BuildServiceProvider();
    }

    /// <summary>The thumbnail embedder, said to compute on an accelerator or on the CPU.</summary>
    private sealed class PlacedEmbedder(ThumbnailEmbedder inner, bool onAccelerator) : ISignatureEmbedder
    {
        public string ModelVersion => inner.ModelVersion;

        public int Dimension => inner.Dimension;

        public PreprocessSpec Preprocessing => inner.Preprocessing;

        public bool OnAccelerator => onAccelerator;

        public void Embed(ReadOnlySpan<float> images, int count, Span<float> signatures) => inner.Embed(images, count, signatures);
    }
}
