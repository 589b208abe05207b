using System.Text.Json;
using Motif.Imaging;
using Motif.Testing;

namespace Motif.Engine.Tests;

/// <summary>The packaged ImageNet ResNet-50, end to end: libvips preprocessing → engine → signatures and classes.</summary>
public sealed class PretrainedModelTests : IClassFixture<PretrainedModelTests.Model>
{
    private readonly Model _fixture;

    public PretrainedModelTests(Model fixture) => _fixture = fixture;

    public sealed class Model : IDisposable
    {
        public SignatureModel Network { get; } = SignatureModel.Pretrained(SignatureModel.PackagedResNet50, TestData.PackagedWeights);

        public void Dispose() => Network.Dispose();
    }

    [Theory]
    [InlineData("chelsea.png", new[] { "tabby", "tiger_cat", "Egyptian_cat" })]
    [InlineData("coffee.png", new[] { "espresso", "cup" })]
    [InlineData("motorcycle_left.png", new[] { "moped", "motor_scooter" })]
    public void Real_photographs_are_classified_correctly_within_the_top_5(string photo, string[] acceptable)
    {
        var labels = JsonSerializer.Deserialize<Dictionary<int, string>>(File.ReadAllText(TestData.ImageNetLabels))!;
        var (_, logits) = Run(TestData.Photo(photo));

        var top5 = logits.Select((score, index) => (score, index)).OrderByDescending(p => p.score).Take(5).Select(p => labels[p.index]).ToArray();

        Assert.True(top5.Intersect(acceptable).Any(), $"{photo}: top 5 were {string.Join(", ", top5)}");
    }

    [Fact]
    public void A_derived_copy_is_nearer_than_an_unrelated_image()
    {
        var cat = TestData.Photo("chelsea.png");
        var copy = ImageFixtures.Variant(cat, keep: 0.85, gains: (1.12, 0.95, 0.9));

        var (original, _) = Run(cat);
        var (variant, _) = Run(copy);
        var (coffee, _) = Run(TestData.Photo("coffee.png"));
        var (astronaut, _) = Run(TestData.Photo("astronaut.png"));

        var toCopy = Cosine(original, variant);
        Assert.True(toCopy > Cosine(original, coffee) && toCopy > Cosine(original, astronaut),
            $"cos(cat, its copy) {toCopy:0.000}, cos(cat, coffee) {Cosine(original, coffee):0.000}, cos(cat, astronaut) {Cosine(original, astronaut):0.000}");
    }

    [Fact]
    public void Bfloat16_with_channels_last_keeps_signatures_and_classes()
    {
        var labels = JsonSerializer.Deserialize<Dictionary<int, string>>(File.ReadAllText(TestData.ImageNetLabels))!;
        var photo = TestData.Photo("chelsea.png");
        var (fp32, _) = Run(photo);
        using var mixed = SignatureModel.Pretrained(SignatureModel.PackagedResNet50, TestData.PackagedWeights);
        mixed.SetPrecision(Precision.BFloat16, channelsLast: true);

        var (bf16, logits) = Run(photo, mixed);

        Assert.Contains("\"precision\":\"bf16\"", mixed.DescribeAsJson());
        Assert.NotEqual(fp32, bf16);
        Assert.True(Cosine(fp32, bf16) > 0.99, $"cos(fp32, bf16) = {Cosine(fp32, bf16):0.0000}");
        var best = labels[Array.IndexOf(logits, logits.Max())];
        Assert.Contains(best, new[] { "tabby", "tiger_cat", "Egyptian_cat" });
    }

    [Fact]
    public void Signatures_have_unit_length_and_2048_dimensions()
    {
        var (signature, _) = Run(TestData.Photo("rocket.jpg"));

        Assert.Equal(2048, signature.Length);
        Assert.Equal(1.0, Math.Sqrt(signature.Sum(v => (double)v * v)), 5);
    }

    [Fact]
    public void The_packaged_model_asks_for_caffe_preprocessing()
    {
        var spec = _fixture.Network.Preprocessing();

        Assert.Equal(ChannelOrder.Bgr, spec.Channels);
        Assert.Equal((103.939f, 116.779f, 123.68f), spec.Mean);
        Assert.Equal((1f, 1f, 1f), spec.Std);
        Assert.Equal(1000, _fixture.Network.ClassCount);
    }

    private (float[] Signature, float[] Logits) Run(byte[] image, SignatureModel? model = null)
    {
        var network = model ?? _fixture.Network;
        var spec = network.Preprocessing(224);
        var input = new float[spec.ValuesPerImage];
        ImageCodec.Preprocess(image, spec, input);
        var signature = new float[network.EmbeddingDimension];
        var logits = new float[network.ClassCount];
        network.Embed(input, 1, 224, 224, signature, logits);
        return (signature, logits);
    }

    private static double Cosine(float[] a, float[] b) => a.Zip(b, (x, y) => (double)x * y).Sum();
}
