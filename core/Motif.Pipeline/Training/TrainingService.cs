using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Motif.Core.Evaluation;
using Motif.Core.Signatures;
using Motif.Core.Training;
using Motif.Imaging;
using Motif.Imaging.Derivations;
using Motif.Pipeline.Annotations;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;

namespace Motif.Pipeline.Training;

/// <summary>
/// Fine-tunes a signature network on a workspace's ground truth (issue 11, item 5): epochs of triplets mined from
/// fresh signatures of the frozen split's training part, validation mAP after each epoch with early stopping, a
/// checkpoint per epoch in the workspace's blob store, and a final evaluation of the best epoch on the test part.
/// Synthetic copies of the collection's own images train beside the curated pairs, and alone when the workspace has no
/// morphograph (item 3; <see cref="SyntheticData"/> says how they are mixed and what is held out without labels).
/// </summary>
/// <remarks>
/// <para><b>An epoch.</b> The signatures of the whole collection under the current weights (the ones the previous
/// epoch was validated with) mine the epoch's triplets (<see cref="TripletMining"/>: pairs of the training part only,
/// hard negatives excluding the anchor's component, SIMILAR partners and every held-out image), seeded by the run's
/// seed and the epoch number; they are shuffled by the same seed and cut into steps of
/// <see cref="TrainingRunOptions.BatchSize"/>. The contrastive loss trains each triplet as two pairs, (anchor,
/// positive) same and (anchor, negative) different. The collection is then signed again and scored on the validation
/// part (<see cref="MorphographEvaluation"/>), as the research chose its epochs.</para>
/// <para><b>Inputs</b> are preprocessed once from the stored derivatives and kept in memory, with the derivatives
/// themselves: the epoch's synthetic copies are rendered from those (seeded by the epoch, so a resumed epoch renders the
/// same floats). <b>Without labels</b> validation and test score the retrieval of held-out images from synthetic copies
/// of them (<see cref="CopyRetrieval"/>), since there is no curated validation part.</para>
/// <para><b>Storage and resuming.</b> A run is identified by its base model, data version and options (the run key); its
/// folder is <see cref="CollectionBlobs.TrainingRun"/>. Epoch 0 is the base model, validated and checkpointed like
/// the others, so the best epoch always has a checkpoint. After each epoch the checkpoint blob is written first and
/// the progress record second: the record is the commit. A kill between the two leaves a checkpoint the record does
/// not name, which the rerun overwrites; the opposite order could leave a record naming a checkpoint that was never
/// written, and the run could not resume. A rerun with the same arguments loads the last recorded checkpoint (weights,
/// optimiser state, step) and continues with the next epoch; on a CPU the engine makes that bit-exact
/// (<see cref="ISignatureTrainer"/>), and mining depends only on the signatures and the seed, so a resumed run ends
/// with the same weights as one that never stopped. A finished run's rerun returns its record.</para>
/// <para><b>Kept checkpoints.</b> Every epoch writes one; once a later epoch is recorded, only the last (to resume)
/// and the best (to evaluate and to keep) stay.</para>
/// <para><b>Early stopping.</b> Training stops when <see cref="TrainingRunOptions.Patience"/> epochs in a row have not
/// improved on the best epoch so far (<see cref="TrainingProgress.BestOf"/>: validation mAP, then the copies' margin),
/// computed from the record, so a resumed run stops where the original would have.</para>
/// </remarks>
public sealed class TrainingService
{
    private const string ProgressBlob = "progress.json";
    private const int EmbedBatch = 16;

    /// <summary>The powers a projection is fitted with, the better on validation kept: none, and the square root that
    /// the lead's trial found best on this kind of signature (mAP 0.197 → 0.248 alone on the tiles).</summary>
    private static readonly double[] ProjectionPowers = [1.0, 0.5];

    /// <summary>The ridges tried with each power (× C_S's mean eigenvalue, <see cref="SignatureProjectionOptions.Ridge"/>),
    /// the best on validation kept: the three the lead compared offline, a decade apart (0.1 scored best on the tiles'
    /// half B there, which is why it must not be chosen there).</summary>
    private static readonly double[] ProjectionRidges = [0.01, 0.1, 1.0];

    /// <summary>Mixed into the run's seed for the projection's copies, so they are not any epoch's.</summary>
    private const int ProjectionSalt = 0x3a7f1;

    /// <summary>Fewest images a run without labels starts from: with one in six held out for validation and one in six
    /// for test, fewer leave a validation score of one or two copies, which cannot choose an epoch.</summary>
    private const int MinimumUnlabelledImages = 10;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private readonly IBlobStore _blobs;
    private readonly IImageCatalog _catalog;
    private readonly ISignatureTrainer _trainer;
    private readonly TrainingRunOptions _options;
    private readonly ITrainingChartRenderer? _charts;

    /// <param name="blobs">The workspace's blob store: derivatives are read from it, the run's folder written to it.</param>
    /// <param name="catalog">The workspace's catalog: which images the collection holds.</param>
    /// <param name="trainer">The network, built at <see cref="TrainingRunOptions.InputSize"/>, with the base weights.</param>
    /// <param name="options">The run's hyper-parameters.</param>
    /// <param name="charts">Renders the curves as PNG beside their SVG; null for SVG only.</param>
    /// <exception cref="ArgumentException">An option is out of range, or the trainer's input size is not the options'.</exception>
    public TrainingService(IBlobStore blobs, IImageCatalog catalog, ISignatureTrainer trainer, TrainingRunOptions options, ITrainingChartRenderer? charts = null)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (trainer.Preprocessing.InputSize != options.InputSize)
        {
            throw new ArgumentException($"The trainer takes {trainer.Preprocessing.InputSize}² inputs; the options say {options.InputSize}².", nameof(trainer));
        }
        (_blobs, _catalog, _trainer, _options, _charts) = (blobs, catalog, trainer, options, charts);
    }

    /// <summary>The run key of a run: a hash of everything that decides its result.</summary>
    public static string RunKey(string baseModel, string dataVersion, TrainingRunOptions options) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{baseModel}\n{dataVersion}\n{JsonSerializer.Serialize(options, Json)}")))[..32];

    /// <summary>
    /// Trains (or resumes, or returns the finished run) on <paramref name="truth"/> and synthetic copies of the
    /// collection, or on synthetic copies alone when there is no ground truth, starting from
    /// <paramref name="baseModel"/>'s weights, which the trainer holds.
    /// </summary>
    /// <param name="truth">The merged ground truth with its frozen split (<see cref="GroundTruth.LoadAsync"/>), or null
    /// for a collection without labels (see the remarks: synthetic pairs only, held-out copies for validation).</param>
    /// <param name="baseModel">The version of the weights the trainer starts from (the parent of every checkpoint).</param>
    /// <param name="progress">Told after each epoch, including epoch 0 and the epochs a resume finds done.</param>
    /// <param name="cancellationToken">Stops between steps; the last complete epoch stays resumable.</param>
    /// <exception cref="TrainingRefusedException">Too little ground truth or no usable image (the message says which).</exception>
    public async Task<TrainingResult> RunAsync(GroundTruth? truth, string baseModel, IProgress<TrainingEpochReport>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(baseModel);
        var images = (await _catalog.ListImagesAsync(cancellationToken).ConfigureAwait(false))
            .Where(i => i is { Status: ImageStatus.Accepted, ContentHash: not null }).OrderBy(i => i.ImageId, StringComparer.Ordinal).ToArray();
        var dataVersion = truth?.DataVersion ?? SyntheticData.DataVersion(images.Select(i => (i.ImageId, i.ContentHash!)));
        var runKey = RunKey(baseModel, dataVersion, _options);
        var folder = CollectionBlobs.TrainingRun(runKey);
        var record = await ReadProgressAsync(folder, cancellationToken).ConfigureAwait(false);
        if (record?.Test is not null)
        {
            foreach (var done in record.Epochs)
            {
                progress?.Report(new TrainingEpochReport(done, [], Resumed: true));
            }
            return await FinishAsync(folder, record, cancellationToken).ConfigureAwait(false);
        }

        var (ids, derivatives, inputs) = await LoadInputsAsync(images, cancellationToken).ConfigureAwait(false);
        var data = Synthetic(truth, ids, derivatives, _trainer.Preprocessing);
        if (truth is null && (ids.Count < MinimumUnlabelledImages || data.Validation.Count == 0))
        {
            throw new TrainingRefusedException($"{ids.Count} images are too few to hold out validation copies from (about one image in six is held out; " +
                                               $"at least {MinimumUnlabelledImages} images): add more images, or give a morphograph.");
        }
        _trainer.Configure(new SignatureTrainingSettings(_options.Loss, _options.LearningRate, _options.FrozenStages, _options.Margin, _options.PoolingPower,
            _options.DetailView));
        var stride = _trainer.Preprocessing.ValuesPerImage;
        var row = ids.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i, StringComparer.Ordinal);

        var epochs = new List<TrainingEpoch>();
        if (record is null)
        {
            var signatures = EmbedAll(inputs, ids.Count, cancellationToken);
            var validation = Validate(truth, data, signatures, ValidationCopies(_trainer, data, cancellationToken), ids, cancellationToken);
            var base0 = await CheckpointAsync(folder, 0, 0, 0, [], validation, dataVersion, baseModel, epochs, cancellationToken).ConfigureAwait(false);
            epochs.Add(base0);
            record = new TrainingProgress(TrainingProgress.CurrentSchema, runKey, baseModel, dataVersion, _options, epochs, null);
            await WriteProgressAsync(folder, record, cancellationToken).ConfigureAwait(false);
            progress?.Report(new TrainingEpochReport(base0, [], Resumed: false));
        }
        else
        {
            epochs.AddRange(record.Epochs);
            foreach (var done in epochs)
            {
                progress?.Report(new TrainingEpochReport(done, [], Resumed: true));
            }
            await LoadCheckpointAsync(epochs[^1].Checkpoint, cancellationToken).ConfigureAwait(false);
        }

        var current = EmbedAll(inputs, ids.Count, cancellationToken);
        while (epochs[^1].Epoch < _options.Epochs && epochs[^1].Epoch - TrainingProgress.BestOf(epochs).Epoch < _options.Patience)
        {
            var epoch = epochs[^1].Epoch + 1;
            var (triplets, copies) = data.Epoch(current, SeedOf(epoch), cancellationToken);
            if (triplets.Length == 0)
            {
                throw new TrainingRefusedException("No triplet could be mined: no training image has a usable synthetic copy and a possible negative " +
                                                   "(every other image is in its component, SIMILAR to it or held out).");
            }
            new Random(SeedOf(epoch)).Shuffle(triplets);
            var losses = new List<float>();
            for (var start = 0; start < triplets.Length; start += _options.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                losses.Add(Step(triplets.AsSpan(start, Math.Min(_options.BatchSize, triplets.Length - start)), inputs, copies, row, stride));
            }
            current = EmbedAll(inputs, ids.Count, cancellationToken);
            var validation = Validate(truth, data, current, ValidationCopies(_trainer, data, cancellationToken), ids, cancellationToken);
            var done = await CheckpointAsync(folder, epoch, epochs[^1].Steps + losses.Count, triplets.Length, losses, validation, dataVersion, baseModel,
                epochs, cancellationToken).ConfigureAwait(false);
            epochs.Add(done);
            record = record with { Epochs = [.. epochs] };
            // The checkpoint is stored; only now does the record name it (see the remarks).
            await WriteProgressAsync(folder, record, cancellationToken).ConfigureAwait(false);
            progress?.Report(new TrainingEpochReport(done, triplets, Resumed: false));
            await PruneAsync(epochs, cancellationToken).ConfigureAwait(false);
        }

        var best = TrainingProgress.BestOf(epochs);
        if (best.Epoch != epochs[^1].Epoch)
        {
            await LoadCheckpointAsync(best.Checkpoint, cancellationToken).ConfigureAwait(false);
            current = EmbedAll(inputs, ids.Count, cancellationToken);
        }
        // The projection is fitted, chosen and tested at the size the version will sign at (TrainingRunOptions.SigningSize):
        // whitening estimated on other signatures than it is applied to whitens the wrong directions.
        var signer = _options.Whiten ? _trainer.AtInputSize(_options.SigningSize ?? _options.InputSize) : _trainer;
        var signing = ReferenceEquals(signer, _trainer)
            ? new SigningView(_trainer, data, current, _options.Whiten ? ValidationCopies(_trainer, data, cancellationToken) : [], best.ValidationMap, TimeSpan.Zero)
            : Resize(signer, truth, ids, derivatives, cancellationToken);
        SignatureProjection? projection = null;
        if (_options.Whiten)
        {
            TrainingProjection? kept;
            (projection, kept) = await FitProjectionAsync(folder, best, truth, signing, ids, dataVersion, baseModel, epochs, cancellationToken)
                .ConfigureAwait(false);
            record = record with { Projection = kept };
        }
        TrainingTest tested;
        if (truth is not null)
        {
            var test = MorphographEvaluation.Evaluate(truth.Duplicates, truth.Split, SplitPart.Test, Project(projection, signing.Signatures), ids, cancellationToken: cancellationToken).Retrieval;
            tested = new TrainingTest(best.Epoch, test.MeanAveragePrecision, test.QueryCount, RecallAt(test, 1), RecallAt(test, 10));
        }
        else
        {
            var test = CopyRetrieval.Evaluate(Project(projection, signing.Signatures),
                Project(projection, EmbedAll(signer, signing.Data.Test.Inputs, signing.Data.Test.Count, cancellationToken)), signing.Data.Test.Originals, signer.Dimension);
            tested = new TrainingTest(best.Epoch, test.MeanAveragePrecision, test.Queries, test.RecallAt1, test.RecallAt10);
        }
        record = record with { Epochs = [.. epochs], Test = tested };
        await WriteProgressAsync(folder, record, cancellationToken).ConfigureAwait(false);
        return await FinishAsync(folder, record, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The stored progress of the run with these inputs, or null when it never completed an epoch.</summary>
    public async Task<TrainingProgress?> ReadProgressAsync(string folder, CancellationToken cancellationToken = default)
    {
        try
        {
            var bytes = await _blobs.ReadAllBytesAsync(folder + ProgressBlob, cancellationToken).ConfigureAwait(false);
            return JsonSerializer.Deserialize<TrainingProgress>(bytes, Json) is { Schema: TrainingProgress.CurrentSchema } p
                ? p
                : throw new InvalidDataException($"{folder}{ProgressBlob} is not a training progress record of schema {TrainingProgress.CurrentSchema}.");
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return null;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{folder}{ProgressBlob} is unreadable: {e.Message}", e);
        }
    }

    private static double RecallAt(RetrievalReport report, int k) => report.RecallAtK.FirstOrDefault(r => r.K == k)?.Recall ?? double.NaN;

    /// <summary>The seed of epoch <paramref name="epoch"/>'s mining and order: the run's seed and the epoch, mixed so
    /// that neighbouring seeds do not give neighbouring epochs' draws.</summary>
    private int SeedOf(int epoch) => (int)(((uint)_options.Seed * 2654435761u) ^ ((uint)epoch * 40503u));

    private float Step(ReadOnlySpan<MinedTriplet> batch, float[] inputs, IReadOnlyDictionary<(string, DerivationKey), float[]> copies,
        Dictionary<string, int> row, int stride)
    {
        var n = batch.Length;
        var (a, p, c) = (new float[n * stride], new float[n * stride], new float[n * stride]);
        for (var i = 0; i < n; i++)
        {
            inputs.AsSpan(row[batch[i].Anchor] * stride, stride).CopyTo(a.AsSpan(i * stride));
            var positive = batch[i].Derivation is { } key ? copies[(batch[i].Positive, key)] : inputs.AsSpan(row[batch[i].Positive] * stride, stride);
            positive.CopyTo(p.AsSpan(i * stride));
            inputs.AsSpan(row[batch[i].Negative] * stride, stride).CopyTo(c.AsSpan(i * stride));
        }
        if (_options.Loss != SignatureLoss.Contrastive)
        {
            return _trainer.TrainTriplets(a, p, c, n);
        }
        // Each triplet as two labelled pairs: (anchor, positive) same, (anchor, negative) different.
        var first = new float[2 * n * stride];
        var second = new float[2 * n * stride];
        a.CopyTo(first, 0);
        a.CopyTo(first, n * stride);
        p.CopyTo(second, 0);
        c.CopyTo(second, n * stride);
        var same = Enumerable.Range(0, 2 * n).Select(i => i < n).ToArray();
        return _trainer.TrainPairs(first, second, same, 2 * n);
    }

    /// <summary>Validation mAP and, without labels, the copies' mean margin (NaN with a ground truth), of the collection's
    /// <paramref name="signatures"/> and, without labels, <paramref name="validationCopies"/>, the signatures of
    /// <paramref name="data"/>'s validation copies (<see cref="ValidationCopies"/>, projected by the caller as the
    /// collection's are).</summary>
    private static (double Map, double Margin) Validate(GroundTruth? truth, SyntheticData data, float[] signatures, float[] validationCopies,
        IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        if (truth is null)
        {
            var copies = CopyRetrieval.Evaluate(signatures, validationCopies, data.Validation.Originals, signatures.Length / ids.Count);
            return (copies.MeanAveragePrecision, copies.MeanMargin);
        }
        var report = MorphographEvaluation.Evaluate(truth.Duplicates, truth.Split, SplitPart.Validation, signatures, ids, cancellationToken: cancellationToken);
        return report.QueryImages > 0
            ? (report.Retrieval.MeanAveragePrecision, double.NaN)
            : throw new TrainingRefusedException("The validation part has no image with a positive partner in the collection, so no epoch could be chosen: " +
                                                 "import or annotate more connections (the split puts about one component in six there).");
    }

    /// <summary>
    /// Fits a signature projection on the best epoch's network (<see cref="TrainingRunOptions.Whiten"/>): matching
    /// pairs of each training image and <see cref="TrainingRunOptions.ProjectionCopiesPerImage"/> synthetic copies of it
    /// (their own seed, so the same every rerun), μ from the whole collection's signatures (no label involved), for
    /// α = 1 and α = 0.5; the better on validation is kept only if it validates better than the network alone, and then
    /// stored as a checkpoint of the epoch's weights with the projection in its metadata, which every host that opens
    /// the checkpoint applies (SignatureModel in Motif.Engine). The checkpoint is written before the record names it.
    /// </summary>
    /// <remarks>Model selection on the training collection's own held-out copies only (or, with labels, its validation
    /// part): α ∈ {1, 0.5} and the ridge ∈ {0.01, 0.1, 1} × C_S's mean eigenvalue are chosen together, six candidates on
    /// the same validation, and the benchmark's other collection never chooses any of them or whether to keep the
    /// projection. The decomposition of C_S is done once per power: a ridge only shifts its eigenvalues.</remarks>
    private async Task<(SignatureProjection? Projection, TrainingProjection? Kept)> FitProjectionAsync(string folder, TrainingEpoch best, GroundTruth? truth,
        SigningView signing, IReadOnlyList<string> ids, string dataVersion, string baseModel, IReadOnlyList<TrainingEpoch> epochs,
        CancellationToken cancellationToken)
    {
        var (signer, data, signatures) = (signing.Embedder, signing.Data, signing.Signatures);
        var embedding = System.Diagnostics.Stopwatch.StartNew();
        var copies = data.TrainingCopies(unchecked(_options.Seed ^ ProjectionSalt), TrainingRunOptions.ProjectionCopiesPerImage);
        // A curator's POSITIVE pairs of the training part join the synthetic ones: they are the variation a museum's own
        // reproductions show, which synthetic copies only imitate (fitted on the sample's real reproductions the lead
        // measured 0.283 where the synthetic copies gave 0.270). Validation and test components never join.
        var curated = data.CuratedPairs;
        var pairCount = copies.Count + curated.Count;
        if (pairCount == 0)
        {
            return (null, null);
        }
        var d = signer.Dimension;
        var copySignatures = EmbedAll(signer, copies.Inputs, copies.Count, cancellationToken);
        var embedSeconds = (signing.EmbedTime + embedding.Elapsed).TotalSeconds;
        var originals = new float[pairCount * d];
        var partners = new float[pairCount * d];
        copySignatures.CopyTo(partners, 0);
        for (var i = 0; i < copies.Count; i++)
        {
            signatures.AsSpan(copies.Originals[i] * d, d).CopyTo(originals.AsSpan(i * d));
        }
        for (var i = 0; i < curated.Count; i++)
        {
            signatures.AsSpan(curated[i].First * d, d).CopyTo(originals.AsSpan((copies.Count + i) * d));
            signatures.AsSpan(curated[i].Second * d, d).CopyTo(partners.AsSpan((copies.Count + i) * d));
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var fitting = TimeSpan.Zero;
        (SignatureProjection Projection, double Ridge, double Map, double Margin)? chosen = null;
        foreach (var power in ProjectionPowers)
        {
            clock.Restart();
            var candidates = SignatureProjection.Fit(originals, partners, pairCount, signatures, d, power, ProjectionRidges);
            fitting += clock.Elapsed;
            for (var i = 0; i < candidates.Count; i++)
            {
                // The validation copies were embedded once (SigningView): the candidates differ only in the projection.
                var (map, margin) = Validate(truth, data, Project(candidates[i], signatures), Project(candidates[i], signing.ValidationCopies), ids, cancellationToken);
                if (chosen is null || map > chosen.Value.Map || (map == chosen.Value.Map && margin > chosen.Value.Margin))
                {
                    chosen = (candidates[i], ProjectionRidges[i], map, margin);
                }
            }
        }
        if (chosen is not { } won || !(won.Map > signing.ValidationMap))
        {
            return (null, null);
        }
        var name = $"{folder}projected-epoch-{best.Epoch:D4}.ckpt";
        var metadata = CheckpointMetadata(new Dictionary<string, object>
        {
            ["epoch"] = best.Epoch,
            ["parentVersion"] = baseModel,
            ["dataVersion"] = dataVersion,
            ["hyperParameters"] = _options,
            ["validationMap"] = epochs.Select(e => e.ValidationMap).ToArray(),
            ["projectedValidationMap"] = won.Map,
            ["projectionRidge"] = won.Ridge,
            [SignatureProjection.MetadataKey] = Convert.ToBase64String(won.Projection.ToBytes()),
        });
        var file = Path.Combine(Path.GetTempPath(), $"motif-train-{Guid.NewGuid():N}.ckpt");
        try
        {
            _trainer.SaveCheckpoint(file, metadata);
            await using var content = File.OpenRead(file);
            await _blobs.PutAsync(name, content, new BlobPutOptions { ContentType = "application/octet-stream" }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(file);
        }
        return (won.Projection, new TrainingProjection(best.Epoch, won.Projection.Power, won.Projection.Dimension, pairCount, won.Map, name, fitting.TotalSeconds)
        {
            InputSize = signer.Preprocessing.InputSize,
            Ridge = won.Ridge,
            CuratedPairs = curated.Count,
            NetworkValidationMap = signing.ValidationMap,
            EmbedSeconds = embedSeconds,
        });
    }

    private static float[] Project(SignatureProjection? projection, float[] signatures)
    {
        if (projection is null)
        {
            return signatures;
        }
        var projected = new float[signatures.Length];
        projection.Apply(signatures, signatures.Length / projection.Dimension, projected);
        return projected;
    }

    private float[] EmbedAll(float[] inputs, int count, CancellationToken cancellationToken) => EmbedAll(_trainer, inputs, count, cancellationToken);

    /// <summary>The signatures of <paramref name="data"/>'s validation copies (none with a ground truth).</summary>
    private static float[] ValidationCopies(ISignatureEmbedder embedder, SyntheticData data, CancellationToken cancellationToken) =>
        EmbedAll(embedder, data.Validation.Inputs, data.Validation.Count, cancellationToken);

    /// <summary>The run's synthetic data over the collection preprocessed as <paramref name="spec"/> says: the copies of
    /// its kinds under its seed, and the same held-out parts at any size.</summary>
    private SyntheticData Synthetic(GroundTruth? truth, IReadOnlyList<string> ids, IReadOnlyDictionary<string, byte[]> derivatives, PreprocessSpec spec) =>
        new(truth, ids, derivatives, spec, new SyntheticTripletOptions(1, _options.NegativesPerPair, _options.NearestCandidates), _options.Seed,
            _options.ReproducedDetails ? DerivationSampler.AllKinds : DerivationSampler.Kinds);

    private static float[] EmbedAll(ISignatureEmbedder embedder, float[] inputs, int count, CancellationToken cancellationToken)
    {
        var stride = embedder.Preprocessing.ValuesPerImage;
        var signatures = new float[count * embedder.Dimension];
        for (var start = 0; start < count; start += EmbedBatch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var n = Math.Min(EmbedBatch, count - start);
            embedder.Embed(inputs.AsSpan(start * stride, n * stride), n, signatures.AsSpan(start * embedder.Dimension, n * embedder.Dimension));
        }
        return signatures;
    }

    /// <summary>What the projection is fitted, chosen and tested on: the collection's signatures, the synthetic data and
    /// its validation copies' signatures at the signing size, and the network's own validation mAP there (what a
    /// projection must beat to be kept).</summary>
    private sealed record SigningView(ISignatureEmbedder Embedder, SyntheticData Data, float[] Signatures, float[] ValidationCopies, double ValidationMap,
        TimeSpan EmbedTime);

    /// <summary>The collection and its synthetic data at <paramref name="signer"/>'s input size: the same images, the same
    /// seeded copies (rendering depends on the seed, not on the size) and the same held-out parts, embedded by the best
    /// network at that size.</summary>
    private SigningView Resize(ISignatureEmbedder signer, GroundTruth? truth, IReadOnlyList<string> ids, IReadOnlyDictionary<string, byte[]> derivatives,
        CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var spec = signer.Preprocessing;
        var inputs = new float[ids.Count * spec.ValuesPerImage];
        var results = ImageCodec.PreprocessBatch(ids.Select(id => (ReadOnlyMemory<byte>)derivatives[id]).ToArray(), spec, inputs, Environment.ProcessorCount,
            cancellationToken: cancellationToken);
        if (Array.FindIndex(results, r => !r.Succeeded) is var failed and >= 0)
        {
            // Every derivative here decoded at the training size; only the resize differs.
            throw new InvalidDataException($"The derivative of {ids[failed]} decoded at {_options.InputSize} px but not at {spec.InputSize} px: {results[failed].Message}");
        }
        var data = Synthetic(truth, ids, derivatives, spec);
        var signatures = EmbedAll(signer, inputs, ids.Count, cancellationToken);
        var copies = ValidationCopies(signer, data, cancellationToken);
        var (map, _) = Validate(truth, data, signatures, copies, ids, cancellationToken);
        return new SigningView(signer, data, signatures, copies, map, clock.Elapsed);
    }

    /// <summary>Every image of <paramref name="images"/> with its derivative (kept: synthetic copies are rendered from
    /// it) preprocessed to the trainer's input, in the given (ordinal) order; images whose derivative is missing or
    /// unusable are left out.</summary>
    private async Task<(IReadOnlyList<string> Ids, IReadOnlyDictionary<string, byte[]> Derivatives, float[] Inputs)> LoadInputsAsync(
        IReadOnlyList<ImageRecord> images, CancellationToken cancellationToken)
    {
        var derivatives = new List<(string Id, byte[] Bytes)>();
        foreach (var image in images)
        {
            try
            {
                derivatives.Add((image.ImageId, await _blobs.ReadAllBytesAsync(CollectionBlobs.Derivative(image.ContentHash!), cancellationToken).ConfigureAwait(false)));
            }
            catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
            {
            }
        }
        if (derivatives.Count == 0)
        {
            throw new TrainingRefusedException("The workspace holds no accepted image: add the collection first (`motif run`).");
        }
        var spec = _trainer.Preprocessing;
        var all = new float[derivatives.Count * spec.ValuesPerImage];
        var results = ImageCodec.PreprocessBatch(derivatives.Select(d => (ReadOnlyMemory<byte>)d.Bytes).ToArray(), spec, all, Environment.ProcessorCount,
            cancellationToken: cancellationToken);
        var ids = new List<string>();
        var kept = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var inputs = new float[results.Count(r => r.Succeeded) * spec.ValuesPerImage];
        for (var i = 0; i < results.Length; i++)
        {
            if (results[i].Succeeded)
            {
                all.AsSpan(i * spec.ValuesPerImage, spec.ValuesPerImage).CopyTo(inputs.AsSpan(ids.Count * spec.ValuesPerImage));
                ids.Add(derivatives[i].Id);
                kept[derivatives[i].Id] = derivatives[i].Bytes;
            }
        }
        return (ids, kept, inputs);
    }

    /// <summary>A checkpoint's user metadata: <paramref name="entries"/>, and the details its version signs
    /// (<see cref="TrainingRunOptions.DetailGrid"/>), which every checkpoint of the run carries so that whichever epoch
    /// becomes the version signs with them.</summary>
    private string CheckpointMetadata(Dictionary<string, object> entries)
    {
        if (_options.SignedDetails is { } details)
        {
            entries[SignatureDetails.MetadataKey] = details.ToJson();
        }
        return JsonSerializer.Serialize(entries, Json);
    }

    private async Task<TrainingEpoch> CheckpointAsync(string folder, int epoch, long steps, int triplets, IReadOnlyList<float> losses,
        (double Map, double Margin) validation, string dataVersion, string baseModel, IReadOnlyList<TrainingEpoch> before, CancellationToken cancellationToken)
    {
        var name = $"{folder}epoch-{epoch:D4}.ckpt";
        var metadata = CheckpointMetadata(new Dictionary<string, object>
        {
            ["epoch"] = epoch,
            ["step"] = steps,
            ["parentVersion"] = baseModel,
            ["dataVersion"] = dataVersion,
            ["hyperParameters"] = _options,
            ["validationMap"] = before.Select(e => e.ValidationMap).Append(validation.Map).ToArray(),
        });
        var file = Path.Combine(Path.GetTempPath(), $"motif-train-{Guid.NewGuid():N}.ckpt");
        try
        {
            var hash = _trainer.SaveCheckpoint(file, metadata);
            await using (var content = File.OpenRead(file))
            {
                await _blobs.PutAsync(name, content, new BlobPutOptions { ContentType = "application/octet-stream" }, cancellationToken).ConfigureAwait(false);
            }
            return new TrainingEpoch(epoch, steps, triplets, [.. losses], validation.Map, name, hash) { ValidationMargin = validation.Margin };
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// Deletes the checkpoints that neither a resume (the last epoch's) nor the final evaluation (the best epoch's)
    /// can need any more: with its optimiser state a ResNet-50 checkpoint is about 220 MB, and a run keeps two, not one
    /// per epoch. Only after the progress record names the new last epoch, so a kill in between leaves extra blobs
    /// (deleted by the next pass), never a record without its checkpoint.
    /// </summary>
    private async Task PruneAsync(IReadOnlyList<TrainingEpoch> epochs, CancellationToken cancellationToken)
    {
        var keep = new HashSet<string>(StringComparer.Ordinal) { epochs[^1].Checkpoint, TrainingProgress.BestOf(epochs).Checkpoint };
        foreach (var epoch in epochs.Where(e => !keep.Contains(e.Checkpoint)))
        {
            await _blobs.DeleteAsync(epoch.Checkpoint, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Downloads a checkpoint blob to a temporary file (the engine loads from files) and loads it.</summary>
    private async Task LoadCheckpointAsync(string name, CancellationToken cancellationToken)
    {
        var file = Path.Combine(Path.GetTempPath(), $"motif-train-{Guid.NewGuid():N}.ckpt");
        try
        {
            await using (var download = await _blobs.GetAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false))
            await using (var target = File.Create(file))
            {
                await download.Content.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
            }
            _trainer.LoadCheckpoint(file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private Task WriteProgressAsync(string folder, TrainingProgress record, CancellationToken cancellationToken) =>
        _blobs.PutAsync(folder + ProgressBlob, new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(record, Json)),
            new BlobPutOptions { ContentType = "application/json" }, cancellationToken);

    private async Task<TrainingResult> FinishAsync(string folder, TrainingProgress record, CancellationToken cancellationToken)
    {
        var curves = await TrainingCurves.WriteAsync(_blobs, folder, record, _charts, cancellationToken).ConfigureAwait(false);
        var last = record.Epochs[^1].Epoch;
        return new TrainingResult(folder, record, record.ResultCheckpoint, StoppedEarly: last < record.Options.Epochs, curves);
    }
}
