using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Motif.Functions.Api;
using Motif.Pipeline.Composition;
using Motif.Pipeline.Training;
using Motif.Storage.Queues;

namespace Motif.Functions.Tests;

/// <summary><see cref="TrainApi"/> against Azurite: what it sends lands on the training queue and parses back as the job asked for.</summary>
public sealed class TrainApiTests : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;
    private FunctionsFixture _f = null!;

    public async Task InitializeAsync() => _f = await FunctionsFixture.StartAsync();

    public async Task DisposeAsync() => await _f.DisposeAsync();

    private IWorkQueue Training => _f.Services.GetRequiredKeyedService<IWorkQueue>(WorkQueueKeys.Training);

    private static Microsoft.AspNetCore.Http.HttpRequest Post(string json, string? contentType = "application/json", string? principal = "ada@museum.org")
    {
        var request = FunctionsFixture.Request("POST", body: Encoding.UTF8.GetBytes(json), contentType: contentType);
        if (principal is not null)
        {
            request.Headers[AnnotationsApi.PrincipalNameHeader] = principal;
        }
        return request;
    }

    private static (int Status, JsonElement Json) Body(IActionResult result)
    {
        var o = Assert.IsAssignableFrom<ObjectResult>(result);
        return (o.StatusCode ?? 200, JsonSerializer.SerializeToElement(o.Value, o.Value!.GetType(), new JsonSerializerOptions(JsonSerializerDefaults.Web)));
    }

    [Fact]
    public async Task A_request_lands_on_the_training_queue_as_the_job_it_answered_with()
    {
        var (status, answer) = Body(await _f.Get<TrainApi>().PostAsync(Post("""{ "recipe": "full", "epochs": 4, "margin": 0.02, "seed": 7 }"""), None));
        Assert.Equal(202, status);
        var id = answer.GetProperty("id").GetString()!;

        var message = Assert.Single(await Training.ReceiveAsync(10, TimeSpan.FromSeconds(5)));
        Assert.Equal(id, message.MessageId);
        var job = TrainingJob.TryParse(message);
        Assert.NotNull(job);
        // The recipe's values, with the request's overrides; no base model (whichever version serves when the job runs); the
        // requester is the principal.
        Assert.Equal(TrainingRunOptions.Full with { Epochs = 4, Margin = 0.02, Seed = 7 }, job.Options);
        Assert.Null(job.BaseModel);
        Assert.Equal("ada@museum.org", job.RequestedBy);
        Assert.Equal(JsonValueKind.Null, answer.GetProperty("baseModel").ValueKind);
        Assert.Equal(4, answer.GetProperty("options").GetProperty("epochs").GetInt32());
        await Training.CompleteAsync(message);

        // Nothing reached the signature queue.
        Assert.Empty(await _f.Jobs.ReceiveAsync(10, TimeSpan.Zero));
    }

    [Fact]
    public async Task The_defaults_are_the_cpu_recipe_on_the_served_model()
    {
        Assert.Equal(202, Body(await _f.Get<TrainApi>().PostAsync(Post("{}", contentType: "application/json; charset=utf-8"), None)).Status);
        var job = TrainingJob.TryParse(Assert.Single(await Training.ReceiveAsync(10, TimeSpan.FromSeconds(5))))!;
        Assert.Equal(TrainingRunOptions.Cpu, job.Options);
    }

    [Theory]
    [InlineData("""{ "epochs": -1 }""", "epochs")]
    [InlineData("""{ "learningRate": -1 }""", "learningRate")]
    [InlineData("""{ "recipe": "gpu" }""", "recipe")]
    [InlineData("""{ "epoch": 3 }""", "unknown properties")]
    [InlineData("""{ "baseModel": "" }""", "baseModel")]
    [InlineData("""{ "baseModel": "resnet\u0000\u202e" }""", "baseModel")]
    [InlineData("""not json""", "not a training request")]
    [InlineData("""null""", "empty")]
    public async Task Bad_input_is_a_400_problem_and_sends_nothing(string json, string named)
    {
        var (status, problem) = Body(await _f.Get<TrainApi>().PostAsync(Post(json), None));
        Assert.Equal(400, status);
        Assert.Contains(named, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await Training.ReceiveAsync(10, TimeSpan.Zero));
    }

    [Fact]
    public async Task Not_json_unsigned_and_oversized_requests_are_refused_and_send_nothing()
    {
        var train = _f.Get<TrainApi>();
        Assert.Equal(415, Body(await train.PostAsync(Post("{}", contentType: "text/plain"), None)).Status);
        Assert.Equal(415, Body(await train.PostAsync(Post("{}", contentType: null), None)).Status);
        Assert.Equal(401, Body(await train.PostAsync(Post("{}", principal: null), None)).Status);
        var large = Post("{ \"baseModel\": \"" + new string('a', TrainApi.MaxBodyBytes) + "\" }");
        large.ContentLength = null;   // read, not trusted: the body itself proves too long
        Assert.Equal(413, Body(await train.PostAsync(large, None)).Status);
        Assert.Empty(await Training.ReceiveAsync(10, TimeSpan.Zero));
    }

    [Fact]
    public async Task The_host_s_activation_sends_to_the_training_queue_too()
    {
        // The isolated worker activates function classes with ActivatorUtilities, not from their registration: the
        // keyed queue must be honoured there as well, or jobs would go to the unkeyed signature queue.
        var api = ActivatorUtilities.CreateInstance<TrainApi>(_f.Services);
        Assert.Equal(202, Body(await api.PostAsync(Post("{}"), None)).Status);
        Assert.NotNull(TrainingJob.TryParse(Assert.Single(await Training.ReceiveAsync(10, TimeSpan.FromSeconds(5)))));
        Assert.Empty(await _f.Jobs.ReceiveAsync(10, TimeSpan.Zero));
    }

    [Fact]
    public async Task A_local_app_names_its_local_user()
    {
        await using var local = await FunctionsFixture.StartAsync(new Dictionary<string, string?> { ["Motif:LocalAnnotator"] = "dev-user" });
        Assert.Equal(202, Body(await local.Get<TrainApi>().PostAsync(Post("{}", principal: null), None)).Status);
        var queue = local.Services.GetRequiredKeyedService<IWorkQueue>(WorkQueueKeys.Training);
        Assert.Equal("dev-user", TrainingJob.TryParse(Assert.Single(await queue.ReceiveAsync(10, TimeSpan.FromSeconds(5))))!.RequestedBy);
    }
}
