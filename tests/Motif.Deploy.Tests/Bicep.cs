using System.Diagnostics;
using System.Text.Json.Nodes;
using Motif.Testing;

namespace Motif.Deploy.Tests;

/// <summary>The Bicep CLI that infra/setup.sh installs from NuGet (Azure.Bicep.CommandLine.linux-x64), run offline.</summary>
internal static class Bicep
{
    public static string Root => TestData.RepositoryRoot;

    public static string MainFile => Path.Combine(Root, "main.bicep");

    public static string ModulesFolder => Path.Combine(Root, "infra", "bicep");

    private static readonly Lazy<JsonObject> Compiled = new(() =>
    {
        var result = Run("build", MainFile, "--stdout");
        Assert.True(result.ExitCode == 0, $"bicep build main.bicep failed:\n{result.Output}");
        return JsonNode.Parse(result.Stdout)!.AsObject();
    });

    /// <summary>main.bicep compiled to ARM JSON: what `az deployment group create` sends.</summary>
    public static JsonObject MainTemplate => Compiled.Value;

    public static string Executable
    {
        get
        {
            var path = Path.Combine(Root, ".cache", "bicep", "bicep");
            Assert.True(File.Exists(path), $"{path} is missing: run `make setup` (infra/setup.sh installs the Bicep CLI from NuGet).");
            return path;
        }
    }

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        /// <summary>Everything bicep printed besides a template on stdout: its diagnostics.</summary>
        public string Output => $"{Stderr}{Stdout}".Trim();
    }

    public static Result Run(params string[] arguments)
    {
        var start = new ProcessStartInfo(Executable)
        {
            WorkingDirectory = Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        // No telemetry, no update check: the tests run offline.
        start.Environment["BICEP_TELEMETRY_ENABLED"] = "false";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)), $"bicep {string.Join(' ', arguments)} did not finish in 3 minutes");
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>The nested template of the module deployment <paramref name="name"/> in main.bicep.</summary>
    public static JsonObject Module(string name) =>
        Deployment(name)["properties"]!["template"]!.AsObject();

    /// <summary>The module deployment resource <paramref name="name"/> (its parameters are main.bicep's expressions).</summary>
    public static JsonObject Deployment(string name) =>
        Resources(MainTemplate).Single(r => (string?)r["type"] == "Microsoft.Resources/deployments" && Literal(r["name"]) == name);

    /// <summary>The resources of a template, whether bicep emitted them as an array or (languageVersion 2.0) an object.</summary>
    public static IEnumerable<JsonObject> Resources(JsonObject template) => template["resources"] switch
    {
        JsonArray array => array.Select(r => r!.AsObject()),
        JsonObject map => map.Select(p => p.Value!.AsObject()),
        _ => [],
    };

    /// <summary>A name that is a plain string, or bicep's <c>[format('{0}', 'x')]</c>-free literal; null for an expression.</summary>
    public static string? Literal(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) && !text.StartsWith('[') ? text : null;
}
