using System.Diagnostics;
using System.Text.Json.Nodes;
using Motif.Core.Manifests;
using Motif.Testing;

namespace Motif.Pipeline.Tests;

/// <summary>
/// One trace id from the upload to the published manifest: intake stores the upload's trace id on the catalog record,
/// reclustering copies it to the image's manifest entry and adds the trace id of its own run.
/// </summary>
/// <remarks>
/// An <see cref="ActivityListener"/> is process-wide, so this one listens to this class's own source only (a name no
/// other test uses) and is disposed with the test: other tests' activities are neither created nor sampled by it.
/// </remarks>
public sealed class UploadTraceTests : IDisposable
{
    private const string UploadTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string RunTrace = "0af7651916cd43dd8448eb211c80319c";
    private static readonly ClusteringParameters Parameters = new(0.13, 2, Extraction.Xi, 0.05, null, true, null);

    private readonly PipelineFixture _f = new();
    private readonly ActivitySource _source = new($"{typeof(UploadTraceTests).FullName}-{Guid.NewGuid():N}");
    private readonly ActivityListener _listener;

    public UploadTraceTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => ReferenceEquals(source, _source),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _source.Dispose();
        _f.Dispose();
    }

    /// <summary>An activity of this class's source in the trace <paramref name="traceId"/>, as a caller that continued it would start.</summary>
    private Activity Traced(string name, string traceId)
    {
        var parent = new ActivityContext(ActivityTraceId.CreateFromString(traceId), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);
        var activity = _source.StartActivity(name, ActivityKind.Consumer, parent);
        Assert.NotNull(activity);
        Assert.Equal(ActivityIdFormat.W3C, activity.IdFormat);
        return activity;
    }

    [Fact]
    public async Task The_upload_s_trace_id_reaches_the_catalog_and_its_manifest_entry_and_the_manifest_names_the_run_s_trace()
    {
        var original = TestData.Photo("coffee.png");
        using (Traced("ingest upload", UploadTrace))
        {
            Assert.Equal(IngestOutcome.Accepted, await _f.Ingest.IngestAsync("coffee.png/original", null, original));
            Assert.Equal(IngestOutcome.Rejected, await _f.Ingest.IngestAsync("broken.jpg", null, ImageFixtures.Truncated(ImageFixtures.Jpeg(400, 300))));
        }
        Assert.Null(Activity.Current);
        await _f.Ingest.IngestAsync("coffee.png/copy", null, ImageFixtures.Variant(original, 0.92, (1.04, 1.0, 0.97)));
        await _f.Signatures.ProcessAllAsync();

        Assert.Equal(UploadTrace, (await _f.Catalog.GetImageAsync("coffee.png/original"))!.TraceId);
        Assert.Equal(UploadTrace, (await _f.Catalog.GetImageAsync("broken.jpg"))!.TraceId);
        Assert.Null((await _f.Catalog.GetImageAsync("coffee.png/copy"))!.TraceId);

        ReclusterResult result;
        using (Traced("recluster", RunTrace))
        {
            result = await _f.UpdateGraphAndReclusterAsync(Parameters);
        }

        Assert.True(result.Published);
        var manifest = result.Manifest!.Manifest;
        Assert.Equal(RunTrace, manifest.TraceId);
        Assert.Equal([("coffee.png/copy", null), ("coffee.png/original", UploadTrace)], manifest.Images.Select(i => (i.ImageId, i.TraceId)));

        // What readers get: the published JSON, where an untraced upload's entry has no traceId at all.
        var json = JsonNode.Parse(await _f.ReadTextAsync(ManifestPublisher.LatestName))!;
        Assert.Equal(RunTrace, (string?)json["traceId"]);
        var images = json["images"]!.AsArray().ToDictionary(i => (string)i!["imageId"]!, i => i!.AsObject());
        Assert.Equal(UploadTrace, (string?)images["coffee.png/original"]["traceId"]);
        Assert.False(images["coffee.png/copy"].ContainsKey("traceId"));
        Assert.Equal(manifest.Images, ClusterManifest.FromJson(json.ToJsonString()).Images);
    }

    [Fact]
    public async Task Untraced_uploads_and_an_untraced_run_leave_no_trace_id_in_the_manifest_json()
    {
        var original = TestData.Photo("coffee.png");
        await _f.Ingest.IngestAsync("coffee.png/original", null, original);
        await _f.Ingest.IngestAsync("coffee.png/copy", null, ImageFixtures.Variant(original, 0.92, (1.04, 1.0, 0.97)));
        await _f.Signatures.ProcessAllAsync();

        var result = await _f.UpdateGraphAndReclusterAsync(Parameters);

        Assert.True(result.Published);
        Assert.Null(result.Manifest!.Manifest.TraceId);
        Assert.All(result.Manifest.Manifest.Images, i => Assert.Null(i.TraceId));
        Assert.DoesNotContain("traceId", await _f.ReadTextAsync(ManifestPublisher.LatestName), StringComparison.Ordinal);
    }
}
