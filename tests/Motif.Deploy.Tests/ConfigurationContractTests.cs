using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml;
using Motif.Functions;
using Motif.Pipeline.Composition;
using Motif.Storage.Azure.Composition;
using Motif.Testing;

namespace Motif.Deploy.Tests;

/// <summary>
/// The contract between the code and main.bicep, read from what each side really ships: <see cref="MotifSettings"/>
/// (the one list of the settings the hosts read), the compiled ARM template (what Azure receives) and the
/// functions.metadata the Worker SDK built (what the Functions host indexes).
/// </summary>
public sealed partial class ConfigurationContractTests
{
    /// <summary>App settings the Functions platform itself reads (identity-based host storage, its own telemetry, authentication).</summary>
    private static readonly string[] FunctionsPlatformSettings =
    [
        "AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID",
    ];

    /// <summary>Flex Consumption refuses these as app settings: the runtime is in functionAppConfig.</summary>
    private static readonly string[] FlexConsumptionForbidden =
    [
        "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTSHARE",
        "WEBSITE_RUN_FROM_PACKAGE", "AzureWebJobsStorage",
    ];

    public static TheoryData<string> Apps => new() { nameof(SettingReaders.Functions), nameof(SettingReaders.Worker) };

    [Theory]
    [MemberData(nameof(Apps))]
    public void Every_setting_an_app_needs_is_provided_to_it(string app)
    {
        var reader = Enum.Parse<SettingReaders>(app);
        var provided = ProvidedSettings(reader);
        var missing = MotifSettings.All.Where(s => s.RequiredBy.HasFlag(reader) && !provided.ContainsKey(s.AppSettingName)).Select(s => s.AppSettingName).ToArray();
        Assert.True(missing.Length == 0, $"main.bicep does not give the {app} app: {string.Join(", ", missing)}");
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public void Every_setting_given_to_an_app_is_one_it_reads(string app)
    {
        var reader = Enum.Parse<SettingReaders>(app);
        var known = MotifSettings.All.Where(s => s.ReadBy.HasFlag(reader)).Select(s => s.AppSettingName).ToHashSet(StringComparer.Ordinal);
        var allowed = reader == SettingReaders.Functions ? FunctionsPlatformSettings : [];
        var unknown = ProvidedSettings(reader).Keys.Where(name => !known.Contains(name) && !allowed.Contains(name)).ToArray();
        Assert.True(unknown.Length == 0, $"main.bicep gives the {app} app settings no code reads (misspelt?): {string.Join(", ", unknown)}");
    }

    [Fact]
    public void Flex_Consumption_gets_no_setting_it_refuses_and_runs_the_isolated_worker()
    {
        var forbidden = ProvidedSettings(SettingReaders.Functions).Keys.Intersect(FlexConsumptionForbidden).ToArray();
        Assert.Empty(forbidden);
        var site = Bicep.Resources(Bicep.Module("functions")).Single(r => (string?)r["type"] == "Microsoft.Web/sites");
        var config = site["properties"]!["functionAppConfig"]!;
        Assert.Equal("dotnet-isolated", (string?)config["runtime"]!["name"]);
        Assert.Equal("UserAssignedIdentity", (string?)config["deployment"]!["storage"]!["authentication"]!["type"]);
    }

    [Fact]
    public void Settings_both_apps_read_come_from_one_value()
    {
        // Intake asks for Motif__ModelVersion's signatures and the worker refuses to compute any other; the worker builds
        // the graph to max_eps and Recluster clusters within it. Each is one main.bicep value given to both apps.
        var shared = Bicep.MainTemplate["variables"]!["sharedSettings"]!.AsObject();
        var functions = ProvidedSettings(SettingReaders.Functions);
        var worker = ProvidedSettings(SettingReaders.Worker);
        foreach (var setting in new[] { MotifSettings.ModelVersion, MotifSettings.MaxEps, MotifSettings.MinSamples, MotifSettings.Xi }.Select(MotifSettings.InMotif))
        {
            var name = setting.Replace(":", "__", StringComparison.Ordinal);
            Assert.True(shared.ContainsKey(name), $"{name} is not in main.bicep's sharedSettings");
            Assert.Equal($"[parameters('sharedSettings').{name}]", functions[name]);
            Assert.Equal($"[parameters('sharedSettings').{name}]", worker[name]);
        }
        foreach (var module in new[] { "functions", "containerapps" })
        {
            Assert.Equal("[variables('sharedSettings')]", (string?)Bicep.Deployment(module)["properties"]!["parameters"]!["sharedSettings"]!["value"]);
        }
    }

    [Fact]
    public void Default_model_version_of_the_template_is_the_one_the_gpu_image_computes()
    {
        var dockerfile = File.ReadAllText(Path.Combine(TestData.RepositoryRoot, "gpu-worker", "Dockerfile"));
        var image = DockerModelVersion().Match(dockerfile);
        Assert.True(image.Success, "gpu-worker/Dockerfile sets no Motif__ModelVersion");
        Assert.Equal(image.Groups[1].Value, (string?)Bicep.MainTemplate["parameters"]!["modelVersion"]!["defaultValue"]);
    }

    [Fact]
    public void Container_table_and_queue_names_agree_with_the_code()
    {
        var names = Names();
        var azure = new MotifAzureStorageOptions();
        var pipeline = new MotifPipelineOptions();
        Assert.Equal(pipeline.UploadsContainer, names["uploadsContainer"]);
        Assert.Equal(pipeline.AzureNames.Container, names["dataContainer"]);
        Assert.Equal(azure.Container, names["dataContainer"]);
        Assert.Equal(pipeline.AzureNames.CatalogTable, names["catalogTable"]);
        Assert.Equal(azure.CatalogTable, names["catalogTable"]);
        Assert.Equal(pipeline.AzureNames.SignatureQueue, names["signatureQueue"]);
        Assert.Equal(azure.SignatureQueue, names["signatureQueue"]);
        Assert.Equal(pipeline.AzureNames.TrainingQueue, names["trainingQueue"]);
        Assert.Equal(azure.TrainingQueue, names["trainingQueue"]);
        Assert.Equal(MotifSettings.StorageConnection, azure.StorageConnection);
        Assert.Equal(MotifSettings.ServiceBusConnection, azure.ServiceBusConnection);

        // The modules get exactly these names.
        var storage = Parameters("storage");
        foreach (var (parameter, name) in new[] { ("uploadsContainer", "uploadsContainer"), ("dataContainer", "dataContainer"), ("deploymentContainer", "deploymentContainer"), ("deadLetterContainer", "deadLetterContainer"), ("catalogTable", "catalogTable") })
        {
            Assert.Equal($"[variables('names').{name}]", (string?)storage[parameter]!["value"]);
        }
        var functions = Parameters("functions");
        Assert.Equal("[variables('names').deploymentContainer]", (string?)functions["deploymentContainer"]!["value"]);
        var containerApps = Parameters("containerapps");
        Assert.Equal("[variables('names').signatureQueue]", (string?)containerApps["signatureQueue"]!["value"]);
        Assert.Equal("[variables('names').trainingQueue]", (string?)containerApps["trainingQueue"]!["value"]);
    }

    [Fact]
    public void Service_Bus_signature_queue_matches_the_code_s_lock_and_deliveries()
    {
        var queues = Parameters("servicebus")["queues"]!["value"]!.AsArray();
        var signatures = queues.Single(q => (string?)q!["name"] == "[variables('names').signatureQueue]")!;
        var jobs = new MotifPipelineOptions().SignatureJobs;
        Assert.Equal(XmlConvert.ToString(jobs.LockDuration), (string?)signatures["lockDuration"]);
        Assert.Equal(jobs.MaxDeliveryCount, (int)signatures["maxDeliveryCount"]!);
        var training = queues.Single(q => (string?)q!["name"] == "[variables('names').trainingQueue]")!;
        var trainingJobs = new MotifPipelineOptions().TrainingJobs;
        Assert.Equal(XmlConvert.ToString(trainingJobs.LockDuration), (string?)training["lockDuration"]);
        Assert.Equal(trainingJobs.MaxDeliveryCount, (int)training["maxDeliveryCount"]!);
        Assert.Equal(new MotifAzureStorageOptions().TrainingJobs, trainingJobs);
        var template = Bicep.Module("servicebus");
        var queue = Bicep.Resources(template).Single(r => (string?)r["type"] == "Microsoft.ServiceBus/namespaces/queues");
        Assert.True((bool)queue["properties"]!["deadLetteringOnMessageExpiration"]!);
    }

    [Fact]
    public void The_built_functions_metadata_agrees_with_the_template()
    {
        var names = Names();
        using var metadata = JsonDocument.Parse(File.ReadAllText(FunctionsMetadataPath()));
        var functions = metadata.RootElement.EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("bindings").EnumerateArray().ToArray());

        // IngestImage: the function Event Grid calls, watching the uploads container through the MotifStorage connection.
        Assert.True(functions.TryGetValue(names["ingestFunction"], out var ingestBindings), $"functions.metadata has no {names["ingestFunction"]}");
        var ingest = Assert.Single(ingestBindings);
        Assert.Equal("blobTrigger", ingest.GetProperty("type").GetString());
        Assert.Equal("EventGrid", ingest.GetProperty("source").GetString());
        Assert.Equal($"{names["uploadsContainer"]}/{{name}}", ingest.GetProperty("path").GetString());
        var connection = ingest.GetProperty("connection").GetString()!;
        Assert.Equal(MotifSettings.StorageConnection, connection);
        Assert.Contains($"{connection}__blobServiceUri", ProvidedSettings(SettingReaders.Functions).Keys);

        // Recluster: its schedule is an app setting main.bicep provides.
        var timer = Assert.Single(functions["Recluster"]);
        var schedule = timer.GetProperty("schedule").GetString()!;
        Assert.Equal($"%{MotifFunctionsOptions.ReclusterScheduleSetting}%", schedule);
        Assert.Contains(schedule.Trim('%').Replace(":", "__", StringComparison.Ordinal), ProvidedSettings(SettingReaders.Functions).Keys);
    }

    [Fact]
    public void The_Event_Grid_subscription_calls_IngestImage_s_webhook_for_uploads_only()
    {
        var parameters = Parameters("eventgrid");
        Assert.Equal("[variables('names').ingestFunction]", (string?)parameters["functionName"]!["value"]);
        Assert.Equal("[variables('names').uploadsContainer]", (string?)parameters["uploadsContainer"]!["value"]);
        Assert.Equal("[variables('names').deadLetterContainer]", (string?)parameters["deadLetterContainer"]!["value"]);

        var template = Bicep.Module("eventgrid");
        var subscription = Bicep.Resources(template).Single(r => (string?)r["type"] == "Microsoft.EventGrid/systemTopics/eventSubscriptions")["properties"]!;
        var url = (string?)subscription["destination"]!["properties"]!["endpointUrl"]!;
        Assert.Contains("/runtime/webhooks/blobs?functionName=Host.Functions.{1}&code={2}", url, StringComparison.Ordinal);
        Assert.Contains("parameters('functionName')", url, StringComparison.Ordinal);
        Assert.Contains("listKeys(format('{0}/host/default'", url, StringComparison.Ordinal);
        Assert.Contains(".systemKeys.blobs_extension", url, StringComparison.Ordinal);
        Assert.Equal(["Microsoft.Storage.BlobCreated"], subscription["filter"]!["includedEventTypes"]!.AsArray().Select(n => (string?)n));
        Assert.Equal("[format('/blobServices/default/containers/{0}/blobs/', parameters('uploadsContainer'))]", (string?)subscription["filter"]!["subjectBeginsWith"]);
        Assert.NotNull(subscription["retryPolicy"]!["maxDeliveryAttempts"]);
        Assert.Equal("[parameters('deadLetterContainer')]", (string?)subscription["deadLetterWithResourceIdentity"]!["deadLetterDestination"]!["properties"]!["blobContainerName"]);
    }

    [Fact]
    public void Every_setting_the_hosts_read_by_name_is_in_the_one_list()
    {
        // Literal keys in the hosts' and the composition's code: each must be one of MotifSettings (or ASP.NET's own).
        var keys = MotifSettings.All.Select(s => s.Key).ToHashSet(StringComparer.Ordinal);
        var lastSegments = MotifSettings.All.Select(s => s.Key[(s.Key.LastIndexOf(':') + 1)..]).ToHashSet(StringComparer.Ordinal);
        string[] frameworkKeys = ["urls"];
        var unknown = new List<string>();
        foreach (var folder in new[] { "core/Motif.Pipeline", "core/Motif.Storage.Azure", "functions/Motif.Functions", "gpu-worker/Motif.Worker" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(TestData.RepositoryRoot, folder), "*.cs", SearchOption.AllDirectories))
            {
                foreach (Match match in SettingRead().Matches(File.ReadAllText(file)))
                {
                    var key = match.Groups["key"].Value;
                    if (!keys.Contains(key) && !lastSegments.Contains(key) && !frameworkKeys.Contains(key))
                    {
                        unknown.Add($"{Path.GetRelativePath(TestData.RepositoryRoot, file)}: \"{key}\"");
                    }
                }
            }
        }
        Assert.True(unknown.Count == 0, "settings read by name but missing from MotifSettings.All:\n" + string.Join('\n', unknown));
    }

    [Fact]
    public void IIIF_ids_start_at_the_app_s_own_host_name_and_IIIF_is_open_to_viewers()
    {
        // Never a request's Host header: the app's default host name, from the site itself.
        var root = ProvidedSettings(SettingReaders.Functions)[MotifSettings.InMotif(MotifSettings.PublicBaseUrl).Replace(":", "__", StringComparison.Ordinal)];
        Assert.Matches(@"^\[format\('https://\{0\}/', reference\(.*Microsoft\.Web/sites.*\)\.defaultHostName\)\]$", root);
        // Viewers send no token: the IIIF documents and the derivatives they paint pass App Service authentication;
        // the rest of the API does not. No platform CORS, which would override the app's own per-route headers.
        var template = Bicep.Module("functions");
        var auth = Bicep.Resources(template).Single(r => (string?)r["type"] == "Microsoft.Web/sites/config" && ((string?)r["name"])!.Contains("'authsettingsV2'", StringComparison.Ordinal));
        var excluded = auth["properties"]!["globalValidation"]!["excludedPaths"]!.AsArray().Select(p => (string?)p).ToArray();
        Assert.Contains("/api/iiif/*", excluded);
        Assert.Contains("/api/derivatives/*", excluded);
        Assert.DoesNotContain(excluded, p => p!.StartsWith("/api/", StringComparison.Ordinal) && p is not ("/api/health" or "/api/iiif/*" or "/api/derivatives/*"));
        var site = Bicep.Resources(template).Single(r => (string?)r["type"] == "Microsoft.Web/sites");
        Assert.Null(site["properties"]!["siteConfig"]!["cors"]);
    }

    [Fact]
    public void The_Functions_identity_may_send_to_the_training_queue()
    {
        // POST /api/train sends as the app's identity: Data Sender on the namespace, which holds the training queue.
        Assert.Equal("[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', format('{0}-functions', parameters('name'))), '2023-01-31').principalId]",
            (string?)Parameters("roles")["functionsPrincipalId"]!["value"]);
        Assert.Contains("[variables('names').trainingQueue]", Parameters("roles")["queueNames"]!["value"]!.AsArray().Select(q => (string?)q));
        var template = Bicep.Module("roles");
        var sender = (string)template["variables"]!["roles"]!["serviceBusDataSender"]!;
        Assert.Equal("69a216fc-b8fb-44d8-bc22-1f3c2cd27a39", sender);   // Azure Service Bus Data Sender (built-in roles list)
        Assert.Contains(template["variables"]!["busRoles"]!.AsArray(), a =>
            (string?)a!["principal"] == "[parameters('functionsPrincipalId')]" && (string?)a["role"] == "[variables('roles').serviceBusDataSender]");
        var assignments = Bicep.Resources(template).Single(r => (string?)r["copy"]?["name"] == "busAssignments");
        Assert.Equal("[resourceId('Microsoft.ServiceBus/namespaces', parameters('serviceBusName'))]", (string?)assignments["scope"]);
    }

    [Fact]
    public void No_connection_in_the_template_carries_a_key()
    {
        // Identity-based only: no listKeys except the Event Grid webhook's blobs_extension key, no connection strings.
        var json = Bicep.MainTemplate.ToJsonString();
        var listKeys = ListKeysCall().Matches(json).Select(m => m.Value).ToArray();
        Assert.All(listKeys, call => Assert.Contains("/host/default", call, StringComparison.Ordinal));
        Assert.Single(listKeys);
        Assert.DoesNotContain("listConnectionStrings", json, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("AccountKey=", json, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("SharedAccessKey", json, StringComparison.OrdinalIgnoreCase);
        var storage = Bicep.Resources(Bicep.Module("storage")).Single(r => (string?)r["type"] == "Microsoft.Storage/storageAccounts");
        Assert.False((bool)storage["properties"]!["allowSharedKeyAccess"]!);
        var bus = Bicep.Resources(Bicep.Module("servicebus")).Single(r => (string?)r["type"] == "Microsoft.ServiceBus/namespaces");
        Assert.True((bool)bus["properties"]!["disableLocalAuth"]!);
    }

    [GeneratedRegex(@"(?:section|[cC]onfiguration)\[""(?<key>[^""]+)""\]")]
    private static partial Regex SettingRead();

    [GeneratedRegex(@"listKeys\([^)]*\)")]
    private static partial Regex ListKeysCall();

    [GeneratedRegex(@"Motif__ModelVersion=""([^""]+)""")]
    private static partial Regex DockerModelVersion();

    /// <summary>main.bicep's <c>names</c>: the containers, table, queues and function it wires.</summary>
    private static Dictionary<string, string> Names() =>
        Bicep.MainTemplate["variables"]!["names"]!.AsObject().ToDictionary(p => p.Key, p => (string)p.Value!);

    private static JsonObject Parameters(string module) => Bicep.Deployment(module)["properties"]!["parameters"]!.AsObject();

    /// <summary>The app settings (Functions) or container environment (worker) main.bicep gives an app: name → ARM value.</summary>
    private static Dictionary<string, string?> ProvidedSettings(SettingReaders app)
    {
        if (app == SettingReaders.Functions)
        {
            // The site's appsettings config, written once after the site exists (one setting is the site's own host
            // name); siteConfig carries none, so nothing else can replace them.
            var template = Bicep.Module("functions");
            var site = Bicep.Resources(template).Single(r => (string?)r["type"] == "Microsoft.Web/sites");
            Assert.Null(site["properties"]!["siteConfig"]!["appSettings"]);
            var config = Bicep.Resources(template).Single(r => (string?)r["type"] == "Microsoft.Web/sites/config" && ((string?)r["name"])!.Contains("'appsettings'", StringComparison.Ordinal));
            return config["properties"]!.AsObject().ToDictionary(p => p.Key, p => p.Value?.ToString(), StringComparer.Ordinal);
        }
        var apps = Bicep.Module("containerapps");
        var env = apps["variables"]!["env"]!.AsArray().Select(s => s!.AsObject()).ToArray();
        // The variable is what the resources use: the worker's and the training job's env.
        foreach (var type in new[] { "Microsoft.App/containerApps", "Microsoft.App/jobs" })
        {
            var resource = Bicep.Resources(apps).Single(r => (string?)r["type"] == type);
            Assert.Equal("[variables('env')]", (string?)resource["properties"]!["template"]!["containers"]![0]!["env"]);
        }
        return env.ToDictionary(s => (string)s["name"]!, s => s["value"]?.ToString(), StringComparer.Ordinal);
    }

    /// <summary>artifacts/bin/Motif.Functions/{configuration}/functions.metadata, built before this project (it references the app).</summary>
    private static string FunctionsMetadataPath()
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var path = Path.Combine(output.Parent!.Parent!.FullName, "Motif.Functions", output.Name, "functions.metadata");
        Assert.True(File.Exists(path), $"{path} is missing: build functions/Motif.Functions.");
        return path;
    }
}
