using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Storage.Azure.Blobs;
using Motif.Storage.Azure.Composition;
using Motif.Storage.Blobs;

namespace Motif.Pipeline.Composition;

/// <summary>
/// The Azure adapters (<see cref="MotifAzureStorage"/>: Blob, Table, and Queue Storage or Service Bus) plus the
/// uploads container. The only class of the composition that names an Azure type: an embedded host never compiles
/// it, so never loads the SDKs.
/// </summary>
internal static class AzureAdapters
{
    public static void Add(IServiceCollection services, MotifPipelineOptions options, IConfiguration configuration)
    {
        var storage = new MotifAzureStorageOptions
        {
            SignatureJobs = options.SignatureJobs,
            Container = options.AzureNames.Container,
            CatalogTable = options.AzureNames.CatalogTable,
            SignatureQueue = options.AzureNames.SignatureQueue,
            TrainingQueue = options.AzureNames.TrainingQueue,
            TrainingJobs = options.TrainingJobs,
        };
        services.AddMotifAzureStorage(configuration, storage);
        services.AddKeyedSingleton(MotifPipeline.Uploads, (sp, _) =>
            new AzureBlobStore(sp.GetRequiredService<global::Azure.Storage.Blobs.BlobServiceClient>().GetBlobContainerClient(options.UploadsContainer)));
        services.AddKeyedSingleton<IBlobStore>(MotifPipeline.Uploads, (sp, key) => sp.GetRequiredKeyedService<AzureBlobStore>(key));
    }

    public static async Task EnsureCreatedAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await MotifAzureStorage.EnsureCreatedAsync(services, cancellationToken).ConfigureAwait(false);
        await services.GetRequiredKeyedService<AzureBlobStore>(MotifPipeline.Uploads).CreateContainerIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
    }
}
