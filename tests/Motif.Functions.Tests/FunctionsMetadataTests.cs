using System.Text.Json;

namespace Motif.Functions.Tests;

/// <summary>
/// The functions.metadata the Worker SDK wrote when it built Motif.Functions (this project references it, so it is
/// built first): what the Functions host will index. It is the contract with the host and with main.bicep (Event
/// Grid subscription to IngestImage, the MotifStorage connection, the schedule setting), so it is pinned exactly.
/// </summary>
public sealed class FunctionsMetadataTests
{
    /// <summary>artifacts/bin/Motif.Functions/{configuration}/functions.metadata, beside this test project's own output.</summary>
    private static string MetadataPath()
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var path = Path.Combine(output.Parent!.Parent!.FullName, "Motif.Functions", output.Name, "functions.metadata");
        Assert.True(File.Exists(path), $"{path} is missing: build functions/Motif.Functions.");
        return path;
    }

    [Fact]
    public void The_built_metadata_declares_exactly_the_expected_functions_and_bindings()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(MetadataPath()));
        var recluster = document.RootElement.EnumerateArray().Single(e => e.GetProperty("name").GetString() == "Recluster");
        Assert.Equal(("exponentialBackoff", 3), (Text(recluster.GetProperty("retry"), "strategy"), recluster.GetProperty("retry").GetProperty("maxRetryCount").GetInt32()));
        var functions = document.RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!, e => e.GetProperty("bindings").EnumerateArray().ToArray());

        Assert.Equal(
            ["GetAnnotations", "GetCluster", "GetClusters", "GetDerivative", "GetGallery", "GetIiifCollection", "GetIiifManifest", "GetImage", "GetImageNeighbours", "GetMap", "GetReachability", "GetThumbnail", "GetWhoAmI", "Health", "IngestImage", "PostAnnotation", "PostTrain", "Recluster", "Search"],
            functions.Keys.Order(StringComparer.Ordinal));

        var ingest = Assert.Single(functions["IngestImage"]);
        Assert.Equal(("blobTrigger", "In", "uploads/{name}", "EventGrid", "MotifStorage"),
            (Text(ingest, "type"), Text(ingest, "direction"), Text(ingest, "path"), Text(ingest, "source"), Text(ingest, "connection")));

        var timer = Assert.Single(functions["Recluster"]);
        Assert.Equal(("timerTrigger", "%Motif:ReclusterSchedule%"), (Text(timer, "type"), Text(timer, "schedule")));

        var routes = new Dictionary<string, (string Route, string Method)>
        {
            ["GetClusters"] = ("clusters", "get"),
            ["GetCluster"] = ("clusters/{id}", "get"),
            ["GetGallery"] = ("gallery", "get"),
            ["GetMap"] = ("map", "get"),
            ["GetReachability"] = ("reachability", "get"),
            ["GetImage"] = ("images/{key}", "get"),
            ["GetImageNeighbours"] = ("images/{key}/neighbours", "get"),
            ["GetDerivative"] = ("derivatives/{contentHash}", "get"),
            ["GetThumbnail"] = ("thumbnails/{contentHash}", "get"),
            ["Search"] = ("search", "post"),
            ["Health"] = ("health", "get"),
            ["PostAnnotation"] = ("annotations", "post"),
            ["GetAnnotations"] = ("annotations", "get"),
            ["GetWhoAmI"] = ("whoami", "get"),
            ["GetIiifCollection"] = ("iiif/collection.json", "get"),
            ["GetIiifManifest"] = ("iiif/clusters/{id}/manifest.json", "get"),
            ["PostTrain"] = ("train", "post"),
        };
        foreach (var (name, (route, method)) in routes)
        {
            var bindings = functions[name];
            Assert.Equal(2, bindings.Length);
            var trigger = bindings.Single(b => Text(b, "type") == "httpTrigger");
            Assert.Equal((route, "Anonymous"), (Text(trigger, "route"), Text(trigger, "authLevel")));
            Assert.Equal([method], trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
            var output = bindings.Single(b => Text(b, "type") == "http");
            Assert.Equal(("$return", "Out"), (Text(output, "name"), Text(output, "direction")));
        }
    }

    private static string? Text(JsonElement binding, string property) =>
        binding.TryGetProperty(property, out var value) ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.ToString() : null;
}
