using System.Collections.Concurrent;
using Azure;
using Azure.Data.Tables;
using Azure.Data.Tables.Models;
using Motif.Storage.Catalog;

namespace Motif.Storage.Azure.Catalog;

/// <summary>Options of <see cref="TableImageCatalog"/>.</summary>
public sealed record TableImageCatalogOptions
{
    /// <summary>
    /// The most entities one query page asks for (1 to 1,000, the service's maximum). Listings follow the service's
    /// continuation tokens page by page, so a million images never become one giant response.
    /// </summary>
    public int PageSize { get; init; } = 1000;

    /// <summary>How many requests one call runs at once where it needs many (removals, the check after a refused transaction, the models' shard markers).</summary>
    public int MaxConcurrency { get; init; } = 16;
}

/// <summary>
/// <see cref="IImageCatalog"/> on one Azure Storage table, through Azure.Data.Tables. The keys (see
/// <see cref="CatalogKeys"/>) make every read a point read or a partition query; the joins SQLite does in SQL
/// (unsigned and signed work) are done here in memory from partition queries, as the port returns whole lists anyway.
/// </summary>
/// <remarks>
/// <para>The table must exist (see <see cref="CreateTableIfNotExistsAsync"/>). A write or query against a missing table
/// fails with an <see cref="InvalidOperationException"/> that says so; a point read or a delete finds nothing, as the
/// service answers a plain 404 for both. Other failures (network, authorisation, throttling after the client's retries)
/// stay the SDK's <see cref="RequestFailedException"/>.</para>
/// <para>Signatures are insert-only (first writer wins): <see cref="AddSignaturesAsync"/> submits entity-group
/// transactions of at most 100 entities (one partition per model), and when the service refuses one because a
/// signature exists (EntityAlreadyExists) the existing ones are dropped and the rest resubmitted, so a redelivered
/// job's duplicate never moves a signature and the count of new ones is exact, also against a concurrent writer. A
/// call of more than 99 signatures is several transactions, each atomic: a crash between them leaves some recorded,
/// which is safe because the redelivered job adds the others and the recorded ones are ignored as duplicates.</para>
/// <para>Strings that must round-trip exactly (ids, stamps, hashes, model versions, shard names) are refused above
/// 32,768 characters, the service's limit for a property; messages are cut there instead. Times before 1601 (the
/// service's first Edm.DateTime) are refused.</para>
/// </remarks>
public sealed class TableImageCatalog : IImageCatalog
{
    // One entity-group transaction holds at most 100 entities and 4 MiB; the estimate keeps a margin below the latter.
    private const int MaxTransactionEntities = 100;
    private const int MaxTransactionBytes = 3 * 1024 * 1024;

    private static readonly string[] SignatureColumns = [CatalogEntities.ContentHash, CatalogEntities.Shard, CatalogEntities.Row];

    private readonly TableClient _table;
    private readonly TableImageCatalogOptions _options;
    private readonly ConcurrentDictionary<string, bool> _registeredModels = new(StringComparer.Ordinal);

    public TableImageCatalog(TableClient table, TableImageCatalogOptions? options = null)
    {
        _table = table ?? throw new ArgumentNullException(nameof(table));
        _options = options ?? new TableImageCatalogOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.PageSize, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.PageSize, 1000, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxConcurrency, 1, nameof(options));
    }

    /// <summary>Creates the table unless it exists.</summary>
    public async Task CreateTableIfNotExistsAsync(CancellationToken cancellationToken = default) =>
        await _table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);

    public async Task<ImageRecord?> GetImageAsync(string imageId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(imageId);
        var found = await Call(() => _table.GetEntityIfExistsAsync<TableEntity>(CatalogKeys.ImagePartition(imageId), CatalogKeys.ImageRow(imageId),
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return found.HasValue ? CatalogEntities.ToImage(found.Value!) : null;
    }

    public async Task<IReadOnlyList<ImageRecord>> ListImagesAsync(CancellationToken cancellationToken = default)
    {
        var partitions = await Task.WhenAll(CatalogKeys.ImagePartitions.Select(partition =>
            QueryAsync(TableClient.CreateQueryFilter($"PartitionKey eq {partition}"), null, CatalogEntities.ToImage, cancellationToken))).ConfigureAwait(false);
        return CatalogConventions.OrderedById(partitions.SelectMany(p => p), i => i.ImageId);
    }

    public async Task PutImageAsync(ImageRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(record.ImageId, nameof(record));
        var entity = CatalogEntities.Image(record);
        await Call(() => _table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken)).ConfigureAwait(false);
    }

    public async Task<int> RemoveImagesAsync(IReadOnlyCollection<string> imageIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(imageIds);
        foreach (var id in imageIds)
        {
            ArgumentNullException.ThrowIfNull(id, nameof(imageIds));
        }
        // Single deletes rather than transactions: the port promises no atomicity here, and a transaction fails whole on
        // one missing entity, while a single delete answers 404 for it, which is exactly the "did it exist" the count needs.
        var removed = 0;
        await Parallel.ForEachAsync(imageIds.Distinct(StringComparer.Ordinal), Parallelism(cancellationToken), async (id, token) =>
        {
            var response = await Call(() => _table.DeleteEntityAsync(CatalogKeys.ImagePartition(id), CatalogKeys.ImageRow(id), ETag.All, token)).ConfigureAwait(false);
            if (response.Status != 404)
            {
                Interlocked.Increment(ref removed);
            }
        }).ConfigureAwait(false);
        return removed;
    }

    public async Task<SignatureLocation?> GetSignatureAsync(string modelVersion, string contentHash, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelVersion);
        ArgumentNullException.ThrowIfNull(contentHash);
        var found = await Call(() => _table.GetEntityIfExistsAsync<TableEntity>(CatalogKeys.ModelPartition(modelVersion), CatalogKeys.SignatureRow(contentHash),
            SignatureColumns, cancellationToken)).ConfigureAwait(false);
        return found.HasValue ? CatalogEntities.ToSignature(modelVersion, found.Value!) : null;
    }

    public async Task<int> AddSignaturesAsync(IReadOnlyList<SignatureLocation> locations, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(locations);
        foreach (var location in locations)
        {
            ArgumentNullException.ThrowIfNull(location, nameof(locations));
            ArgumentNullException.ThrowIfNull(location.ModelVersion, nameof(locations));
            ArgumentNullException.ThrowIfNull(location.ContentHash, nameof(locations));
            ArgumentNullException.ThrowIfNull(location.Shard, nameof(locations));
            CatalogEntities.Text(location.ModelVersion, nameof(locations));
            CatalogEntities.Text(location.ContentHash, nameof(locations));
            CatalogEntities.Text(location.Shard, nameof(locations));
        }
        var added = 0;
        foreach (var model in locations.GroupBy(l => l.ModelVersion, StringComparer.Ordinal))
        {
            await RegisterModelAsync(model.Key, cancellationToken).ConfigureAwait(false);
            // Within one call the first location of a content wins, as with SQLite's INSERT OR IGNORE in list order
            // (and a transaction may not touch one entity twice).
            foreach (var batch in Batches(model.DistinctBy(l => l.ContentHash, StringComparer.Ordinal)))
            {
                added += await InsertNewSignaturesAsync(model.Key, batch, cancellationToken).ConfigureAwait(false);
            }
        }
        return added;
    }

    public async Task RecordSignatureFailureAsync(string modelVersion, string contentHash, string reasonCode, string message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelVersion);
        ArgumentNullException.ThrowIfNull(contentHash);
        ArgumentNullException.ThrowIfNull(reasonCode);
        CatalogEntities.Text(contentHash, nameof(contentHash));
        var entity = CatalogEntities.Failure(modelVersion, contentHash, reasonCode, message ?? string.Empty);
        await Call(() => _table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<SignatureFailure>> ListSignatureFailuresAsync(string modelVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelVersion);
        var failures = await QueryAsync(RowRange(modelVersion, CatalogKeys.FailurePrefix),
            [CatalogEntities.ContentHash, CatalogEntities.ReasonCode, CatalogEntities.Message], e => CatalogEntities.ToFailure(modelVersion, e), cancellationToken).ConfigureAwait(false);
        failures.Sort((a, b) => string.CompareOrdinal(a.ContentHash, b.ContentHash));
        return failures;
    }

    public async Task<IReadOnlyList<ImageRecord>> ListUnsignedAsync(string modelVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelVersion);
        var images = AcceptedImagesAsync(cancellationToken);
        // The model's whole partition, content hashes only: its signatures and its failures both mean "no work" (the
        // shard markers have no content hash and drop out).
        var settled = QueryAsync(TableClient.CreateQueryFilter($"PartitionKey eq {CatalogKeys.ModelPartition(modelVersion)}"), [CatalogEntities.ContentHash],
            e => e.GetString(CatalogEntities.ContentHash), cancellationToken);
        await Task.WhenAll(images, settled).ConfigureAwait(false); // Both observed, whichever fails.
        var done = (await settled.ConfigureAwait(false)).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var unsigned = (await images.ConfigureAwait(false))
            .Where(i => i.ContentHash is not null && !done.Contains(i.ContentHash))
            .GroupBy(i => i.ContentHash, StringComparer.Ordinal)
            .Select(g => g.MinBy(i => i.ImageId, StringComparer.Ordinal)!);
        return CatalogConventions.OrderedById(unsigned, i => i.ImageId);
    }

    public async Task<IReadOnlyList<(ImageRecord Image, SignatureLocation Signature)>> ListSignedAsync(string modelVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelVersion);
        var images = AcceptedImagesAsync(cancellationToken);
        var signatures = QueryAsync(RowRange(modelVersion, CatalogKeys.SignaturePrefix), SignatureColumns, e => CatalogEntities.ToSignature(modelVersion, e), cancellationToken);
        await Task.WhenAll(images, signatures).ConfigureAwait(false); // Both observed, whichever fails.
        var byHash = (await signatures.ConfigureAwait(false)).ToDictionary(s => s.ContentHash, StringComparer.Ordinal);
        var signed = (await images.ConfigureAwait(false))
            .Where(i => i.ContentHash is not null && byHash.ContainsKey(i.ContentHash))
            .Select(i => (Image: i, Signature: byHash[i.ContentHash!]));
        return CatalogConventions.OrderedById(signed, s => s.Image.ImageId);
    }

    public async Task<IReadOnlySet<string>> ListReferencedShardsAsync(CancellationToken cancellationToken = default)
    {
        var models = await QueryAsync(TableClient.CreateQueryFilter($"PartitionKey eq {CatalogKeys.ModelsPartition}"), [CatalogEntities.ModelVersion],
            e => e.GetString(CatalogEntities.ModelVersion) ?? throw new InvalidDataException($"The model registry entry {e.RowKey} has no model version."),
            cancellationToken).ConfigureAwait(false);
        var shards = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(models, Parallelism(cancellationToken), async (model, token) =>
        {
            var markers = await QueryAsync(RowRange(model, CatalogKeys.ShardPrefix), [CatalogEntities.Shard],
                e => e.GetString(CatalogEntities.Shard) ?? throw new InvalidDataException($"The shard marker {e.RowKey} has no shard name."), token).ConfigureAwait(false);
            markers.ForEach(shards.Add);
        }).ConfigureAwait(false);
        return shards.ToHashSet(StringComparer.Ordinal);
    }

    // The registry entry goes in before the model's first signature, so ListReferencedShards, which visits the models
    // it lists, can never miss a shard. Once per model and instance: the entry is never removed.
    private async Task RegisterModelAsync(string modelVersion, CancellationToken cancellationToken)
    {
        if (_registeredModels.ContainsKey(modelVersion))
        {
            return;
        }
        var entry = CatalogEntities.ModelEntry(modelVersion);
        await Call(() => _table.UpsertEntityAsync(entry, TableUpdateMode.Replace, cancellationToken)).ConfigureAwait(false);
        _registeredModels.TryAdd(modelVersion, true);
    }

    /// <summary>
    /// Inserts the signatures of <paramref name="batch"/> (one model, distinct contents) that do not exist yet, with
    /// their shards' markers, in one transaction; returns how many were inserted.
    /// </summary>
    private async Task<int> InsertNewSignaturesAsync(string modelVersion, IReadOnlyList<SignatureLocation> batch, CancellationToken cancellationToken)
    {
        var pending = batch.ToList();
        while (pending.Count > 0)
        {
            // Add (insert-only) for the signatures, so the service refuses a duplicate; the markers are upserts, after
            // them, and only of shards this attempt still writes to, so a shard is referenced exactly when it holds one.
            var actions = pending.Select(l => new TableTransactionAction(TableTransactionActionType.Add, CatalogEntities.Signature(l)))
                .Concat(pending.Select(l => l.Shard).Distinct(StringComparer.Ordinal)
                    .Select(shard => new TableTransactionAction(TableTransactionActionType.UpsertReplace, CatalogEntities.ShardMarker(modelVersion, shard))))
                .ToList();
            try
            {
                await Call(() => _table.SubmitTransactionAsync(actions, cancellationToken)).ConfigureAwait(false);
                return pending.Count;
            }
            catch (TableTransactionFailedException e) when (e.ErrorCode == TableErrorCode.EntityAlreadyExists.ToString())
            {
                // The service names the first refused action only. Another writer (a redelivery, a racing worker) has
                // usually written all of them, so the rest are checked by point reads rather than one retry each.
                var refused = e.FailedTransactionActionIndex is { } index && index < pending.Count ? pending[index] : null;
                var existing = await ExistingSignaturesAsync(modelVersion, pending.Where(l => l != refused), cancellationToken).ConfigureAwait(false);
                var remaining = pending.Where(l => l != refused && !existing.Contains(l.ContentHash)).ToList();
                if (remaining.Count == pending.Count)
                {
                    throw; // Nothing exists after all: retrying would loop.
                }
                pending = remaining;
            }
        }
        return 0;
    }

    private async Task<HashSet<string>> ExistingSignaturesAsync(string modelVersion, IEnumerable<SignatureLocation> candidates, CancellationToken cancellationToken)
    {
        var partition = CatalogKeys.ModelPartition(modelVersion);
        var existing = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(candidates, Parallelism(cancellationToken), async (location, token) =>
        {
            var found = await Call(() => _table.GetEntityIfExistsAsync<TableEntity>(partition, CatalogKeys.SignatureRow(location.ContentHash),
                [CatalogEntities.Row], token)).ConfigureAwait(false);
            if (found.HasValue)
            {
                existing.Add(location.ContentHash);
            }
        }).ConfigureAwait(false);
        return existing.ToHashSet(StringComparer.Ordinal);
    }

    // Batches of one model's signatures that fit one transaction together with a marker for each of their shards.
    private static IEnumerable<IReadOnlyList<SignatureLocation>> Batches(IEnumerable<SignatureLocation> locations)
    {
        var batch = new List<SignatureLocation>();
        var shards = new HashSet<string>(StringComparer.Ordinal);
        var bytes = 0;
        foreach (var location in locations)
        {
            var signatureBytes = CatalogEntities.EstimatedBytes(CatalogEntities.Signature(location));
            var markerBytes = CatalogEntities.EstimatedBytes(CatalogEntities.ShardMarker(location.ModelVersion, location.Shard));
            var newShard = !shards.Contains(location.Shard);
            var entities = batch.Count + shards.Count + (newShard ? 2 : 1);
            if (batch.Count > 0 && (entities > MaxTransactionEntities || bytes + signatureBytes + (newShard ? markerBytes : 0) > MaxTransactionBytes))
            {
                yield return batch;
                (batch, bytes) = ([], 0);
                shards.Clear();
            }
            batch.Add(location);
            bytes += signatureBytes + (shards.Add(location.Shard) ? markerBytes : 0);
        }
        if (batch.Count > 0)
        {
            yield return batch;
        }
    }

    // Accepted images of every image partition, side by side; the status is filtered by the service, within each partition.
    private async Task<IEnumerable<ImageRecord>> AcceptedImagesAsync(CancellationToken cancellationToken)
    {
        var partitions = await Task.WhenAll(CatalogKeys.ImagePartitions.Select(partition =>
            QueryAsync(TableClient.CreateQueryFilter($"PartitionKey eq {partition} and Status eq {CatalogConventions.Accepted}"),
                null, CatalogEntities.ToImage, cancellationToken))).ConfigureAwait(false);
        return partitions.SelectMany(p => p);
    }

    // The RowKeys of one model's partition that start with prefix: a partition range query.
    private static string RowRange(string modelVersion, string prefix)
    {
        var (from, to) = CatalogKeys.Range(prefix);
        return TableClient.CreateQueryFilter($"PartitionKey eq {CatalogKeys.ModelPartition(modelVersion)} and RowKey ge {from} and RowKey lt {to}");
    }

    /// <summary>Every entity of a query, page by page (continuation tokens followed by the SDK), mapped.</summary>
    private async Task<List<T>> QueryAsync<T>(string filter, IEnumerable<string>? select, Func<TableEntity, T> map, CancellationToken cancellationToken)
    {
        var results = new List<T>();
        try
        {
            await foreach (var entity in _table.QueryAsync<TableEntity>(filter, _options.PageSize, select, cancellationToken).ConfigureAwait(false))
            {
                results.Add(map(entity));
            }
        }
        catch (RequestFailedException e) when (IsTableNotFound(e))
        {
            throw TableMissing(e);
        }
        return results;
    }

    private async Task<T> Call<T>(Func<Task<T>> request)
    {
        try
        {
            return await request().ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (IsTableNotFound(e))
        {
            throw TableMissing(e);
        }
    }

    private static bool IsTableNotFound(RequestFailedException e) => e.ErrorCode == TableErrorCode.TableNotFound.ToString();

    private InvalidOperationException TableMissing(RequestFailedException e) =>
        new($"The catalog table '{_table.Name}' does not exist; create it with {nameof(CreateTableIfNotExistsAsync)}.", e);

    private ParallelOptions Parallelism(CancellationToken cancellationToken) =>
        new() { MaxDegreeOfParallelism = _options.MaxConcurrency, CancellationToken = cancellationToken };
}
