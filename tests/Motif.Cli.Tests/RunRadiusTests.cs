using System.Globalization;
using System.Text.RegularExpressions;
using Motif.Engine;
using Motif.Pipeline;
using Motif.Storage.Blobs;
using Motif.Testing;

namespace Motif.Cli.Tests;

/// <summary><c>motif run</c> without <c>--max-eps</c>: the radius calibrated for the model, stored, reused, and named in the report.</summary>
public sealed partial class RunRadiusTests : IDisposable
{
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("motif-radius-");

    public void Dispose() => _scratch.Delete(recursive: true);

    private string In(string relative) => Path.Combine(_scratch.FullName, relative);

    private static readonly string[] Pictures =
    [
        "coffee.png", "chelsea.png", "astronaut.png", "rocket.jpg", "horse.png", "motorcycle_left.png",
        "camera.png", "brick.png", "hubble_deep_field.jpg", "retina.jpg", "coins.png", "ihc.png",
    ];

    [GeneratedRegex(@"radius \(max_eps\)\s+(\d\.\d+)  (.*)")]
    private static partial Regex RadiusLine();

    private static (double Radius, string Why) Radius(string output)
    {
        var match = RadiusLine().Match(output);
        Assert.True(match.Success, output);
        return (double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), match.Groups[2].Value);
    }

    [Fact]
    public async Task Without_a_radius_the_run_calibrates_one_for_the_model_stores_it_and_the_next_run_reuses_it()
    {
        // Twelve unrelated pictures (at least the 10 a calibration needs): most synthetic copies sit nearer their image
        // than any other picture does.
        var folder = In("collection");
        Directory.CreateDirectory(folder);
        foreach (var name in Pictures)
        {
            File.WriteAllBytes(Path.Combine(folder, name), TestData.Photo(name));
        }
        var workspace = In("workspace");

        var (exit, output, error) = await Cli.RunAsync("run", folder, "--out", workspace);
        Assert.True(exit == 0, error);
        var (radius, why) = Radius(output);
        Assert.Matches(@"^calibrated for this model now from 12 of 12 images \(\d+ of 12 synthetic copies within it of their image, \d+ of 132 pair distances admitted; .*unrelated pairs fitted from 132 pair distances.*\); stored for the next runs$", why);
        Assert.InRange(radius, 0.0001, 1);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"pairs within {radius:0.####}"), output);
        var model = EngineSignatureEmbedder.VersionOf(ModelCatalog.VersionOf(ModelCatalog.PackagedResNet50));
        using (var blobs = new LocalFolderBlobStore(Path.Combine(workspace, "blobs")))
        {
            Assert.NotNull(await blobs.GetPropertiesAsync(CollectionBlobs.CalibratedRadius(model)));
        }

        (exit, output, error) = await Cli.RunAsync("run", folder, "--out", workspace);
        Assert.True(exit == 0, error);
        var (again, whyAgain) = Radius(output);
        Assert.Equal(radius, again);
        Assert.Matches(@"^calibrated for this model on \d{4}-\d\d-\d\d \d\d:\d\d UTC from 12 images \(.*\), reused$", whyAgain);
        Assert.DoesNotContain("radius calibration", output);

        // A given radius wins over the stored one.
        (exit, output, error) = await Cli.RunAsync("run", folder, "--out", workspace, "--max-eps", "0.3");
        Assert.True(exit == 0, error);
        Assert.Equal((0.3, "given by --max-eps"), Radius(output));
    }

    [Theory]
    [InlineData("-0.1")]
    [InlineData("0")]
    [InlineData("2.5")]
    [InlineData("NaN")]
    public async Task A_radius_outside_the_cosine_range_is_refused_in_one_line(string radius)
    {
        var folder = In("collection");
        Directory.CreateDirectory(folder);

        var (exit, _, error) = await Cli.RunAsync("run", folder, "--out", In("workspace"), "--max-eps", radius);

        Assert.Equal(2, exit);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.Contains("--max-eps must be a cosine distance in (0, 2]", error);
        Assert.False(Directory.Exists(In("workspace")));
    }
}
