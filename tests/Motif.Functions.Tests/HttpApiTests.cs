using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Motif.Core.Manifests;
using Motif.Functions.Api;
using Motif.Storage.Azure.Azurite;
using Motif.Testing;

namespace Motif.Functions.Tests;

/// <summary>The HTTP functions invoked with DefaultHttpContext requests: status codes and JSON shapes as clients see them.</summary>
public sealed class HttpApiTests : IAsyncLifetime
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private static readonly CancellationToken None = CancellationToken.None;
    private FunctionsFixture _f = null!;

    public async Task InitializeAsync() => _f = await FunctionsFixture.StartAsync(new Dictionary<string, string?>
    {
        // Nothing listens on port 1: the worker is configured but unreachable.
        ["Motif:WorkerSearchUri"] = "http://127.0.0.1:1/search",
    });

    public async Task DisposeAsync() => await _f.DisposeAsync();

    /// <summary>The JSON body of an MVC result as ASP.NET Core writes it (web defaults: camelCase).</summary>
    private static (int Status, JsonElement Json) Body(IActionResult result) => result switch
    {
        ContentResult c => (c.StatusCode ?? 200, JsonDocument.Parse(c.Content!).RootElement),
        ObjectResult o => (o.StatusCode ?? 200, JsonSerializer.SerializeToElement(o.Value, o.Value!.GetType(), Web)),
        _ => throw new InvalidOperationException($"Unexpected result {result.GetType().Name}"),
    };

    [Fact]
    public async Task Clusters_404_before_publication_then_the_manifest_and_each_cluster()
    {
        var clusters = _f.Get<ClustersApi>();
        var (status, problem) = Body(await clusters.GetClustersAsync(FunctionsFixture.Request(), None));
        Assert.Equal(404, status);
        Assert.Equal(404, problem.GetProperty("status").GetInt32());

        await ReclusterTests.UploadFamiliesAsync(_f);
        await _f.Get<Recluster>().RunAsync(null, None);
        var request = FunctionsFixture.Request();
        (status, var manifest) = Body(await clusters.GetClustersAsync(request, None));
        Assert.Equal(200, status);
        Assert.Equal(ClusterManifest.CurrentSchemaVersion, manifest.GetProperty("schemaVersion").GetInt32());
        Assert.Equal(4, manifest.GetProperty("images").GetArrayLength());
        Assert.False(string.IsNullOrEmpty(request.HttpContext.Response.Headers.ETag));

        var id = manifest.GetProperty("clusters")[0].GetProperty("id").GetString()!;
        (status, var cluster) = Body(await clusters.GetClusterAsync(FunctionsFixture.Request(), id, None));
        Assert.Equal(200, status);
        Assert.Equal(id, cluster.GetProperty("id").GetString());
        Assert.Equal(2, cluster.GetProperty("size").GetInt32());
        Assert.Equal(JsonValueKind.String, cluster.GetProperty("medoid").ValueKind);
        Assert.Equal(manifest.GetProperty("runId").GetString(), cluster.GetProperty("runId").GetString());
        Assert.Equal(manifest.GetProperty("parameters").GetProperty("maxEps").GetDouble(), cluster.GetProperty("radius").GetDouble());
        // Members in OPTICS order, each with the manifest's reachability and what a page shows.
        var manifestMembers = manifest.GetProperty("clusters")[0].GetProperty("members").EnumerateArray().OrderBy(m => m.GetProperty("order").GetInt32()).ToArray();
        var members = cluster.GetProperty("members").EnumerateArray().ToArray();
        Assert.Equal(manifestMembers.Select(m => m.GetProperty("imageId").GetString()), members.Select(m => m.GetProperty("imageId").GetString()));
        Assert.Equal(manifestMembers.Select(m => m.GetProperty("reachability").ToString()), members.Select(m => m.GetProperty("reachability").ToString()));
        foreach (var member in members)
        {
            var memberId = member.GetProperty("imageId").GetString()!;
            Assert.Equal(ApiIds.Encode(memberId), member.GetProperty("key").GetString());
            Assert.Matches("^/api/thumbnails/[0-9a-f]{64}$", member.GetProperty("thumbnail").GetString());
            Assert.Matches("^/api/derivatives/[0-9a-f]{64}$", member.GetProperty("derivative").GetString());
            Assert.True(member.GetProperty("width").GetInt32() > 0);
            Assert.False(string.IsNullOrEmpty(member.GetProperty("format").GetString()));
        }
        Assert.Equal(404, Body(await clusters.GetClusterAsync(FunctionsFixture.Request(), "C999", None)).Status);

        // The gallery: every cluster, largest first, a card each with previews (the medoid first) and all member ids.
        (status, var gallery) = Body(await clusters.GetGalleryAsync(FunctionsFixture.Request(), None));
        Assert.Equal(200, status);
        Assert.Equal(manifest.GetProperty("runId").GetString(), gallery.GetProperty("runId").GetString());
        var cards = gallery.GetProperty("clusters").EnumerateArray().ToArray();
        Assert.Equal(manifest.GetProperty("clusters").GetArrayLength(), cards.Length);
        Assert.True(cards.Select(c => c.GetProperty("size").GetInt32()).SequenceEqual(cards.Select(c => c.GetProperty("size").GetInt32()).OrderDescending()));
        foreach (var card in cards)
        {
            var previews = card.GetProperty("previews").EnumerateArray().ToArray();
            Assert.Equal(card.GetProperty("medoid").GetString(), previews[0].GetProperty("id").GetString());
            Assert.Equal(Math.Min(card.GetProperty("size").GetInt32(), ClustersApi.PreviewsPerCluster), previews.Length);
            Assert.All(previews, p => Assert.Matches("^/api/thumbnails/[0-9a-f]{64}$", p.GetProperty("thumbnail").GetString()));
            Assert.Equal(card.GetProperty("size").GetInt32(), card.GetProperty("memberIds").GetArrayLength());
        }
        var noise = manifest.GetProperty("images").EnumerateArray().Where(i => i.GetProperty("clusterId").ValueKind == JsonValueKind.Null).Select(i => i.GetProperty("imageId").GetString());
        Assert.Equal(noise, gallery.GetProperty("unclustered").EnumerateArray().Select(i => i.GetProperty("id").GetString()));
        Assert.Equal(manifest.GetProperty("counts").GetProperty("noise").GetInt32(), gallery.GetProperty("unclustered").GetArrayLength());
    }

    [Fact]
    public async Task Map_404_before_publication_then_the_latest_runs_map_as_published()
    {
        var api = _f.Get<RunFilesApi>();
        Assert.Equal(404, Body(await api.GetMapAsync(FunctionsFixture.Request(), None)).Status);

        await ReclusterTests.UploadFamiliesAsync(_f);
        await _f.Get<Recluster>().RunAsync(null, None);
        var manifest = Body(await _f.Get<ClustersApi>().GetClustersAsync(FunctionsFixture.Request(), None)).Json;
        var request = FunctionsFixture.Request();
        var result = Assert.IsType<FileStreamResult>(await api.GetMapAsync(request, None));
        string json;
        using (var reader = new StreamReader(result.FileStream))
        {
            json = await reader.ReadToEndAsync();
        }
        var map = Motif.Core.Layout.CollectionMap.FromJson(json);

        Assert.StartsWith("application/json", result.ContentType);
        Assert.Equal(manifest.GetProperty("runId").GetString(), map.RunId);
        Assert.Equal(map.RunId, request.HttpContext.Response.Headers["X-Motif-Run"].ToString());
        Assert.Equal(manifest.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("imageId").GetString()), map.Ids);
        Assert.Equal(manifest.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("clusterId").GetString()),
            map.Cluster.Select(c => c < 0 ? null : map.Clusters[c]));
    }

    [Fact]
    public async Task Reachability_404_before_publication_then_every_image_of_the_latest_run_in_optics_order()
    {
        var api = _f.Get<RunFilesApi>();
        Assert.Equal(404, Body(await api.GetReachabilityAsync(FunctionsFixture.Request(), None)).Status);

        await ReclusterTests.UploadFamiliesAsync(_f);
        await _f.Get<Recluster>().RunAsync(null, None);
        var manifest = (await _f.Get<Motif.Pipeline.ReclusterService>().ReadLatestAsync(None))!.Manifest;
        var request = FunctionsFixture.Request();
        var result = Assert.IsType<FileStreamResult>(await api.GetReachabilityAsync(request, None));
        string json;
        using (var reader = new StreamReader(result.FileStream))
        {
            json = await reader.ReadToEndAsync();
        }
        var plot = Motif.Core.Manifests.ReachabilityPlot.FromJson(json);

        Assert.StartsWith("application/json", result.ContentType);
        Assert.Equal(manifest.RunId, plot.RunId);
        Assert.Equal(plot.RunId, request.HttpContext.Response.Headers["X-Motif-Run"].ToString());
        // Every image once, noise included, in OPTICS order: each member's position is its manifest order.
        Assert.Equal(manifest.Images.Select(i => i.ImageId).Order(StringComparer.Ordinal), plot.Ids.Order(StringComparer.Ordinal));
        Assert.Equal(manifest.Clusters.Select(c => c.Id), plot.Clusters);
        foreach (var member in manifest.Clusters.SelectMany(c => c.Members.Select(m => (c.Id, m))))
        {
            Assert.Equal(member.m.ImageId, plot.Ids[member.m.Order]);
            Assert.Equal(member.Id, plot.Clusters[plot.Cluster[member.m.Order]]);
            Assert.Equal(member.m.Reachability is { } r ? Math.Round(r, 6) : null, plot.Reachability[member.m.Order]);
        }
        Assert.Equal(manifest.Counts.Noise, plot.Cluster.Count(c => c < 0));
        Assert.Null(plot.Reachability[0]);
        Assert.Equal(manifest.Parameters.MaxEps, plot.Radius);
    }

    [Fact]
    public async Task Members_carry_their_metadata_the_gallery_its_filters_and_each_cluster_its_change_since_the_previous_run()
    {
        const string csv = "filename,title,artist,date,category,permalink\n" +
                           "coffee.png/original.png,\"<script>alert(1)</script>\",Ann,1503,Prints,javascript:alert(1)\n" +
                           "coffee.png/copy.jpg,Coffee copy,Bob,,Prints,https://example.org/copy\n" +
                           "chelsea.png/original.png,Chelsea,Cat,,Photographs,\n";
        Assert.Equal(Pipeline.IngestOutcome.Accepted, await _f.UploadAndIngestAsync("museum/metadata.csv", System.Text.Encoding.UTF8.GetBytes(csv)));
        await ReclusterTests.UploadFamiliesAsync(_f);
        await _f.Get<Recluster>().RunAsync(null, None);
        var clusters = _f.Get<ClustersApi>();

        var (status, gallery) = Body(await clusters.GetGalleryAsync(FunctionsFixture.Request(), None));
        Assert.Equal(200, status);
        Assert.Equal(["Photographs", "Prints"], gallery.GetProperty("collections").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(JsonValueKind.Null, gallery.GetProperty("previousRunId").ValueKind);
        var coffee = gallery.GetProperty("clusters").EnumerateArray().Single(c => c.GetProperty("memberIds").EnumerateArray().Any(m => m.GetString() == "museum/coffee.png/copy.jpg"));
        Assert.Equal(["Prints"], coffee.GetProperty("collections").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(["<script>alert(1)</script>", "Ann", "Bob", "Coffee copy"], coffee.GetProperty("text").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(JsonValueKind.Null, coffee.GetProperty("change").ValueKind);   // a first run

        var coffeeId = coffee.GetProperty("id").GetString()!;
        (status, var cluster) = Body(await clusters.GetClusterAsync(FunctionsFixture.Request(), coffeeId, None));
        var original = cluster.GetProperty("members").EnumerateArray().Single(m => m.GetProperty("imageId").GetString() == "museum/coffee.png/original.png").GetProperty("metadata");
        Assert.Equal(("<script>alert(1)</script>", "Ann", "1503", "Prints"),
            (original.GetProperty("title").GetString(), original.GetProperty("artist").GetString(), original.GetProperty("date").GetString(), original.GetProperty("collection").GetString()));
        Assert.Equal(JsonValueKind.Null, original.GetProperty("source").ValueKind);   // javascript: never becomes a link
        (status, var image) = Body(await _f.Get<ImagesApi>().GetImageAsync(FunctionsFixture.Request(), ApiIds.Encode("museum/coffee.png/copy.jpg"), None));
        Assert.Equal(("Coffee copy", "https://example.org/copy"), (image.GetProperty("metadata").GetProperty("title").GetString(), image.GetProperty("metadata").GetProperty("source").GetString()));
        (status, image) = Body(await _f.Get<ImagesApi>().GetImageAsync(FunctionsFixture.Request(), ApiIds.Encode("museum/chelsea.png/copy.jpg"), None));
        Assert.Equal(JsonValueKind.Null, image.GetProperty("metadata").ValueKind);

        // A third coffee joins: the next run says the coffee cluster grew from 2, the other is unchanged.
        var photo = TestData.Photo("coffee.png");
        Assert.Equal(Pipeline.IngestOutcome.Accepted, await _f.UploadAndIngestAsync("museum/coffee.png/warm.jpg", ImageFixtures.Variant(photo, 0.95, (1.0, 1.02, 1.0))));
        await _f.SignAndUpdateGraphAsync();
        await _f.Get<Recluster>().RunAsync(null, None);
        (status, var next) = Body(await clusters.GetGalleryAsync(FunctionsFixture.Request(), None));
        Assert.Equal(gallery.GetProperty("runId").GetString(), next.GetProperty("previousRunId").GetString());
        var changes = next.GetProperty("clusters").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetString()!, c => c.GetProperty("change"));
        Assert.Equal(("grown", 2), (changes[coffeeId].GetProperty("kind").GetString(), changes[coffeeId].GetProperty("previousSize").GetInt32()));
        Assert.Equal("unchanged", Assert.Single(changes, c => c.Key != coffeeId).Value.GetProperty("kind").GetString());
        (status, cluster) = Body(await clusters.GetClusterAsync(FunctionsFixture.Request(), coffeeId, None));
        Assert.Equal("grown", cluster.GetProperty("change").GetProperty("kind").GetString());
    }

    [Fact]
    public async Task Images_by_base64url_key_with_links_neighbours_and_files()
    {
        await ReclusterTests.UploadFamiliesAsync(_f);
        await _f.UploadAndIngestAsync("museum/junk.jpg", ImageFixtures.TextNamedJpeg());
        await _f.Get<Recluster>().RunAsync(null, None);
        var images = _f.Get<ImagesApi>();
        var id = "museum/coffee.png/original.png";
        var key = ApiIds.Encode(id);
        Assert.Equal(id, ApiIds.Decode(key));
        Assert.DoesNotContain('/', key);

        var (status, image) = Body(await images.GetImageAsync(FunctionsFixture.Request(), key, None));
        Assert.Equal(200, status);
        Assert.Equal((id, key, "accepted"), (image.GetProperty("id").GetString(), image.GetProperty("key").GetString(), image.GetProperty("status").GetString()));
        Assert.StartsWith("C", image.GetProperty("clusterId").GetString());
        var links = image.GetProperty("links");
        Assert.Equal($"/api/images/{key}/neighbours", links.GetProperty("neighbours").GetString());
        var hash = image.GetProperty("contentHash").GetString()!;
        Assert.Equal($"/api/thumbnails/{hash}", links.GetProperty("thumbnail").GetString());

        (status, var rejected) = Body(await images.GetImageAsync(FunctionsFixture.Request(), ApiIds.Encode("museum/junk.jpg"), None));
        Assert.Equal((200, "rejected", "unknown-format"), (status, rejected.GetProperty("status").GetString(), rejected.GetProperty("reason").GetString()));
        Assert.Equal(JsonValueKind.Null, rejected.GetProperty("links").GetProperty("thumbnail").ValueKind);

        Assert.Equal(400, Body(await images.GetImageAsync(FunctionsFixture.Request(), "not base64url!", None)).Status);
        Assert.Equal(404, Body(await images.GetImageAsync(FunctionsFixture.Request(), ApiIds.Encode("museum/none.jpg"), None)).Status);

        (status, var neighbours) = Body(await images.GetNeighboursAsync(FunctionsFixture.Request(query: "?k=1"), key, None));
        Assert.Equal(200, status);
        var nearest = Assert.Single(neighbours.GetProperty("neighbours").EnumerateArray());
        Assert.Equal("museum/coffee.png/copy.jpg", nearest.GetProperty("id").GetString());
        Assert.InRange(nearest.GetProperty("distance").GetDouble(), 0, 0.3);
        var copy = Body(await images.GetImageAsync(FunctionsFixture.Request(), ApiIds.Encode("museum/coffee.png/copy.jpg"), None)).Json;
        Assert.Equal(copy.GetProperty("links").GetProperty("thumbnail").GetString(), nearest.GetProperty("thumbnail").GetString());
        Assert.Equal(0.3, neighbours.GetProperty("radius").GetDouble());
        Assert.Equal(400, Body(await images.GetNeighboursAsync(FunctionsFixture.Request(query: "?k=0"), key, None)).Status);
        Assert.Equal(404, Body(await images.GetNeighboursAsync(FunctionsFixture.Request(), ApiIds.Encode("museum/junk.jpg"), None)).Status);

        var thumbnail = Assert.IsType<FileStreamResult>(await images.GetThumbnailAsync(FunctionsFixture.Request(), hash, None));
        Assert.Equal("image/jpeg", thumbnail.ContentType);
        Assert.Equal(400, Body(await images.GetThumbnailAsync(FunctionsFixture.Request(), "../secret", None)).Status);
        Assert.Equal(404, Body(await images.GetDerivativeAsync(FunctionsFixture.Request(), new string('0', 64), None)).Status);
    }

    [Fact]
    public async Task Search_validates_and_bounds_the_query_and_answers_503_without_a_reachable_worker()
    {
        var search = _f.Get<SearchApi>();
        var jpeg = ImageFixtures.Jpeg(120, 90);

        var (status, problem) = Body(await search.SearchAsync(FunctionsFixture.Request("POST", body: jpeg, contentType: "image/jpeg"), None));
        Assert.Equal(503, status);
        Assert.Equal("Search unavailable", problem.GetProperty("title").GetString());

        (status, problem) = Body(await search.SearchAsync(FunctionsFixture.Request("POST", body: "not an image"u8.ToArray(), contentType: "image/jpeg"), None));
        Assert.Equal(422, status);
        Assert.StartsWith("unknown-format", problem.GetProperty("detail").GetString());

        var oversized = FunctionsFixture.Request("POST", body: jpeg, contentType: "image/jpeg");
        oversized.ContentLength = MotifFunctionsOptions.DefaultSearchMaxBytes + 1;
        Assert.Equal(413, Body(await search.SearchAsync(oversized, None)).Status);
        Assert.Equal(400, Body(await search.SearchAsync(FunctionsFixture.Request("POST", query: "?k=abc", body: jpeg), None)).Status);

        var form = FunctionsFixture.Request("POST", body: "--b\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--b--\r\n"u8.ToArray(), contentType: "multipart/form-data; boundary=b");
        Assert.Equal(400, Body(await search.SearchAsync(form, None)).Status);

        await using var unconfigured = await FunctionsFixture.StartAsync();
        (status, problem) = Body(await unconfigured.Get<SearchApi>().SearchAsync(FunctionsFixture.Request("POST", body: jpeg), None));
        Assert.Equal(503, status);
        Assert.Contains("Motif__WorkerSearchUri", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Search_forwards_to_the_worker_adds_keys_and_thumbnails_and_refuses_an_answer_that_is_not_a_search_response()
    {
        var answer = "{\"model\":\"m\",\"signatures\":4,\"results\":[{\"imageId\":\"museum/chelsea.png/copy.jpg\",\"distance\":0.01},{\"imageId\":\"gone.jpg\",\"distance\":0.5}]}";
        var received = 0L;
        var failure = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        await using var worker = builder.Build();
        worker.MapPost("/search", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            received = body.Length;
            return failure == 0 ? Results.Text(answer, "application/json") : Results.Text(answer, "application/json", statusCode: failure);
        });
        await worker.StartAsync();
        await using var forwarding = await FunctionsFixture.StartAsync(new Dictionary<string, string?> { ["Motif:WorkerSearchUri"] = $"{worker.Urls.Single()}/search" });
        await ReclusterTests.UploadFamiliesAsync(forwarding);
        var jpeg = ImageFixtures.Jpeg(120, 90);

        var (status, found) = Body(await forwarding.Get<SearchApi>().SearchAsync(FunctionsFixture.Request("POST", query: "?k=2", body: jpeg, contentType: "image/jpeg"), None));
        Assert.Equal(200, status);
        Assert.Equal(jpeg.Length, received);
        Assert.Equal(("m", 4), (found.GetProperty("model").GetString(), found.GetProperty("signatures").GetInt32()));
        var results = found.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(["museum/chelsea.png/copy.jpg", "gone.jpg"], results.Select(r => r.GetProperty("imageId").GetString()));
        Assert.Equal(ApiIds.Encode("museum/chelsea.png/copy.jpg"), results[0].GetProperty("key").GetString());
        Assert.Matches("^/api/thumbnails/[0-9a-f]{64}$", results[0].GetProperty("thumbnail").GetString());
        Assert.Equal(JsonValueKind.Null, results[1].GetProperty("thumbnail").ValueKind);   // not in the catalog

        answer = "{\"model\":\"m\",\"results\":[{\"distance\":0.1}]}";
        (status, var problem) = Body(await forwarding.Get<SearchApi>().SearchAsync(FunctionsFixture.Request("POST", body: jpeg, contentType: "image/jpeg"), None));
        Assert.Equal(502, status);
        Assert.Equal("Search failed", problem.GetProperty("title").GetString());
        answer = "<html>";
        Assert.Equal(502, Body(await forwarding.Get<SearchApi>().SearchAsync(FunctionsFixture.Request("POST", body: jpeg, contentType: "image/jpeg"), None)).Status);

        // A serving model version the worker cannot open: its reason code, never its message.
        (failure, answer) = (500, "{\"error\":\"model-version-unloadable\",\"message\":\"models/versions/abc/weights.ckpt hash to x\"}");
        (status, problem) = Body(await forwarding.Get<SearchApi>().SearchAsync(FunctionsFixture.Request("POST", body: jpeg, contentType: "image/jpeg"), None));
        Assert.Equal(502, status);
        Assert.Contains("(model-version-unloadable)", problem.GetProperty("detail").GetString());
        Assert.DoesNotContain("weights.ckpt", problem.GetProperty("detail").GetString());
        answer = "{\"error\":\"<script>\"}";
        (status, problem) = Body(await forwarding.Get<SearchApi>().SearchAsync(FunctionsFixture.Request("POST", body: jpeg, contentType: "image/jpeg"), None));
        Assert.Equal((502, "The worker answered 500."), (status, problem.GetProperty("detail").GetString()));
        await worker.StopAsync();
    }

    [Fact]
    public async Task Health_reports_ok_and_carries_no_secret()
    {
        var (status, health) = Body(await _f.Get<HealthApi>().GetAsync(FunctionsFixture.Request(), None));

        Assert.Equal(200, status);
        Assert.Equal(("ok", "azure", TinyEmbedder.Version, true), (health.GetProperty("status").GetString(), health.GetProperty("storage").GetString(),
            health.GetProperty("modelVersion").GetString(), health.GetProperty("searchConfigured").GetBoolean()));
        var text = health.GetRawText();
        Assert.DoesNotContain(AzuriteServer.AccountKey, text);
        Assert.DoesNotContain(AzuriteServer.AccountName, text);
        Assert.DoesNotContain("127.0.0.1", text);
    }
}
