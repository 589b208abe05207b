using System.Data.Common;
using Microsoft.Extensions.Configuration;
using Motif.Storage.Azure.Azurite;

namespace Motif.Storage.Azure.Composition;

/// <summary>
/// A named connection read the way Azure Functions reads one, so a single set of settings serves the Functions app,
/// the worker and the CLI: either a connection string under the name itself, or identity-based settings under
/// <c>&lt;Name&gt;__…</c> (<c>&lt;Name&gt;:…</c> in configuration paths).
/// </summary>
/// <remarks>
/// <para>Identity-based settings: <c>blobServiceUri</c>, <c>queueServiceUri</c>, <c>tableServiceUri</c> (or
/// <c>accountName</c>, which implies all three in the public cloud) for Storage; <c>fullyQualifiedNamespace</c> for
/// Service Bus; <c>credential</c> (<c>managedidentity</c>) and <c>clientId</c> choose the identity, read by
/// Microsoft.Extensions.Azure exactly as Functions reads them; without them, DefaultAzureCredential.</para>
/// <para>No secret is accepted: a connection string is taken only for the storage emulator (<c>UseDevelopmentStorage=true</c>,
/// or explicit endpoints with Azurite's well-known <see cref="AzuriteServer.AccountName"/>), and client secrets are
/// refused. In Azure, the managed identity is the credential.</para>
/// </remarks>
public sealed record AzureConnection
{
    private static readonly string[] SecretSettings = ["clientSecret", "clientCertificate", "clientCertificatePassword"];

    /// <summary>The connection's name (e.g. <c>MotifStorage</c>).</summary>
    public required string Name { get; init; }

    /// <summary>An emulator connection string, or null for an identity-based connection.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>Identity-based: the Blob service's URI.</summary>
    public Uri? BlobServiceUri { get; init; }

    /// <summary>Identity-based: the Queue service's URI.</summary>
    public Uri? QueueServiceUri { get; init; }

    /// <summary>Identity-based: the Table service's URI.</summary>
    public Uri? TableServiceUri { get; init; }

    /// <summary>Identity-based: the Service Bus namespace, e.g. <c>motif.servicebus.windows.net</c>.</summary>
    public string? FullyQualifiedNamespace { get; init; }

    /// <summary>The settings below the name (credential, clientId), for Microsoft.Extensions.Azure's credential factory.</summary>
    public IConfigurationSection? Settings { get; init; }

    /// <summary>The connection <paramref name="name"/>, or null when nothing is configured under it.</summary>
    /// <exception cref="AzureConfigurationException">The settings hold a secret or a malformed value.</exception>
    public static AzureConnection? Read(IConfiguration configuration, string name)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var section = configuration.GetSection(name);
        if (!string.IsNullOrWhiteSpace(section.Value))
        {
            return new AzureConnection { Name = name, ConnectionString = EmulatorOnly(name, section.Value) };
        }
        if (!section.GetChildren().Any())
        {
            return null;
        }
        if (SecretSettings.FirstOrDefault(s => section[s] is not null) is { } secret)
        {
            throw new AzureConfigurationException($"{name}__{secret} is a secret; use a managed identity ({name}__credential=managedidentity, {name}__clientId) or DefaultAzureCredential.");
        }
        var account = section["accountName"];
        return new AzureConnection
        {
            Name = name,
            BlobServiceUri = Uri(section, "blobServiceUri") ?? AccountUri(account, "blob"),
            QueueServiceUri = Uri(section, "queueServiceUri") ?? AccountUri(account, "queue"),
            TableServiceUri = Uri(section, "tableServiceUri") ?? AccountUri(account, "table"),
            FullyQualifiedNamespace = section["fullyQualifiedNamespace"],
            Settings = section,
        };
    }

    /// <summary>A connection to an Azurite instance, as <c>motif run --storage azurite</c> and the tests make them.</summary>
    public static AzureConnection ForAzurite(AzuriteServer azurite, string name = "MotifStorage")
    {
        ArgumentNullException.ThrowIfNull(azurite);
        return new AzureConnection { Name = name, ConnectionString = azurite.ConnectionString };
    }

    private static string EmulatorOnly(string name, string connectionString)
    {
        DbConnectionStringBuilder parsed;
        try
        {
            parsed = new DbConnectionStringBuilder { ConnectionString = connectionString };
        }
        catch (ArgumentException)
        {
            throw new AzureConfigurationException($"{name} is not a connection string.");
        }
        var development = parsed.TryGetValue("UseDevelopmentStorage", out var use) && string.Equals(use as string, "true", StringComparison.OrdinalIgnoreCase);
        var emulatorAccount = parsed.TryGetValue("AccountName", out var account) && account as string == AzuriteServer.AccountName;
        if (!development && !emulatorAccount)
        {
            throw new AzureConfigurationException(
                $"{name} holds a connection string with a key or token: in Azure, use identity-based settings ({name}__blobServiceUri, __queueServiceUri, __tableServiceUri or __fullyQualifiedNamespace, with __credential=managedidentity and __clientId).");
        }
        return connectionString;
    }

    private static Uri? Uri(IConfiguration section, string key)
    {
        var value = section[key];
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        return System.Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme == "https" && string.IsNullOrEmpty(uri.Query)
            ? uri
            : throw new AzureConfigurationException($"{key} must be an absolute https URI without a query (no SAS token); got '{value}'.");
    }

    private static Uri? AccountUri(string? account, string service) =>
        string.IsNullOrWhiteSpace(account) ? null : new Uri($"https://{account}.{service}.core.windows.net");
}

/// <summary>The Azure settings are missing or refused; the message says which setting and what to do, in one line.</summary>
public sealed class AzureConfigurationException(string message) : Exception(message);
