using Azure.Messaging.ServiceBus;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Storage.Azure.Blobs;
using Motif.Storage.Azure.Catalog;
using Motif.Storage.Azure.Composition;
using Motif.Storage.Azure.Queues;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Queues;

namespace Motif.Storage.Azure.Tests;

/// <summary>
/// The composition every host shares: which settings it reads (named as Azure Functions names them), which adapters it
/// chooses, and which settings it refuses. Nothing here reaches Azure: clients connect on first use.
/// </summary>
public sealed class MotifAzureStorageTests
{
    [Fact]
    public void Identity_based_settings_give_service_uris_and_keep_the_credential_settings()
    {
        var connection = AzureConnection.Read(Settings(new()
        {
            ["MotifStorage:blobServiceUri"] = "https://museum.blob.core.windows.net",
            ["MotifStorage:queueServiceUri"] = "https://museum.queue.core.windows.net",
            ["MotifStorage:tableServiceUri"] = "https://museum.table.core.windows.net",
            ["MotifStorage:credential"] = "managedidentity",
            ["MotifStorage:clientId"] = "00000000-0000-0000-0000-000000000001",
        }), "MotifStorage")!;

        Assert.Null(connection.ConnectionString);
        Assert.Equal(new Uri("https://museum.blob.core.windows.net"), connection.BlobServiceUri);
        Assert.Equal(new Uri("https://museum.queue.core.windows.net"), connection.QueueServiceUri);
        Assert.Equal(new Uri("https://museum.table.core.windows.net"), connection.TableServiceUri);
        Assert.Equal("managedidentity", connection.Settings!["credential"]);
    }

    [Fact]
    public void An_account_name_implies_the_three_public_cloud_endpoints()
    {
        var connection = AzureConnection.Read(Settings(new() { ["MotifStorage:accountName"] = "museum" }), "MotifStorage")!;

        Assert.Equal(new Uri("https://museum.blob.core.windows.net"), connection.BlobServiceUri);
        Assert.Equal(new Uri("https://museum.queue.core.windows.net"), connection.QueueServiceUri);
        Assert.Equal(new Uri("https://museum.table.core.windows.net"), connection.TableServiceUri);
    }

    [Fact]
    public void Nothing_configured_is_null_and_the_composition_says_what_to_set()
    {
        Assert.Null(AzureConnection.Read(Settings([]), "MotifStorage"));
        var refused = Assert.Throws<AzureConfigurationException>(() => new ServiceCollection().AddMotifAzureStorage(Settings([])));
        Assert.Contains("MotifStorage__blobServiceUri", refused.Message);
    }

    public static TheoryData<string, string, string> Refused => new()
    {
        { "MotifStorage", "DefaultEndpointsProtocol=https;AccountName=museum;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net", "key or token" },
        { "MotifStorage", "BlobEndpoint=https://museum.blob.core.windows.net;SharedAccessSignature=sv=2024&sig=abc", "key or token" },
        { "MotifStorage", "=no name", "not a connection string" },
        { "MotifStorage:blobServiceUri", "http://museum.blob.core.windows.net", "https URI without a query" },
        { "MotifStorage:blobServiceUri", "https://museum.blob.core.windows.net/?sv=2024&sig=abc", "https URI without a query" },
        { "MotifStorage:clientSecret", "s3cret", "is a secret" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Secrets_and_malformed_endpoints_are_refused(string key, string value, string expected)
    {
        var refused = Assert.Throws<AzureConfigurationException>(() => AzureConnection.Read(Settings(new() { [key] = value }), "MotifStorage"));

        Assert.Contains(expected, refused.Message);
        Assert.DoesNotContain("c2VjcmV0", refused.Message);
        Assert.DoesNotContain("s3cret", refused.Message);
    }

    [Fact]
    public async Task Storage_alone_puts_signature_jobs_on_queue_storage()
    {
        await using var services = new ServiceCollection().AddMotifAzureStorage(Settings(new() { ["MotifStorage"] = "UseDevelopmentStorage=true" })).BuildServiceProvider();

        Assert.IsType<AzureBlobStore>(services.GetRequiredService<IBlobStore>());
        Assert.IsType<TableImageCatalog>(services.GetRequiredService<IImageCatalog>());
        var queue = Assert.IsType<QueueStorageWorkQueue>(services.GetRequiredService<IWorkQueue>());
        Assert.Equal("signatures", queue.Name);
        Assert.Equal(TimeSpan.FromMinutes(5), queue.Options.LockDuration);
        Assert.Equal("training", Assert.IsType<QueueStorageWorkQueue>(services.GetRequiredKeyedService<IWorkQueue>(WorkQueueKeys.Training)).Name);
        Assert.Equal("motif", services.GetRequiredService<BlobServiceClient>().GetBlobContainerClient("motif").Name);
    }

    [Fact]
    public async Task A_service_bus_namespace_puts_signature_jobs_on_service_bus_with_the_identity_of_its_settings()
    {
        await using var services = new ServiceCollection().AddMotifAzureStorage(Settings(new()
        {
            ["MotifStorage:blobServiceUri"] = "https://museum.blob.core.windows.net",
            ["MotifStorage:tableServiceUri"] = "https://museum.table.core.windows.net",
            ["MotifServiceBus:fullyQualifiedNamespace"] = "museum.servicebus.windows.net",
            ["MotifServiceBus:credential"] = "managedidentity",
            ["MotifServiceBus:clientId"] = "00000000-0000-0000-0000-000000000002",
        })).BuildServiceProvider();

        Assert.Equal("signatures", Assert.IsType<ServiceBusWorkQueue>(services.GetRequiredService<IWorkQueue>()).QueueName);
        // Training jobs too, on their own queue with its own deliveries (main.bicep's: 5-minute lock, 3 deliveries).
        var training = Assert.IsType<ServiceBusWorkQueue>(services.GetRequiredKeyedService<IWorkQueue>(WorkQueueKeys.Training));
        Assert.Equal(("training", TimeSpan.FromMinutes(5), 3), (training.QueueName, training.Options.LockDuration, training.Options.MaxDeliveryCount));
        var client = services.GetRequiredService<ServiceBusClient>();
        Assert.Equal("museum.servicebus.windows.net", client.FullyQualifiedNamespace);
        Assert.Equal(ServiceBusRetryMode.Exponential, MotifAzureStorage.ServiceBusRetry().Mode);
    }

    [Fact]
    public void A_service_bus_connection_without_a_namespace_is_refused()
    {
        var refused = Assert.Throws<AzureConfigurationException>(() => new ServiceCollection().AddMotifAzureStorage(Settings(new()
        {
            ["MotifStorage"] = "UseDevelopmentStorage=true",
            ["MotifServiceBus:credential"] = "managedidentity",
        })));

        Assert.Contains("MotifServiceBus__fullyQualifiedNamespace", refused.Message);
    }

    private static IConfiguration Settings(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
