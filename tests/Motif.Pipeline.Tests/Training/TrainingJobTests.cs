using System.Text;
using Motif.Imaging;
using Motif.Pipeline.Training;
using Motif.Storage.Queues;

namespace Motif.Pipeline.Tests.Training;

public sealed class TrainingJobTests
{
    private static ReceivedMessage Received(string body) =>
        new("m", 1, Encoding.UTF8.GetBytes(body), "application/json", 1, DateTimeOffset.UnixEpoch, "lock", DateTimeOffset.UnixEpoch);

    [Fact]
    public void A_job_survives_its_message()
    {
        var job = new TrainingJob("resnet50-imagenet", TrainingRunOptions.Full with { Loss = SignatureLoss.Contrastive, Margin = 0.3, Seed = 7 }, "00-abc-def-01");

        var parsed = TrainingJob.TryParse(Received(Encoding.UTF8.GetString(job.ToMessage().Body.Span)));

        Assert.Equal(job, parsed);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{}")]
    [InlineData("{\"baseModel\":\"\",\"options\":{}}")]
    [InlineData("{\"baseModel\":\"m\\u0007\",\"options\":{}}")]
    [InlineData("{\"baseModel\":\"m\"}")]
    [InlineData("{\"baseModel\":\"m\",\"options\":{\"epochs\":-1}}")]
    [InlineData("{\"baseModel\":\"m\",\"options\":{\"learningRate\":-1}}")]
    [InlineData("{\"baseModel\":\"m\",\"options\":{\"loss\":\"hinge\"}}")]
    public void A_malformed_job_is_null(string body) => Assert.Null(TrainingJob.TryParse(Received(body)));

    [Fact]
    public void A_job_naming_no_base_model_is_well_formed()
    {
        var parsed = TrainingJob.TryParse(Received("{\"options\":{}}"));

        Assert.NotNull(parsed);
        Assert.Null(parsed.BaseModel);
    }

    [Fact]
    public void Options_left_out_take_the_cpu_recipe()
    {
        var parsed = TrainingJob.TryParse(Received("{\"baseModel\":\"m\",\"options\":{}}"));

        Assert.Equal(TrainingRunOptions.Cpu, parsed!.Options);
    }
}
