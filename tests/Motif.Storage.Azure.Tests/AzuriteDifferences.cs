using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Motif.Storage.Azure.Blobs;
using Motif.Storage.Blobs;
using BlobErrorCode = Motif.Storage.Blobs.BlobErrorCode;

namespace Motif.Storage.Azure.Tests;

/// <summary>
/// Where Azurite 3.35 behaves unlike Azure Storage, each shown on the raw SDK so that a change in a later Azurite shows
/// up here, with what the adapters do about it. (More differences, which need no test of their own: Azurite emits no
/// Event Grid events, authenticates only its well-known development account, and has no managed identity.)
/// </summary>
public sealed class AzuriteDifferences
{
    /// <summary>
    /// Azure answers 416 InvalidRange to a range starting at or past the end of a blob; Azurite answers 206 with no
    /// bytes. <see cref="AzureBlobStore.GetAsync"/> checks the range against the length itself, so both give InvalidRange.
    /// </summary>
    [Fact]
    public async Task A_range_past_the_end_is_answered_with_no_bytes_instead_of_416()
    {
        var azurite = await SharedAzurite.GetAsync();
        var container = new BlobContainerClient(azurite.ConnectionString, SharedAzurite.UniqueName("ranges"));
        await container.CreateAsync();
        var blob = container.GetBlobClient("ten-bytes");
        await blob.UploadAsync(BinaryData.FromString("0123456789"));

        var response = await blob.DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(10, 1) });

        Assert.Equal(0, response.Value.Content.ToMemory().Length);
        var store = new AzureBlobStore(container);
        Assert.Equal(BlobErrorCode.InvalidRange, (await Assert.ThrowsAsync<BlobStoreException>(() => store.GetAsync("ten-bytes", new BlobRange(10, 1)))).ErrorCode);
    }

    /// <summary>
    /// Azure keeps every write it acknowledged. Azurite keeps its metadata in memory and saves it every 5 seconds, so
    /// after a crash (SIGKILL) the writes of the last seconds are gone although they were acknowledged. The fault tests
    /// therefore stop Azurite with SIGTERM (it saves, then exits: clients still see their connections drop), and a
    /// <c>motif run --storage azurite</c> that is interrupted stops its Azurite the same way.
    /// </summary>
    [Fact]
    public async Task A_crash_loses_writes_it_acknowledged_in_the_last_seconds()
    {
        using var folder = new Motif.Storage.Tests.TempFolder();
        await using var azurite = await SharedAzurite.StartPrivateAsync(folder.Path);
        var container = new BlobContainerClient(azurite.ConnectionString, "crash");
        await container.CreateAsync();
        await Task.Delay(TimeSpan.FromSeconds(6));   // past one save: the container survives
        var lost = 0;
        for (var attempt = 0; attempt < 3 && lost == 0; attempt++)
        {
            // A save can fall between the writes and the kill (a few milliseconds of 5 s); then look again.
            var names = Enumerable.Range(0, 20).Select(i => $"attempt-{attempt}/{i}").ToArray();
            foreach (var name in names)
            {
                await container.GetBlobClient(name).UploadAsync(BinaryData.FromString(name));
            }
            azurite.Kill();
            await azurite.RestartAsync();
            var kept = new HashSet<string>();
            await foreach (var item in container.GetBlobsAsync(new GetBlobsOptions { Prefix = $"attempt-{attempt}/" }))
            {
                kept.Add(item.Name);
            }
            lost = names.Count(n => !kept.Contains(n));
        }

        Assert.True(lost > 0, "every acknowledged write survived a SIGKILL: Azurite now saves synchronously, and the fault tests could kill it");
    }

    /// <summary>
    /// Azure refuses an entity-group transaction that spans two partitions (400 CommandsInBatchActOnDifferentPartitions);
    /// Azurite runs it. <see cref="TableImageCatalog"/> never sends one: every transaction holds one model's partition
    /// (TableImageCatalogTests checks the requests it sends).
    /// </summary>
    [Fact]
    public async Task A_transaction_across_two_partitions_is_accepted()
    {
        var azurite = await SharedAzurite.GetAsync();
        var table = new TableClient(azurite.ConnectionString, SharedAzurite.UniqueName("tx"));
        await table.CreateAsync();

        await table.SubmitTransactionAsync(
        [
            new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("p1", "r")),
            new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("p2", "r")),
        ]);

        Assert.Equal(2, await table.QueryAsync<TableEntity>().CountAsync());
    }
}
