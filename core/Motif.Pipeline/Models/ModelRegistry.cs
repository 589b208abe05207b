using System.Security.Cryptography;
using System.Text.Json;
using Motif.Pipeline.Training;
using Motif.Storage.Blobs;

namespace Motif.Pipeline.Models;

/// <summary>
/// The model versions of a workspace (issue 11, item 6), kept in its blob store so that every host (the CLI, the worker,
/// the Functions app) sees the same versions and the same serving pointer: a record per fine-tuned version with its
/// parent, data version, hyper-parameters and metrics, its weights, and one pointer that names the serving version and,
/// during a rollout, the pending one.
/// </summary>
/// <remarks>
/// <para><b>Guarantees.</b></para>
/// <list type="bullet">
/// <item>A record exists only once its weights are stored: <see cref="RegisterAsync"/> writes the weights blob, then the
/// record (create-only), and a kill in between leaves weights without a record, which a rerun registers (the id is the
/// weights' hash, so the rerun writes the same names). The opposite order could leave a record whose weights no host
/// could open.</item>
/// <item>A record never changes once written (create-only), so what a version was trained on and measured at cannot be
/// rewritten by a later run.</item>
/// <item>The pointer names only registered versions (or <see cref="InitialVersion"/>): it is written after the record.</item>
/// <item>The pointer changes only by a conditional write on the ETag that was read (<see cref="IBlobStore"/>'s atomic
/// publication): two promotions that read the same pointer cannot both win; the loser reads again and is judged against
/// what won (typically refused as <see cref="PromotionOutcome.RolloutUnderway"/>).</item>
/// <item>A promotion never replaces the serving version directly: it makes the version pending, and only
/// <see cref="ModelRollout"/> switches, once its signatures are complete, so the previous version serves meanwhile.</item>
/// </list>
/// <para>The packaged network (<see cref="InitialVersion"/>) has no record: it is what serves before any promotion and
/// every host can open it by name.</para>
/// </remarks>
public sealed class ModelRegistry
{
    /// <summary>The folder of every version's record and weights.</summary>
    public const string VersionsFolder = "models/versions/";

    /// <summary>The serving pointer.</summary>
    public const string PointerBlob = "models/serving.json";

    private const string RecordName = "record.json";
    private const string WeightsName = "weights.ckpt";

    private readonly IBlobStore _blobs;
    private readonly TimeProvider _time;

    /// <param name="blobs">The workspace's blob store (training runs are read from it, versions written to it).</param>
    /// <param name="initialVersion">The version that serves before any promotion: the packaged network's version.</param>
    /// <param name="time">The clock of the records' and pointer's times.</param>
    public ModelRegistry(IBlobStore blobs, string initialVersion, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentException.ThrowIfNullOrWhiteSpace(initialVersion);
        (_blobs, InitialVersion, _time) = (blobs, initialVersion, time ?? TimeProvider.System);
    }

    /// <summary>The version that serves until a promotion completes.</summary>
    public string InitialVersion { get; }

    /// <summary>The model version of the packaged network (the engine's <c>SignatureModels.VersionOf("resnet50-imagenet")</c>;
    /// a test checks the two agree): what serves a workspace before any promotion.</summary>
    public const string PackagedVersion = "resnet50-imagenet@1.0.4";

    /// <summary>The registry of a workspace as every host opens it (the CLI, the worker, the Functions app): one place, so
    /// they agree on what serves before any promotion.</summary>
    public static ModelRegistry ForWorkspace(IBlobStore blobs, TimeProvider? time = null) => new(blobs, PackagedVersion, time);

    /// <summary>The id of weights whose SHA-256 is <paramref name="sha256"/>: the id <c>SignatureModels.VersionOf</c> gives a
    /// checkpoint file (the two must agree: signatures are keyed by it, and a test checks they do).</summary>
    public static string VersionIdOf(ReadOnlySpan<byte> sha256) => $"checkpoint:{Convert.ToHexStringLower(sha256)[..16]}";

    /// <summary>The folder of version <paramref name="id"/>.</summary>
    public static string FolderOf(string id) => $"{VersionsFolder}{CollectionBlobs.KeyOf(id)}/";

    /// <summary>
    /// Registers the version a finished training run produced: its best epoch, or, when no epoch validated better than the
    /// base, its last (so every run leaves a candidate, which promotion then refuses as not better). Idempotent: a
    /// rerun of the same run (after a kill, or on redelivery) returns the record already written.
    /// </summary>
    /// <exception cref="ArgumentException">The run has not finished (no test result) or trained no epoch.</exception>
    public async Task<ModelVersionRecord> RegisterAsync(TrainingResult run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        var progress = run.Progress;
        if (progress.Test is not { } test || (progress.Epochs.Count < 2 && progress.Projection is null))
        {
            throw new ArgumentException("Only a finished run that trained at least one epoch or fitted a projection can be registered.", nameof(run));
        }
        // The training service keeps the best and the last checkpoint: when the best is the base, the last trained epoch.
        // A kept projection is the run's result (on the best epoch, the base included): its checkpoint carries it.
        var best = progress.Best;
        var chosen = progress.Projection is { } projection
            ? best with { ValidationMap = projection.ValidationMap, Checkpoint = projection.Checkpoint }
            : best.Epoch > 0 ? best : progress.Epochs[^1];
        var metrics = new ModelVersionMetrics(chosen.Epoch, chosen.ValidationMap, progress.Epochs[0].ValidationMap,
            test.Epoch == chosen.Epoch ? test.MeanAveragePrecision : null, test.Epoch == chosen.Epoch ? test.Queries : null);

        // 1. The weights, named by their hash (so a rerun finds them); the id is known only once they are read whole, so
        //    they go through a temporary file.
        var file = Path.Combine(Path.GetTempPath(), $"motif-version-{Guid.NewGuid():N}.ckpt");
        try
        {
            byte[] sha;
            await using (var download = await _blobs.GetAsync(chosen.Checkpoint, cancellationToken: cancellationToken).ConfigureAwait(false))
            await using (var target = File.Create(file))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[1 << 20];
                int read;
                while ((read = await download.Content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }
                sha = hash.GetHashAndReset();
            }
            var id = VersionIdOf(sha);
            if (await GetAsync(id, cancellationToken).ConfigureAwait(false) is { } existing)
            {
                return existing;
            }
            var folder = FolderOf(id);
            await using (var content = File.OpenRead(file))
            {
                // Unconditional: a kill after this write and before the record's leaves these bytes, which this rewrites
                // with the same bytes (same hash).
                await _blobs.PutAsync(folder + WeightsName, content, new BlobPutOptions { ContentType = "application/octet-stream" }, cancellationToken)
                    .ConfigureAwait(false);
            }

            // 2. The record, create-only: the commit of the registration (see the remarks).
            var record = new ModelVersionRecord(ModelVersionRecord.CurrentSchema, id, progress.BaseModel, progress.DataVersion, progress.Options, metrics,
                folder + WeightsName, chosen.WeightsHash, run.Folder, _time.GetUtcNow()) { Projection = progress.Projection };
            try
            {
                await _blobs.PutAsync(folder + RecordName, new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(record, TrainingService.Json)),
                    new BlobPutOptions { ContentType = "application/json", Conditions = BlobConditions.CreateOnly }, cancellationToken).ConfigureAwait(false);
                return record;
            }
            catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobAlreadyExists)
            {
                // Registered meanwhile by another host running the same job: theirs stands.
                return await GetAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new InvalidDataException($"{folder}{RecordName} is unreadable.");
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>The record of <paramref name="id"/>, or null when no such version is registered.</summary>
    /// <exception cref="InvalidDataException">The record exists but cannot be read.</exception>
    public async Task<ModelVersionRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var name = FolderOf(id) + RecordName;
        byte[] bytes;
        try
        {
            bytes = await _blobs.ReadAllBytesAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return null;
        }
        return Parse(name, bytes) is { } record && record.Id == id ? record : throw new InvalidDataException($"{name} is not the record of {id}.");
    }

    /// <summary>Every registered version, oldest first.</summary>
    /// <exception cref="InvalidDataException">A record cannot be read.</exception>
    public async Task<IReadOnlyList<ModelVersionRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        var records = new List<ModelVersionRecord>();
        await foreach (var blob in _blobs.ListAllAsync(VersionsFolder, cancellationToken).ConfigureAwait(false))
        {
            if (blob.Name.EndsWith("/" + RecordName, StringComparison.Ordinal))
            {
                records.Add(Parse(blob.Name, await _blobs.ReadAllBytesAsync(blob.Name, cancellationToken).ConfigureAwait(false)));
            }
        }
        return [.. records.OrderBy(r => r.CreatedAt).ThenBy(r => r.Id, StringComparer.Ordinal)];
    }

    /// <summary>The serving pointer and its ETag (null while no pointer was written: <see cref="InitialVersion"/> serves).</summary>
    /// <exception cref="InvalidDataException">The pointer exists but cannot be read.</exception>
    public async Task<(ServingPointer Pointer, string? ETag)> ReadPointerAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var (bytes, properties) = await _blobs.ReadAllAsync(PointerBlob, cancellationToken).ConfigureAwait(false);
            try
            {
                return JsonSerializer.Deserialize<ServingPointer>(bytes, TrainingService.Json) is { Serving: { Length: > 0 } } pointer
                    ? (pointer, properties.ETag)
                    : throw new InvalidDataException($"{PointerBlob} names no serving version.");
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{PointerBlob} is unreadable: {e.Message}", e);
            }
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            return (new ServingPointer(InitialVersion, null, null, DateTimeOffset.MinValue), null);
        }
    }

    /// <summary>The state of <paramref name="id"/> under <paramref name="pointer"/>.</summary>
    public static ModelVersionState StateOf(string id, ServingPointer pointer)
    {
        ArgumentNullException.ThrowIfNull(pointer);
        return id == pointer.Serving ? ModelVersionState.Serving : id == pointer.Pending ? ModelVersionState.Pending : ModelVersionState.Candidate;
    }

    /// <summary>
    /// Makes <paramref name="id"/> the pending version when the rules allow, else says why not; a refused version stays a
    /// registered candidate. The rules: it must have validated better than its parent in its own run (where the parent was
    /// epoch 0: the same data, input size and code, unlike a score remembered from an older run), its parent must be the
    /// serving version (otherwise the comparison was against a version that no longer serves: stale, judged first since
    /// then the run's comparison means nothing), and no other version may be pending. Serving does not change here: <see cref="ModelRollout"/> switches once the signatures are complete.
    /// </summary>
    /// <exception cref="ArgumentException">No such version is registered.</exception>
    public async Task<ModelPromotion> PromoteAsync(string id, CancellationToken cancellationToken = default)
    {
        var record = await GetAsync(id, cancellationToken).ConfigureAwait(false)
                     ?? throw new ArgumentException($"No registered model version '{id}'.", nameof(id));
        while (true)
        {
            var (pointer, etag) = await ReadPointerAsync(cancellationToken).ConfigureAwait(false);
            var refusal = Judge(record, pointer);
            if (refusal is not null)
            {
                return refusal;
            }
            var next = pointer with { Pending = id, UpdatedAt = _time.GetUtcNow() };
            if (await TryWritePointerAsync(next, etag, cancellationToken).ConfigureAwait(false))
            {
                return new ModelPromotion(id, PromotionOutcome.Promoted,
                    $"validation mAP {record.Metrics.ValidationMap:0.0000} > {record.Metrics.BaseValidationMap:0.0000} of the serving {record.Parent} in the same run; " +
                    "pending until its signatures are complete", next);
            }
            // Another writer changed the pointer since it was read: judge again against what won.
        }
    }

    /// <summary>
    /// Makes <paramref name="pointer"/>'s pending version serve, if the pointer is still the one read with
    /// <paramref name="etag"/>. Returns the new pointer, or null when the pointer changed meanwhile (the caller reads again).
    /// </summary>
    internal async Task<ServingPointer?> TrySwitchAsync(ServingPointer pointer, string? etag, CancellationToken cancellationToken)
    {
        if (pointer.Pending is null)
        {
            throw new InvalidOperationException("No version is pending.");
        }
        var next = new ServingPointer(pointer.Pending, null, pointer.Serving, _time.GetUtcNow());
        return await TryWritePointerAsync(next, etag, cancellationToken).ConfigureAwait(false) ? next : null;
    }

    /// <summary>
    /// Downloads the weights of <paramref name="id"/> to <paramref name="file"/> (engines load from files) and checks that
    /// they are the version's: the same hash, so a damaged or replaced blob is refused instead of signing under a wrong id.
    /// </summary>
    /// <exception cref="ArgumentException">No such version is registered.</exception>
    /// <exception cref="InvalidDataException">The stored weights are not the version's.</exception>
    public async Task DownloadWeightsAsync(string id, string file, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(file);
        var record = await GetAsync(id, cancellationToken).ConfigureAwait(false)
                     ?? throw new ArgumentException($"No registered model version '{id}'.", nameof(id));
        var partial = file + $".{Guid.NewGuid():N}.part";
        try
        {
            await using (var download = await _blobs.GetAsync(record.Weights, cancellationToken: cancellationToken).ConfigureAwait(false))
            await using (var target = File.Create(partial))
            {
                await download.Content.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
            }
            await using (var written = File.OpenRead(partial))
            {
                var actual = VersionIdOf(await SHA256.HashDataAsync(written, cancellationToken).ConfigureAwait(false));
                if (actual != id)
                {
                    throw new InvalidDataException($"The stored weights of {id} ({record.Weights}) hash to {actual}: they are damaged or were replaced.");
                }
            }
            // Renamed into place whole, so a reader of the file never sees a partial download.
            File.Move(partial, file, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
        }
    }

    private ModelPromotion? Judge(ModelVersionRecord record, ServingPointer pointer)
    {
        var id = record.Id;
        if (id == pointer.Serving || id == pointer.Pending)
        {
            return new ModelPromotion(id, PromotionOutcome.AlreadyPromoted, id == pointer.Serving ? "it already serves" : "it is already pending", pointer);
        }
        if (record.Parent != pointer.Serving)
        {
            return new ModelPromotion(id, PromotionOutcome.Stale,
                $"stale: trained from {record.Parent}, but {pointer.Serving} serves now, so the run never measured it against the serving version", pointer);
        }
        if (!record.Metrics.Improves)
        {
            return new ModelPromotion(id, PromotionOutcome.NotBetter,
                $"validation mAP {record.Metrics.ValidationMap:0.0000} does not improve on its parent's {record.Metrics.BaseValidationMap:0.0000} in the same run", pointer);
        }
        if (pointer.Pending is { } other)
        {
            return new ModelPromotion(id, PromotionOutcome.RolloutUnderway,
                $"{other} is being rolled out; once it serves, train again from it", pointer);
        }
        return null;
    }

    /// <summary>Writes the pointer if it is still the version read (<paramref name="etag"/>, or absent when null); false
    /// when another writer got there first.</summary>
    private async Task<bool> TryWritePointerAsync(ServingPointer next, string? etag, CancellationToken cancellationToken)
    {
        try
        {
            await _blobs.PutAsync(PointerBlob, new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(next, TrainingService.Json)), new BlobPutOptions
            {
                ContentType = "application/json",
                Conditions = etag is null ? BlobConditions.CreateOnly : BlobConditions.Matching(etag),
            }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (BlobStoreException e) when (e.ErrorCode is BlobErrorCode.ConditionNotMet or BlobErrorCode.BlobAlreadyExists)
        {
            return false;
        }
    }

    private static ModelVersionRecord Parse(string name, byte[] bytes)
    {
        try
        {
            return JsonSerializer.Deserialize<ModelVersionRecord>(bytes, TrainingService.Json) is { Schema: ModelVersionRecord.CurrentSchema, Id.Length: > 0 } record
                ? record
                : throw new InvalidDataException($"{name} is not a model version record of schema {ModelVersionRecord.CurrentSchema}.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{name} is unreadable: {e.Message}", e);
        }
    }
}
