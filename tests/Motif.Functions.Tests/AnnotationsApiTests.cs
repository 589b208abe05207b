using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Configuration;
using Motif.Functions.Api;
using Motif.Pipeline;

namespace Motif.Functions.Tests;

/// <summary>POST and GET /api/annotations invoked as the host invokes them: status codes, problem codes, JSON shapes,
/// and who the annotator is.</summary>
public sealed class AnnotationsApiTests : IAsyncLifetime
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private static readonly CancellationToken None = CancellationToken.None;
    private FunctionsFixture _f = null!;
    private string[][] _clusters = [];
    private string[] _clusterIds = [];

    public async Task InitializeAsync()
    {
        _f = await FunctionsFixture.StartAsync();
        await ReclusterTests.UploadFamiliesAsync(_f);
        await _f.Get<Recluster>().RunAsync(null, None);
        var manifest = (await _f.Get<ReclusterService>().ReadLatestAsync(None))!.Manifest;
        _clusterIds = [.. manifest.Clusters.Select(c => c.Id)];
        _clusters = [.. manifest.Clusters.Select(c => c.Members.Select(m => m.ImageId).ToArray())];
        Assert.Equal(2, _clusters.Length);
    }

    public async Task DisposeAsync() => await _f.DisposeAsync();

    private static (int Status, JsonElement Json) Body(IActionResult result)
    {
        var o = Assert.IsAssignableFrom<ObjectResult>(result);
        return (o.StatusCode ?? 200, JsonSerializer.SerializeToElement(o.Value, o.Value!.GetType(), Web));
    }

    private static HttpRequest Post(string json, string? principal = "ada@museum.org", string? contentType = "application/json")
    {
        var request = FunctionsFixture.Request("POST", body: Encoding.UTF8.GetBytes(json), contentType: contentType);
        if (principal is not null)
        {
            request.Headers[AnnotationsApi.PrincipalNameHeader] = principal;
        }
        return request;
    }

    private string Confirm(int cluster = 0, string extra = "") =>
        JsonSerializer.Serialize(new { cluster = _clusterIds[cluster], label = "confirm", images = _clusters[cluster] }, Web).TrimEnd('}') + extra + "}";

    private static (int Status, string? Code) Problem(IActionResult result)
    {
        var (status, json) = Body(result);
        Assert.Equal(status, json.GetProperty("status").GetInt32());
        return (status, json.TryGetProperty("code", out var code) ? code.GetString() : null);
    }

    [Fact]
    public async Task The_annotator_is_the_signed_in_principal_and_without_one_the_post_is_refused_unless_local()
    {
        var api = _f.Get<AnnotationsApi>();

        Assert.Equal(401, Problem(await api.PostAsync(Post(Confirm(), principal: null), None)).Status);
        Assert.Equal(401, Problem(await api.PostAsync(Post(Confirm(extra: ", \"annotator\": \"mallory\""), principal: null), None)).Status);
        var (status, created) = Body(await api.PostAsync(Post(Confirm(extra: ", \"annotator\": \"mallory\"")), None));
        Assert.Equal(201, status);
        Assert.Equal("ada@museum.org", created.GetProperty("annotator").GetString());
        Assert.Equal("confirm", created.GetProperty("label").GetString());
        Assert.Equal(_clusterIds[0], created.GetProperty("cluster").GetString());
        Assert.Equal(_clusters[0], created.GetProperty("images").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(JsonValueKind.Null, created.GetProperty("undoneBy").ValueKind);
        Assert.False(string.IsNullOrEmpty(created.GetProperty("runId").GetString()));
        Assert.Equal(TinyEmbedder.Version, created.GetProperty("modelVersion").GetString());

        await using var local = await FunctionsFixture.StartAsync(new Dictionary<string, string?> { ["Motif:LocalAnnotator"] = "dev-user" });
        await ReclusterTests.UploadFamiliesAsync(local);
        await local.Get<Recluster>().RunAsync(null, None);
        var localApi = local.Get<AnnotationsApi>();
        var cluster = (await local.Get<ReclusterService>().ReadLatestAsync(None))!.Manifest.Clusters[0];
        var body = JsonSerializer.Serialize(new { cluster = cluster.Id, label = "similar", images = cluster.Members.Select(m => m.ImageId) }, Web);
        Assert.Equal("dev-user", Body(await localApi.PostAsync(Post(body, principal: null), None)).Json.GetProperty("annotator").GetString());
        Assert.Equal("zoe", Body(await localApi.PostAsync(Post(body.TrimEnd('}') + ", \"annotator\": \"zoe\"}", principal: null), None)).Json.GetProperty("annotator").GetString());
        Assert.Equal("ada@museum.org", Body(await localApi.PostAsync(Post(body.TrimEnd('}') + ", \"annotator\": \"zoe\"}"), None)).Json.GetProperty("annotator").GetString());

        // GET /api/whoami says beforehand who a post would record: the principal, else the local name, else 401.
        Assert.Equal(401, Problem(await api.GetWhoAmIAsync(FunctionsFixture.Request())).Status);
        var principal = FunctionsFixture.Request();
        principal.Headers[AnnotationsApi.PrincipalNameHeader] = "ada@museum.org";
        var me = Body(await api.GetWhoAmIAsync(principal)).Json;
        Assert.Equal(("ada@museum.org", "principal"), (me.GetProperty("annotator").GetString(), me.GetProperty("source").GetString()));
        me = Body(await localApi.GetWhoAmIAsync(FunctionsFixture.Request())).Json;
        Assert.Equal(("dev-user", "local"), (me.GetProperty("annotator").GetString(), me.GetProperty("source").GetString()));
        Assert.Equal("ada@museum.org", Body(await localApi.GetWhoAmIAsync(principal)).Json.GetProperty("annotator").GetString());
    }

    [Theory]
    [InlineData("dev\u001b[2Juser")]
    [InlineData(" padded ")]
    public void A_local_annotator_setting_that_is_not_a_usable_name_stops_the_app_with_a_message(string name)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Motif:LocalAnnotator"] = name }).Build();

        var e = Assert.Throws<Motif.Pipeline.Composition.PipelineConfigurationException>(() => { MotifFunctionsOptions.Read(configuration); });

        Assert.StartsWith("Motif__LocalAnnotator is not a usable annotator name", e.Message);
        Assert.Null(MotifFunctionsOptions.Read(new ConfigurationBuilder().Build()).LocalAnnotator);
    }

    [Fact]
    public async Task Malformed_oversized_hostile_and_refused_posts_get_4xx_problems_with_a_code_and_store_nothing()
    {
        var api = _f.Get<AnnotationsApi>();
        var oversized = Post(Confirm());
        oversized.ContentLength = AnnotationsApi.MaxBodyBytes + 1;
        var unannounced = Post(Confirm(extra: $", \"note\": \"{new string('x', AnnotationsApi.MaxBodyBytes)}\""));
        unannounced.ContentLength = null;
        var cases = new (HttpRequest Request, int Status, string? Code)[]
        {
            (Post("{\"cluster\": "), 400, "invalid"),
            (Post("[1, 2]"), 400, "invalid"),
            (Post("null"), 400, "invalid"),
            (Post(Confirm(extra: ", \"image\": \"x\"")), 400, "invalid"),
            (Post(Confirm(), contentType: "text/plain"), 415, null),
            (Post(Confirm(), contentType: null), 415, null),
            (oversized, 413, "too-large"),
            (unannounced, 413, "too-large"),
            (Post(Confirm().Replace("\"confirm\"", "\"great\"", StringComparison.Ordinal)), 400, "invalid"),
            (Post(Confirm().Replace("\"confirm\"", "\"undo\"", StringComparison.Ordinal)), 400, "invalid"),
            (Post($"{{\"cluster\": \"{_clusterIds[0]}\", \"label\": \"confirm\", \"images\": []}}"), 400, "invalid"),
            (Post(Confirm(), principal: "ada\u001b[2J"), 400, "invalid"),
            (Post(Confirm(extra: ", \"note\": \"\\u202Eexe.jpg\"")), 400, "invalid"),
            (Post(Confirm().Replace(_clusterIds[0], "C404", StringComparison.Ordinal)), 404, "unknown-cluster"),
            (Post(JsonSerializer.Serialize(new { cluster = _clusterIds[0], label = "confirm", images = new[] { _clusters[0][0], _clusters[1][0] } }, Web)), 422, "not-in-cluster"),
            (Post(JsonSerializer.Serialize(new { cluster = _clusterIds[0], label = "confirm", images = new[] { _clusters[0][0], "museum/none.jpg" } }, Web)), 422, "unknown-image"),
            (Post(JsonSerializer.Serialize(new { cluster = _clusterIds[0], label = "confirm", images = Enumerable.Range(0, 201).Select(i => $"i{i}") }, Web)), 413, "too-large"),
            (Post("{\"undo\": \"20261130T0405060000000Z-0123456789abcdef\"}"), 404, "unknown-annotation"),
            (Post("{\"undo\": \"../x\"}"), 400, "invalid"),
            (Post($"{{\"undo\": \"20261130T0405060000000Z-0123456789abcdef\", \"cluster\": \"{_clusterIds[0]}\"}}"), 400, "invalid"),
        };
        foreach (var (request, status, code) in cases)
        {
            var result = await api.PostAsync(request, None);
            Assert.Equal((status, code), Problem(result));
            Assert.DoesNotContain(Body(result).Json.GetProperty("detail").GetString()!, c => char.IsControl(c));
        }
        Assert.Empty(Body(await api.GetAsync(FunctionsFixture.Request(), None)).Json.GetProperty("annotations").EnumerateArray());
    }

    [Fact]
    public async Task A_verdict_on_the_run_the_curator_saw_is_taken_and_on_an_earlier_run_refused_as_stale()
    {
        var api = _f.Get<AnnotationsApi>();
        var latest = (await _f.Get<ReclusterService>().ReadLatestAsync(None))!.Manifest.RunId;

        var (status, created) = Body(await api.PostAsync(Post(Confirm(extra: $", \"runId\": \"{latest}\"")), None));
        Assert.Equal((201, latest), (status, created.GetProperty("runId").GetString()));
        var stale = await api.PostAsync(Post(Confirm(extra: ", \"runId\": \"20261129T020000Z-0000\"")), None);
        Assert.Equal((409, "stale-run"), Problem(stale));
        Assert.Contains(latest, Body(stale).Json.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal((400, "invalid"), Problem(await api.PostAsync(Post($"{{\"undo\": \"{created.GetProperty("id").GetString()}\", \"runId\": \"{latest}\"}}"), None)));
        Assert.Single(Body(await api.GetAsync(FunctionsFixture.Request(), None)).Json.GetProperty("annotations").EnumerateArray());
    }

    [Fact]
    public async Task A_cluster_lists_its_history_oldest_first_with_what_was_undone_and_undoing_twice_is_a_conflict()
    {
        var api = _f.Get<AnnotationsApi>();
        var confirm = Body(await api.PostAsync(Post(Confirm()), None)).Json.GetProperty("id").GetString()!;
        var wrong = Body(await api.PostAsync(Post(JsonSerializer.Serialize(new { cluster = _clusterIds[1], label = "wrong-member", images = new[] { _clusters[1][0] }, note = "another print" }, Web)), None)).Json;
        Assert.Equal([_clusters[1][1]], wrong.GetProperty("others").EnumerateArray().Select(e => e.GetString()));
        var (status, undo) = Body(await api.PostAsync(Post($"{{\"undo\": \"{confirm}\"}}", principal: "bob@museum.org"), None));
        Assert.Equal(201, status);
        Assert.Equal((confirm, _clusterIds[0], "undo"), (undo.GetProperty("undoes").GetString(), undo.GetProperty("cluster").GetString(), undo.GetProperty("label").GetString()));
        Assert.Equal((409, "already-undone"), Problem(await api.PostAsync(Post($"{{\"undo\": \"{confirm}\"}}"), None)));

        (status, var list) = Body(await api.GetAsync(FunctionsFixture.Request(query: $"?cluster={_clusterIds[0]}"), None));
        Assert.Equal(200, status);
        var items = list.GetProperty("annotations").EnumerateArray().ToArray();
        Assert.Equal([confirm, undo.GetProperty("id").GetString()], items.Select(i => i.GetProperty("id").GetString()));
        Assert.Equal(undo.GetProperty("id").GetString(), items[0].GetProperty("undoneBy").GetString());
        Assert.Equal(3, Body(await api.GetAsync(FunctionsFixture.Request(), None)).Json.GetProperty("annotations").GetArrayLength());
        Assert.Empty(Body(await api.GetAsync(FunctionsFixture.Request(query: "?cluster=C999"), None)).Json.GetProperty("annotations").EnumerateArray());
        Assert.Equal((400, "invalid"), Problem(await api.GetAsync(FunctionsFixture.Request(query: "?cluster=a%1Bb"), None)));
        Assert.Equal((400, "invalid"), Problem(await api.GetAsync(FunctionsFixture.Request(query: "?cluster=a&cluster=b"), None)));
    }
}
