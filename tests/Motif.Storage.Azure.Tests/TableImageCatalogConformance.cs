using Azure.Data.Tables;
using Motif.Storage.Azure.Catalog;
using Motif.Storage.Catalog;
using Motif.Storage.Tests.Conformance;

namespace Motif.Storage.Azure.Tests;

/// <summary>
/// The catalog conformance suite against <see cref="TableImageCatalog"/> on Azurite, a fresh table per catalog. Pages
/// of 50 entities, so the listing of 1,500 images (about 94 per image partition) follows continuation tokens in every
/// partition, as a collection of a million would with the service's pages of 1,000.
/// </summary>
public sealed class TableImageCatalogConformance : ImageCatalogConformance
{
    protected override async Task<IImageCatalog> CreateCatalogAsync()
    {
        var azurite = await SharedAzurite.GetAsync();
        var catalog = new TableImageCatalog(new TableClient(azurite.ConnectionString, SharedAzurite.UniqueName("catalog")), new TableImageCatalogOptions { PageSize = 50 });
        await catalog.CreateTableIfNotExistsAsync();
        return catalog;
    }
}
