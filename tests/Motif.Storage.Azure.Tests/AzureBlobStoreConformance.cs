using Azure.Storage.Blobs;
using Motif.Storage.Azure.Blobs;
using Motif.Storage.Blobs;
using Motif.Storage.Tests.Conformance;

namespace Motif.Storage.Azure.Tests;

/// <summary>The blob conformance suite against <see cref="AzureBlobStore"/> on Azurite, in real time (leases expire on the emulator's clock).</summary>
public sealed class AzureBlobStoreConformance : BlobStoreConformance
{
    protected override async Task<IBlobStore> CreateStoreAsync()
    {
        var azurite = await SharedAzurite.GetAsync();
        var store = new AzureBlobStore(new BlobContainerClient(azurite.ConnectionString, SharedAzurite.UniqueName("blobs")));
        await store.CreateContainerIfNotExistsAsync();
        return store;
    }

    protected override Task LetTimePassAsync(TimeSpan duration) => Task.Delay(duration);
}
