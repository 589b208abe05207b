using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Configuration;
using Motif.Core.Manifests;
using Motif.Functions.Api;
using Motif.Imaging;

namespace Motif.Functions.Tests;

/// <summary>
/// <see cref="IiifApi"/> as a IIIF viewer on another origin reads it: Presentation 3 documents with absolute ids under
/// the configured public root, images that are the derivatives the API serves, CORS on every answer.
/// </summary>
public sealed class IiifApiTests : IAsyncLifetime
{
    private const string PublicRoot = "https://motif-test.azurewebsites.net/";
    private static readonly CancellationToken None = CancellationToken.None;
    private FunctionsFixture _f = null!;

    public async Task InitializeAsync() => _f = await FunctionsFixture.StartAsync(new Dictionary<string, string?> { ["Motif:PublicBaseUrl"] = "https://motif-test.azurewebsites.net" });

    public async Task DisposeAsync() => await _f.DisposeAsync();

    private static (int Status, string? ContentType, JsonNode Json) Read(IActionResult result) => result switch
    {
        ContentResult c => (c.StatusCode ?? 200, c.ContentType, JsonNode.Parse(c.Content!)!),
        ObjectResult o => (o.StatusCode ?? 200, o.ContentTypes.FirstOrDefault(), JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(o.Value, o.Value!.GetType()))!),
        _ => throw new InvalidOperationException($"Unexpected result {result.GetType().Name}"),
    };

    private static string? AllowOrigin(HttpRequest request) => request.HttpContext.Response.Headers.AccessControlAllowOrigin.SingleOrDefault();

    [Fact]
    public async Task Not_found_before_publication_with_CORS_then_a_collection_of_valid_cluster_manifests()
    {
        var iiif = _f.Get<IiifApi>();
        var request = FunctionsFixture.Request();
        Assert.Equal(404, Read(await iiif.GetCollectionAsync(request, None)).Status);
        Assert.Equal("*", AllowOrigin(request));
        request = FunctionsFixture.Request();
        Assert.Equal(404, Read(await iiif.GetManifestAsync(request, "C1", None)).Status);
        Assert.Equal("*", AllowOrigin(request));

        await ReclusterTests.UploadFamiliesAsync(_f);
        await _f.Get<Recluster>().RunAsync(null, None);
        var manifest = (await _f.Get<Pipeline.ReclusterService>().ReadLatestAsync())!.Manifest;

        request = FunctionsFixture.Request();
        var (status, type, collection) = Read(await iiif.GetCollectionAsync(request, None));
        Assert.Equal(200, status);
        Assert.Equal("application/ld+json;profile=\"http://iiif.io/api/presentation/3/context.json\"", type);
        Assert.Equal("*", AllowOrigin(request));
        Assert.Equal(IiifExport.Context, (string?)collection["@context"]);
        Assert.Equal("Collection", (string?)collection["type"]);
        Assert.Equal(PublicRoot + "api/iiif/collection.json", (string?)collection["id"]);
        var items = collection["items"]!.AsArray();
        Assert.Equal(manifest.Clusters.Select(c => PublicRoot + $"api/iiif/clusters/{c.Id}/manifest.json"), items.Select(i => (string?)i!["id"]));

        var images = _f.Get<ImagesApi>();
        foreach (var cluster in manifest.Clusters)
        {
            request = FunctionsFixture.Request();
            (status, type, var document) = Read(await iiif.GetManifestAsync(request, cluster.Id, None));
            Assert.Equal(200, status);
            Assert.Equal(IiifApi.MediaType, type);
            Assert.Equal("*", AllowOrigin(request));
            Assert.Equal(IiifExport.Context, (string?)document["@context"]);
            Assert.Equal("Manifest", (string?)document["type"]);
            Assert.Equal(items.Single(i => ((string)i!["id"]!).Contains($"/{cluster.Id}/", StringComparison.Ordinal))!["id"]!.ToString(), (string?)document["id"]);
            Assert.Equal(PublicRoot + "api/iiif/collection.json", (string?)document["partOf"]![0]!["id"]);
            var canvases = document["items"]!.AsArray();
            Assert.Equal(cluster.Members.Select(m => m.ImageId), canvases.Select(c => (string?)c!["label"]!["none"]![0]));
            foreach (var canvas in canvases)
            {
                Assert.Equal("Canvas", (string?)canvas!["type"]);
                var annotation = canvas["items"]![0]!["items"]![0]!;
                Assert.Equal(("Annotation", "painting"), ((string?)annotation["type"], (string?)annotation["motivation"]));
                Assert.Equal((string?)canvas["id"], (string?)annotation["target"]);
                var body = annotation["body"]!;
                Assert.Equal(("Image", "image/jpeg"), ((string?)body["type"], (string?)body["format"]));
                // The image is the API's derivative, readable from any origin, of exactly the size the Canvas states.
                var url = (string)body["id"]!;
                Assert.Matches("^" + PublicRoot + "api/derivatives/[0-9a-f]{64}$", url);
                var derivativeRequest = FunctionsFixture.Request();
                var file = Assert.IsType<FileStreamResult>(await images.GetDerivativeAsync(derivativeRequest, url[^64..], None));
                Assert.Equal("*", AllowOrigin(derivativeRequest));
                using var bytes = new MemoryStream();
                await file.FileStream.CopyToAsync(bytes);
                var header = ImageCodec.Probe(bytes.ToArray());
                Assert.Equal((header.Width, header.Height), ((int)canvas["width"]!, (int)canvas["height"]!));
                Assert.Equal((header.Width, header.Height), ((int)body["width"]!, (int)body["height"]!));
            }
        }
    }

    [Theory]
    [InlineData("C999")]
    [InlineData("../../manifests/latest.json")]
    [InlineData("C1\"><script>alert(1)</script>")]
    [InlineData("")]
    public async Task A_cluster_the_latest_manifest_does_not_have_is_404_with_CORS(string id)
    {
        await ReclusterTests.UploadFamiliesAsync(_f);
        await _f.Get<Recluster>().RunAsync(null, None);
        var request = FunctionsFixture.Request();
        var (status, type, problem) = Read(await _f.Get<IiifApi>().GetManifestAsync(request, id, None));
        Assert.Equal(404, status);
        Assert.Equal("application/problem+json", type);
        if (id.Length > 0)
        {
            Assert.DoesNotContain(id, problem.ToJsonString(), StringComparison.Ordinal);   // nothing of the client's is written back
        }
        Assert.Equal("*", AllowOrigin(request));
    }

    [Fact]
    public async Task Without_a_public_root_IIIF_is_503_and_says_which_setting()
    {
        await using var unconfigured = await FunctionsFixture.StartAsync();
        var request = FunctionsFixture.Request();
        var (status, _, problem) = Read(await unconfigured.Get<IiifApi>().GetCollectionAsync(request, None));
        Assert.Equal(503, status);
        Assert.Contains("Motif__PublicBaseUrl", (string?)problem["detail"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("motif.example")]
    [InlineData("ftp://motif.example/")]
    [InlineData("https://user:secret@motif.example/")]
    [InlineData("https://motif.example/?x=1")]
    public void A_malformed_public_root_is_refused_by_name(string value)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Motif:PublicBaseUrl"] = value }).Build();
        var e = Assert.Throws<Pipeline.Composition.PipelineConfigurationException>(() => { MotifFunctionsOptions.Read(configuration); });
        Assert.StartsWith("Motif__PublicBaseUrl must be", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_public_root_with_a_path_keeps_it()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Motif:PublicBaseUrl"] = "https://museum.example/motif" }).Build();
        Assert.Equal("https://museum.example/motif/", MotifFunctionsOptions.Read(configuration).PublicBaseUrl!.AbsoluteUri);
    }
}
