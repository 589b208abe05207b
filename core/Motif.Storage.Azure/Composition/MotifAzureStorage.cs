using Azure.Core;
using Azure.Data.Tables;
using Azure.Messaging.ServiceBus;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Storage.Azure.Blobs;
using Motif.Storage.Azure.Catalog;
using Motif.Storage.Azure.Queues;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Queues;

namespace Motif.Storage.Azure.Composition;

/// <summary>Where Motif keeps its state in an Azure Storage account (and, optionally, a Service Bus namespace).</summary>
public sealed record MotifAzureStorageOptions
{
    /// <summary>The storage connection's name: <c>MotifStorage</c>, <c>MotifStorage__blobServiceUri</c>, … (see <see cref="AzureConnection"/>).</summary>
    public string StorageConnection { get; init; } = "MotifStorage";

    /// <summary>The Service Bus connection's name. When it is configured, signature jobs go through Service Bus; else Queue Storage.</summary>
    public string ServiceBusConnection { get; init; } = "MotifServiceBus";

    /// <summary>The blob container holding derivatives, thumbnails, quarantine, signature shards and manifests.</summary>
    public string Container { get; init; } = "motif";

    /// <summary>The queue of signature jobs (a Queue Storage queue, with <c>-poison</c> beside it, or a Service Bus queue).</summary>
    public string SignatureQueue { get; init; } = "signatures";

    /// <summary>The queue of training jobs, registered as the keyed <see cref="IWorkQueue"/> <see cref="WorkQueueKeys.Training"/>.</summary>
    public string TrainingQueue { get; init; } = "training";

    /// <summary>
    /// The training queue's delivery settings, equal to the Service Bus queue's own (main.bicep): a run outlasts any
    /// lock, so its receiver renews it; three deliveries, because a run resumes from its stored progress and a job that
    /// fails three times will fail a fourth.
    /// </summary>
    public WorkQueueOptions TrainingJobs { get; init; } = new() { LockDuration = TimeSpan.FromMinutes(5), MaxDeliveryCount = 3 };

    /// <summary>The table holding the image catalog.</summary>
    public string CatalogTable { get; init; } = "catalog";

    /// <summary>
    /// The signature queue's delivery settings. On Service Bus they must equal the queue's own (set in main.bicep): a batch
    /// of jobs takes minutes on a CPU, hence a 5-minute lock (Service Bus's maximum), renewed by the worker.
    /// </summary>
    public WorkQueueOptions SignatureJobs { get; init; } = new() { LockDuration = TimeSpan.FromMinutes(5), MaxDeliveryCount = 5 };
}

/// <summary>
/// The one composition of Motif's Azure adapters: the SDK clients registered through Microsoft.Extensions.Azure
/// (<c>AddAzureClients</c>) with retry policies chosen on purpose, and the ports on top of them. The Functions app, the
/// worker and the CLI call <see cref="AddMotifAzureStorage(IServiceCollection, IConfiguration, MotifAzureStorageOptions?)"/>
/// with their configuration; nothing else builds an Azure client.
/// </summary>
public static class MotifAzureStorage
{
    /// <summary>
    /// Storage requests retry with exponential back-off (0.5 s doubling to 10 s, 6 retries: about 40 s of outage, e.g.
    /// an emulator restart or a throttling burst, is ridden through), and each try is bounded (30 s) so a dead connection
    /// is abandoned and retried instead of hanging a worker until its lock expires.
    /// </summary>
    public static void ConfigureStorageRetry(ClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.Delay = TimeSpan.FromSeconds(0.5);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(10);
        options.Retry.MaxRetries = 6;
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
    }

    /// <summary>Service Bus's own retry options: the same back-off; a try bounded by one minute (AMQP operations include link set-up).</summary>
    public static ServiceBusRetryOptions ServiceBusRetry() => new()
    {
        Mode = ServiceBusRetryMode.Exponential,
        Delay = TimeSpan.FromSeconds(0.5),
        MaxDelay = TimeSpan.FromSeconds(10),
        MaxRetries = 6,
        TryTimeout = TimeSpan.FromMinutes(1),
    };

    /// <summary>Registers the Azure clients and the ports (<see cref="IBlobStore"/>, <see cref="IImageCatalog"/>, <see cref="IWorkQueue"/>) from configuration.</summary>
    /// <exception cref="AzureConfigurationException">No storage connection is configured, or a setting is refused.</exception>
    public static IServiceCollection AddMotifAzureStorage(this IServiceCollection services, IConfiguration configuration, MotifAzureStorageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        options ??= new MotifAzureStorageOptions();
        var storage = AzureConnection.Read(configuration, options.StorageConnection) ?? throw new AzureConfigurationException(
            $"No Azure Storage connection: set {options.StorageConnection}__blobServiceUri, __queueServiceUri and __tableServiceUri (or __accountName), " +
            $"or {options.StorageConnection}=UseDevelopmentStorage=true for a local Azurite.");
        return services.AddMotifAzureStorage(storage, AzureConnection.Read(configuration, options.ServiceBusConnection), options);
    }

    /// <summary>Registers the Azure clients and the ports for the given connections.</summary>
    public static IServiceCollection AddMotifAzureStorage(this IServiceCollection services, AzureConnection storage, AzureConnection? serviceBus, MotifAzureStorageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(storage);
        options ??= new MotifAzureStorageOptions();
        var useServiceBus = serviceBus is not null;
        services.AddAzureClients(clients =>
        {
            clients.ConfigureDefaults(ConfigureStorageRetry);
            if (storage.ConnectionString is { } emulator)
            {
                clients.AddBlobServiceClient(emulator);
                clients.AddTableServiceClient(emulator);
                clients.AddQueueServiceClient(emulator).ConfigureOptions(o => QueueStorageWorkQueue.ClientOptions(o));
            }
            else
            {
                clients.AddBlobServiceClient(Required(storage.BlobServiceUri, storage, "blobServiceUri")).WithCredential(sp => Credential(sp, storage));
                clients.AddTableServiceClient(Required(storage.TableServiceUri, storage, "tableServiceUri")).WithCredential(sp => Credential(sp, storage));
                if (!useServiceBus)
                {
                    clients.AddQueueServiceClient(Required(storage.QueueServiceUri, storage, "queueServiceUri")).WithCredential(sp => Credential(sp, storage))
                        .ConfigureOptions(o => QueueStorageWorkQueue.ClientOptions(o));
                }
            }
            if (serviceBus is not null)
            {
                var fullyQualifiedNamespace = serviceBus.FullyQualifiedNamespace ?? throw new AzureConfigurationException(
                    $"{serviceBus.Name}__fullyQualifiedNamespace is required for Service Bus (e.g. motif.servicebus.windows.net).");
                clients.AddServiceBusClientWithNamespace(fullyQualifiedNamespace).WithCredential(sp => Credential(sp, serviceBus))
                    .ConfigureOptions(o => o.RetryOptions = ServiceBusRetry());
            }
        });
        services.AddSingleton(options);
        services.AddSingleton<AzureBlobStore>(sp => new AzureBlobStore(sp.GetRequiredService<BlobServiceClient>().GetBlobContainerClient(options.Container)));
        services.AddSingleton<IBlobStore>(sp => sp.GetRequiredService<AzureBlobStore>());
        services.AddSingleton<TableImageCatalog>(sp => new TableImageCatalog(sp.GetRequiredService<TableServiceClient>().GetTableClient(options.CatalogTable)));
        services.AddSingleton<IImageCatalog>(sp => sp.GetRequiredService<TableImageCatalog>());
        if (useServiceBus)
        {
            services.AddSingleton<IWorkQueue>(sp => new ServiceBusWorkQueue(sp.GetRequiredService<ServiceBusClient>(), options.SignatureQueue, options.SignatureJobs));
            services.AddKeyedSingleton<IWorkQueue>(WorkQueueKeys.Training, (sp, _) => new ServiceBusWorkQueue(sp.GetRequiredService<ServiceBusClient>(), options.TrainingQueue, options.TrainingJobs));
        }
        else
        {
            services.AddSingleton<QueueStorageWorkQueue>(sp => new QueueStorageWorkQueue(sp.GetRequiredService<QueueServiceClient>(), options.SignatureQueue, options.SignatureJobs));
            services.AddSingleton<IWorkQueue>(sp => sp.GetRequiredService<QueueStorageWorkQueue>());
            services.AddKeyedSingleton(WorkQueueKeys.Training, (sp, _) => new QueueStorageWorkQueue(sp.GetRequiredService<QueueServiceClient>(), options.TrainingQueue, options.TrainingJobs));
            services.AddKeyedSingleton<IWorkQueue>(WorkQueueKeys.Training, (sp, key) => sp.GetRequiredKeyedService<QueueStorageWorkQueue>(key));
        }
        return services;
    }

    /// <summary>
    /// Creates the container, the catalog table and the Queue Storage queues unless they exist: for Azurite and first runs.
    /// In Azure, main.bicep creates them (and a Service Bus queue is never created here: its settings are the deployment's).
    /// </summary>
    public static async Task EnsureCreatedAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        await services.GetRequiredService<AzureBlobStore>().CreateContainerIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        await services.GetRequiredService<TableImageCatalog>().CreateTableIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        if (services.GetService<QueueStorageWorkQueue>() is { } queue)
        {
            await queue.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        }
        if (services.GetKeyedService<QueueStorageWorkQueue>(WorkQueueKeys.Training) is { } training)
        {
            await training.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // Microsoft.Extensions.Azure reads <Name>__credential / __clientId the way the Functions host does; without them, DefaultAzureCredential.
    private static TokenCredential Credential(IServiceProvider services, AzureConnection connection) =>
        services.GetRequiredService<AzureComponentFactory>().CreateTokenCredential(connection.Settings!);

    private static Uri Required(Uri? uri, AzureConnection connection, string setting) =>
        uri ?? throw new AzureConfigurationException($"{connection.Name}__{setting} is required (or {connection.Name}__accountName).");
}
