using Motif.Core.Clustering;
using Motif.Testing;

namespace Motif.Pipeline.Tests;

/// <summary>The radius calibrated from a collection's own synthetic copies, stored with the model version and reused.</summary>
public sealed class RadiusCalibratorTests : IDisposable
{
    private static readonly string[] Photos = ["coffee.png", "chelsea.png", "astronaut.png", "rocket.jpg", "horse.png", "motorcycle_left.png"];
    private readonly PipelineFixture _f = new();

    /// <summary>The product's options, but calibrating from as few as two images.</summary>
    private static readonly RadiusCalibratorOptions Small = new(MinimumImages: 2);

    public void Dispose() => _f.Dispose();

    private async Task<SignatureSet> SignAsync(IEnumerable<string> photos)
    {
        foreach (var name in photos)
        {
            await _f.Ingest.IngestAsync(name, null, TestData.Photo(name));
        }
        await _f.Signatures.ProcessAllAsync();
        return await SignatureSet.LoadAsync(_f.Blobs, _f.Catalog, _f.Embedder.ModelVersion);
    }

    [Fact]
    public async Task A_calibration_measures_one_copy_and_the_nearest_other_image_of_each_sampled_image_the_same_way_twice()
    {
        var set = await SignAsync(Photos);
        var calibrator = new RadiusCalibrator(_f.Blobs, _f.Embedder, Small);

        var first = await calibrator.CalibrateAsync(set);
        var second = await calibrator.CalibrateAsync(set);

        // Without labels the unrelated side is every sampled image's distance to each of the five others.
        Assert.Equal((6, 6, 6, 30), (first.Sampled, first.CollectionSize, first.Result.Positives, first.Result.NonNeighbours));
        Assert.Equal(RadiusCalibrationResult.PairDistances, first.Result.UnrelatedSide);
        Assert.Contains("fitted from 30 pair distances", first.Result.Reason);
        Assert.Equal(first.Result, second.Result);
        Assert.Equal(_f.Embedder.ModelVersion, first.ModelVersion);
        var fewer = await new RadiusCalibrator(_f.Blobs, _f.Embedder, Small with { SampleSize = 4 }).CalibrateAsync(set);
        Assert.Equal((4, 20), (fewer.Sampled, fewer.Result.NonNeighbours));
    }

    [Fact]
    public async Task Known_neighbours_are_never_taken_for_an_images_nearest_non_neighbour()
    {
        var set = await SignAsync(Photos);
        var calibrator = new RadiusCalibrator(_f.Blobs, _f.Embedder, Small);
        var unlabelled = await calibrator.CalibrateAsync(set);

        // coffee and chelsea "known" to share a pattern: each one's nearest non-neighbour is now another picture, at
        // least as far; with every pair known, no image has a non-neighbour left.
        var paired = await calibrator.CalibrateAsync(set, (a, b) => new[] { a, b }.Order().SequenceEqual(["chelsea.png", "coffee.png"]));
        var allKnown = await calibrator.CalibrateAsync(set, (_, _) => true);

        Assert.Equal(6, paired.Result.NonNeighbours);
        Assert.Equal(RadiusCalibrationResult.NearestOthers, paired.Result.UnrelatedSide);
        Assert.Equal(unlabelled.Result.Positives, paired.Result.Positives);
        Assert.Equal((0, 6), (allKnown.Result.NonNeighbours, allKnown.Result.Positives));
        Assert.True(allKnown.Result.MeetsTargets);
    }

    [Fact]
    public async Task The_radius_is_stored_with_the_model_version_and_reused_until_the_collection_doubles()
    {
        var calibrator = new RadiusCalibrator(_f.Blobs, _f.Embedder, Small with { SampleSize = 8 });
        var set = await SignAsync(Photos[..3]);

        var (calibration, reused) = await calibrator.GetOrCalibrateAsync(set);
        Assert.False(reused);
        Assert.NotNull(await _f.Blobs.GetPropertiesAsync(CollectionBlobs.CalibratedRadius(_f.Embedder.ModelVersion)));
        Assert.Equal(calibration, await calibrator.ReadAsync(_f.Embedder.ModelVersion));

        var again = await calibrator.GetOrCalibrateAsync(set);
        Assert.True(again.Reused);
        Assert.Equal(calibration, again.Calibration);
        Assert.Null(await calibrator.ReadAsync("another model"));

        // Six images, twice the three it was measured on from a sample below 8: measured again.
        var grown = await SignAsync(Photos[3..]);
        var (recalibrated, reusedAfterGrowth) = await calibrator.GetOrCalibrateAsync(grown);
        Assert.False(reusedAfterGrowth);
        Assert.Equal(6, recalibrated.CollectionSize);
    }

    [Fact]
    public async Task A_damaged_stored_calibration_is_measured_again()
    {
        var set = await SignAsync(Photos[..3]);
        var calibrator = new RadiusCalibrator(_f.Blobs, _f.Embedder, Small);
        using (var junk = new MemoryStream("{\"modelVersion\": 3"u8.ToArray()))
        {
            await _f.Blobs.PutAsync(CollectionBlobs.CalibratedRadius(set.ModelVersion), junk);
        }

        Assert.Null(await calibrator.ReadAsync(set.ModelVersion));
        Assert.False((await calibrator.GetOrCalibrateAsync(set)).Reused);
        Assert.NotNull(await calibrator.ReadAsync(set.ModelVersion));
    }

    [Fact]
    public async Task Fewer_images_than_the_minimum_are_not_measured_and_nothing_is_stored()
    {
        var set = await SignAsync(Photos);
        var calibrator = new RadiusCalibrator(_f.Blobs, _f.Embedder, new RadiusCalibratorOptions(MinimumImages: 7));

        var (calibration, reused) = await calibrator.GetOrCalibrateAsync(set);

        Assert.False(reused);
        Assert.Null(calibration.Result.Radius);
        Assert.Equal((0, 0, 6), (calibration.Result.Positives, calibration.Sampled, calibration.CollectionSize));
        Assert.Contains("too few", calibration.Result.Reason, StringComparison.Ordinal);
        Assert.Null(await calibrator.ReadAsync(set.ModelVersion));
    }

    [Fact]
    public async Task Signatures_of_another_model_or_none_are_refused()
    {
        var set = await SignAsync(Photos[..2]);
        var other = new RadiusCalibrator(_f.Blobs, new ThumbnailEmbedder { ModelVersion = "other" });

        await Assert.ThrowsAsync<ArgumentException>(() => other.CalibrateAsync(set));
    }
}
