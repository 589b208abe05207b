using System.Text.Json;
using Motif.Core.Clustering;
using Motif.Core.Signatures;
using Motif.Imaging;
using Motif.Imaging.Derivations;
using Motif.Storage.Blobs;

namespace Motif.Pipeline;

/// <summary>How <see cref="RadiusCalibrator"/> measures a model.</summary>
/// <param name="SampleSize">Most images measured. 64: it costs one batch of 64 derivations and forward passes per model
/// version (about 10 s for ResNet-50 on 2 CPU cores, once), and 64 pairs put the 90 % quantile within about ±4 % of share
/// (the binomial standard error √(0.9 × 0.1 / 64) = 0.0375); the nearest non-neighbours' 10 % quantile alike.</param>
/// <param name="Seed">Seeds the sample of images and their derivations: the same collection and model give the same radius.</param>
/// <param name="Targets">The shares to keep and to admit (<see cref="RadiusCalibrationOptions"/>' defaults, 0.9 and 0.1).</param>
/// <param name="MinimumImages">Fewer signed images than this are not measured: the fallback radius stands. 10 is the
/// fewest at which the 10 % cap on nearest other images admits one (⌊0.1 × m⌋ ≥ 1); below it a single true copy in the
/// collection (its image's nearest other image) would set the radius on its own.</param>
public sealed record RadiusCalibratorOptions(int SampleSize = 64, int Seed = 0, RadiusCalibrationOptions? Targets = null, int MinimumImages = 10)
{
    /// <summary>Images nearer than this to a sampled image are the same picture stored twice, not its nearest non-neighbour
    /// (as <c>SyntheticTripletOptions.IdenticalDistance</c>).</summary>
    public const double IdenticalDistance = 1e-4;
}

/// <summary>A model version's calibrated radius as stored in the workspace.</summary>
/// <param name="ModelVersion">The model the distances were measured under.</param>
/// <param name="Result">The radius and the numbers that justify it.</param>
/// <param name="Sampled">Images measured (each with one synthetic copy).</param>
/// <param name="CollectionSize">Signed images in the collection when it was measured.</param>
/// <param name="Seed">Seed of the sample and the derivations.</param>
/// <param name="CalibratedAt">When it was measured.</param>
public sealed record CalibratedRadius(string ModelVersion, RadiusCalibrationResult Result, int Sampled, int CollectionSize, int Seed, DateTimeOffset CalibratedAt);

/// <summary>
/// Calibrates OPTICS's radius for a model from the collection itself (<see cref="RadiusCalibration"/>; issue 11 item 4),
/// and keeps it in the workspace with the model version (<see cref="CollectionBlobs.CalibratedRadius"/>) so that every
/// later run under the same model clusters at the same radius.
/// </summary>
/// <remarks>
/// <para><b>Positives</b> are synthetic: a seeded sample of at most <see cref="RadiusCalibratorOptions.SampleSize"/>
/// signed images, each copied once (<see cref="DerivationSampler"/>, hosts for a pasted motif drawn from the same sample)
/// from its working derivative and embedded; the distance of the copy to the image's stored signature is one positive.
/// No curator is needed, so it works on the first run of a collection without labels. <b>The unrelated side, with
/// labels</b>: each sampled image's nearest other image in the collection that is not the same picture and not known to
/// share its pattern (the same component of the morphograph, or marked similar). The labels choose a hyper-parameter
/// here, as the research's hand-tuned 0.13 was chosen; no curated pair is counted as a positive. <b>Without labels</b>
/// the nearest other image is no stand-in: in a collection made mostly of families of copies (<c>motif sample</c>'s) it
/// is nearly always a copy, and the radius came out at 0.008, where nothing clusters. The unrelated side is then fitted
/// to the bulk of the distances from the sampled images to the collection
/// (<see cref="RadiusCalibration.CalibrateWithoutLabels"/>), where copies are a small share.</para>
/// <para><b>When it is measured again.</b> A stored calibration is reused as long as it stands for the collection: a
/// model version's signatures do not change, so only a collection that has grown past twice the size it was measured on,
/// from a sample smaller than <see cref="RadiusCalibratorOptions.SampleSize"/>, is measured again (a first run over ten
/// images should not fix the radius for ten thousand). A stored record that cannot be read is measured again too.</para>
/// </remarks>
public sealed class RadiusCalibrator
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly IBlobStore _blobs;
    private readonly ISignatureEmbedder _embedder;
    private readonly RadiusCalibratorOptions _options;
    private readonly TimeProvider _time;

    public RadiusCalibrator(IBlobStore blobs, ISignatureEmbedder embedder, RadiusCalibratorOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(embedder);
        options ??= new RadiusCalibratorOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SampleSize, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MinimumImages, 2, nameof(options));
        (_blobs, _embedder, _options, _time) = (blobs, embedder, options, time ?? TimeProvider.System);
    }

    /// <summary>The calibration stored for <paramref name="modelVersion"/>, or null when there is none or it cannot be read.</summary>
    public Task<CalibratedRadius?> ReadAsync(string modelVersion, CancellationToken cancellationToken = default) => ReadStoredAsync(_blobs, modelVersion, cancellationToken);

    /// <summary>The calibration stored in <paramref name="blobs"/> for <paramref name="modelVersion"/> (a signature
    /// version), or null when there is none or it cannot be read: for readers that measure nothing (<c>motif models</c>).</summary>
    public static async Task<CalibratedRadius?> ReadStoredAsync(IBlobStore blobs, string modelVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(modelVersion);
        byte[] bytes;
        try
        {
            bytes = await blobs.ReadAllBytesAsync(CollectionBlobs.CalibratedRadius(modelVersion), cancellationToken).ConfigureAwait(false);
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return null;
        }
        try
        {
            var stored = JsonSerializer.Deserialize<CalibratedRadius>(bytes, Json);
            return stored is { Result: { } result } && stored.ModelVersion == modelVersion && result.Radius is null or (> 0 and <= 2) ? stored : null;
        }
        catch (JsonException)
        {
            return null;   // damaged: measured again
        }
    }

    /// <summary>The stored calibration for <paramref name="set"/>'s model if it still stands for the collection (see the
    /// remarks), otherwise a new one, stored when it found a radius. Reused tells which.</summary>
    /// <exception cref="ArgumentException">The set is empty: there is nothing to measure.</exception>
    /// <param name="set">The collection's signatures under the model.</param>
    /// <param name="knownNeighbours">Whether two image ids are known to show one pattern (curated: the same component of
    /// the morphograph, or marked similar); such an image is never taken as the other's nearest non-neighbour. Null
    /// when there are no labels.</param>
    /// <param name="cancellationToken">Cancels the measurement.</param>
    public async Task<(CalibratedRadius Calibration, bool Reused)> GetOrCalibrateAsync(SignatureSet set, Func<string, string, bool>? knownNeighbours = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(set);
        if (await ReadAsync(set.ModelVersion, cancellationToken).ConfigureAwait(false) is { } stored &&
            !(stored.Sampled < _options.SampleSize && set.Count >= 2 * stored.CollectionSize))
        {
            return (stored, true);
        }
        var calibration = await CalibrateAsync(set, knownNeighbours, cancellationToken).ConfigureAwait(false);
        if (calibration.Result.Radius is not null)
        {
            using var content = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(calibration, Json));
            await _blobs.PutAsync(CollectionBlobs.CalibratedRadius(set.ModelVersion), content, new BlobPutOptions { ContentType = "application/json" },
                cancellationToken).ConfigureAwait(false);
        }
        return (calibration, false);
    }

    /// <summary>Measures <paramref name="set"/>'s model now (see the remarks); stores nothing.</summary>
    /// <exception cref="ArgumentException">The set is empty, or its model is not the embedder's.</exception>
    /// <param name="set">The collection's signatures under the model.</param>
    /// <param name="knownNeighbours">As for <see cref="GetOrCalibrateAsync"/>.</param>
    /// <param name="cancellationToken">Cancels the measurement.</param>
    public async Task<CalibratedRadius> CalibrateAsync(SignatureSet set, Func<string, string, bool>? knownNeighbours = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(set);
        if (set.Count == 0)
        {
            throw new ArgumentException("There are no signatures to calibrate a radius from.", nameof(set));
        }
        if (set.ModelVersion != _embedder.ModelVersion)
        {
            throw new ArgumentException($"The signatures are from {set.ModelVersion}, the embedder computes {_embedder.ModelVersion}.", nameof(set));
        }
        if (set.Count < _options.MinimumImages)
        {
            var tooFew = new RadiusCalibrationResult(null, 0, 0, 0, 0, false,
                $"{set.Count} signed images are too few to calibrate from (at least {_options.MinimumImages})");
            return new CalibratedRadius(set.ModelVersion, tooFew, 0, set.Count, _options.Seed, _time.GetUtcNow());
        }
        // A seeded sample of rows, in a stable order whatever order the catalog listed them in.
        var rows = Enumerable.Range(0, set.Count).OrderBy(r => set.ImageIds[r], StringComparer.Ordinal).ToArray();
        new Random(_options.Seed).Shuffle(rows);
        rows = rows[..Math.Min(rows.Length, _options.SampleSize)];
        var hosts = rows.Select(r => set.ImageIds[r]).ToArray();
        var derivatives = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            derivatives[set.ImageIds[row]] = await _blobs.ReadAllBytesAsync(CollectionBlobs.Derivative(set.Images[row].ContentHash!), cancellationToken).ConfigureAwait(false);
        }

        var spec = _embedder.Preprocessing;
        var inputs = new float[rows.Length * spec.ValuesPerImage];
        var measured = new List<int>();
        foreach (var row in rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var id = set.ImageIds[row];
            var derivation = DerivationSampler.Sample(_options.Seed, id, 0, hosts);
            var host = derivation is PastedMotif pasted ? derivatives[pasted.Host] : [];
            try
            {
                DerivationRenderer.RenderModelInput(derivatives[id], derivation, spec, inputs.AsSpan(measured.Count * spec.ValuesPerImage, spec.ValuesPerImage), host);
                measured.Add(row);
            }
            catch (Exception e) when (e is ArgumentException or ImageRejectedException)
            {
                // A derivative too small for its derivation: that image is left out of the sample.
            }
        }
        var copies = new float[measured.Count * set.Dimension];
        if (measured.Count > 0)
        {
            _embedder.Embed(inputs.AsSpan(0, measured.Count * spec.ValuesPerImage), measured.Count, copies);
        }

        var positives = new List<double>();
        for (var i = 0; i < measured.Count; i++)
        {
            var row = measured[i];
            positives.Add(CosineRanking.ImageDistance(set.Row(row), copies.AsSpan(i * set.Dimension, set.Dimension), set.Parts));
        }
        var result = knownNeighbours is null
            ? RadiusCalibration.CalibrateWithoutLabels(positives, PairDistances(set, rows), set.Count - 1, _options.Targets)
            : RadiusCalibration.Calibrate(positives, NearestNonNeighbours(set, rows, knownNeighbours), _options.Targets);
        return new CalibratedRadius(set.ModelVersion, result, measured.Count, set.Count, _options.Seed, _time.GetUtcNow());
    }

    /// <summary>Each sampled image's distance to its nearest other image that is not the same picture nor a known
    /// neighbour; 32 candidates cover a picture stored a few times over and a curated family of a few dozen.</summary>
    private static List<double> NearestNonNeighbours(SignatureSet set, int[] rows, Func<string, string, bool> knownNeighbours)
    {
        var nonNeighbours = new List<double>();
        foreach (var row in rows)
        {
            var (id, hash) = (set.ImageIds[row], set.Images[row].ContentHash);
            var nearest = set.Nearest(set.Row(row), 32, exclude: row)
                .Where(h => h.Distance > RadiusCalibratorOptions.IdenticalDistance && set.Images[h.Row].ContentHash != hash
                            && !knownNeighbours(id, set.ImageIds[h.Row]))
                .Select(h => (double?)h.Distance).FirstOrDefault();
            if (nearest is { } d)
            {
                nonNeighbours.Add(d);
            }
        }
        return nonNeighbours;
    }

    /// <summary>Without labels: the distances from each sampled image to up to <see cref="PairsPerImage"/> other images
    /// (all of them in a collection that small, else a seeded draw), the same picture left out. They describe the bulk of
    /// unrelated pairs (<see cref="RadiusCalibration.CalibrateWithoutLabels"/>); 64 × 1,024 distances put the median
    /// and upper quartile within a fraction of a percent of share, at a cost of a few hundred million multiply-adds.</summary>
    private List<double> PairDistances(SignatureSet set, int[] rows)
    {
        var random = new Random(_options.Seed ^ 0x9a125);
        var distances = new List<double>();
        var all = Enumerable.Range(0, set.Count).ToArray();
        foreach (var row in rows)
        {
            var hash = set.Images[row].ContentHash;
            var others = set.Count - 1 <= PairsPerImage ? all : random.GetItems(all, PairsPerImage);
            foreach (var other in others)
            {
                if (other == row || set.Images[other].ContentHash == hash)
                {
                    continue;
                }
                var d = CosineRanking.ImageDistance(set.Row(row), set.Row(other), set.Parts);
                if (d > RadiusCalibratorOptions.IdenticalDistance)
                {
                    distances.Add(d);
                }
            }
        }
        return distances;
    }

    private const int PairsPerImage = 1024;
}
