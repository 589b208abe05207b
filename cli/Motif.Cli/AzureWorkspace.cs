using Azure;
using Azure.Identity;
using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Core;
using Motif.Pipeline.Composition;
using Motif.Storage.Azure.Azurite;
using Motif.Storage.Azure.Composition;

namespace Motif.Cli;

/// <summary>
/// A workspace on the Azure adapters, composed by <see cref="MotifAzureStorage"/> from the same settings the Functions
/// app and the worker read (environment variables, Functions style: <c>MotifStorage__blobServiceUri</c>, …).
/// With <c>--storage azurite</c> and no <c>MotifStorage</c> setting, an Azurite is started for the command, its data in
/// <c>&lt;out&gt;/azurite</c>, so a later command on the same <c>--out</c> finds the same collection.
/// </summary>
/// <remarks>A class of its own so that the embedded path never compiles a method that names an Azure type, and so never loads the SDKs.</remarks>
internal static class AzureWorkspace
{
    /// <summary>As <see cref="Workspace.OpenAsync(DirectoryInfo, StorageKind, bool, ChooseComposition, CancellationToken)"/>
    /// says: composed with <paramref name="given"/>, or with what <paramref name="choose"/> decides from the blob store.</summary>
    public static async Task<Workspace?> OpenAsync(DirectoryInfo root, StorageKind storage, bool create, WorkspaceComposition? given, ChooseComposition? choose,
        CancellationToken cancellationToken)
    {
        var environment = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var names = new MotifAzureStorageOptions();
        AzuriteServer? azurite = null;
        ServiceProvider? services = null;
        try
        {
            var name = names.StorageConnection;
            var configured = AzureConnection.Read(environment, name);
            IConfiguration configuration;
            string where;
            if (storage == StorageKind.Azurite && configured is null)
            {
                var location = Path.Combine(root.FullName, "azurite");
                if (!create && !Directory.Exists(location))
                {
                    return null;
                }
                azurite = await AzuriteServer.StartAsync(new AzuriteOptions { Script = AzuriteOptions.ScriptBelow(MotifHome.Folder), Location = location }, cancellationToken);
                configuration = new ConfigurationBuilder().AddInMemoryCollection([new(name, azurite.ConnectionString)]).Build();
                where = $"{location} (Azurite on 127.0.0.1:{azurite.BlobPort}-{azurite.TablePort}, started for this command)";
            }
            else
            {
                var connection = configured ?? throw new AzureConfigurationException(
                    $"--storage {storage.ToString().ToLowerInvariant()} needs the {name} settings: {name}__blobServiceUri, __queueServiceUri and " +
                    $"__tableServiceUri (or __accountName), with __credential=managedidentity and __clientId in Azure; {name}=UseDevelopmentStorage=true for a running Azurite.");
                // Jobs go to Service Bus only with --storage azure; Azurite has Queue Storage.
                configuration = storage == StorageKind.Azure ? environment : new ConfigurationBuilder().AddInMemoryCollection(environment.GetSection(name).AsEnumerable()).Build();
                where = connection.BlobServiceUri is { } uri ? $"{uri.GetLeftPart(UriPartial.Authority)}/{names.Container}" : "Azurite (from MotifStorage)";
            }
            var serviceBus = storage == StorageKind.Azure ? AzureConnection.Read(environment, names.ServiceBusConnection) : null;
            services = await Workspace.ComposeAsync(new MotifPipelineOptions { Storage = PipelineStorage.Azure }, configuration, create, given, choose, cancellationToken);
            var server = azurite;
            return new Workspace(where + (serviceBus is null ? "" : $", jobs on Service Bus {serviceBus.FullyQualifiedNamespace}"), services,
                afterDispose: server is null ? null : () => server.DisposeAsync());
        }
        catch (Exception e) when (Describe(e) is { } message)
        {
            await DisposeAsync(services, azurite);
            throw new WorkspaceUnavailableException(message, e);
        }
        catch
        {
            await DisposeAsync(services, azurite);
            throw;
        }
    }

    /// <summary>One line for a failure of the Azure side that a user can act on (settings, reachability, permissions), else null.</summary>
    public static string? Describe(Exception e) => e switch
    {
        AzureConfigurationException or AzuriteException => e.Message,
        AuthenticationFailedException or CredentialUnavailableException => $"No Azure credential: {FirstLine(e.Message)} (sign in with `az login`, or run with a managed identity).",
        RequestFailedException { Status: 401 or 403 } r => $"Azure Storage refused access ({r.Status} {r.ErrorCode}): the identity needs the Storage Blob, Queue and Table Data Contributor roles.",
        RequestFailedException r => $"Azure Storage failed ({(r.Status == 0 ? "unreachable" : r.Status.ToString(System.Globalization.CultureInfo.InvariantCulture))}{(r.ErrorCode is null ? "" : " " + r.ErrorCode)}): {FirstLine(r.Message)}",
        ServiceBusException s => $"Service Bus failed ({s.Reason}): {FirstLine(s.Message)}",
        _ => null,
    };

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    private static async Task DisposeAsync(ServiceProvider? services, AzuriteServer? azurite)
    {
        if (services is not null)
        {
            await services.DisposeAsync();
        }
        if (azurite is not null)
        {
            await azurite.DisposeAsync();
        }
    }
}
