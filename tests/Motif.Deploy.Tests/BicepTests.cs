namespace Motif.Deploy.Tests;

/// <summary>
/// main.bicep and every module compile and lint without a single diagnostic. The Bicep CLI knows every Azure resource
/// type and API version offline, so a misspelt property or an unknown API version fails here, not at deployment.
/// </summary>
public sealed class BicepTests
{
    [Fact]
    public void Main_template_builds_without_errors_or_warnings()
    {
        var result = Bicep.Run("build", Bicep.MainFile, "--stdout");
        Assert.True(result.ExitCode == 0 && result.Stderr.Trim().Length == 0, $"bicep build main.bicep:\n{result.Stderr}");
        Assert.StartsWith("{", result.Stdout.TrimStart(), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_module_builds_without_errors_or_warnings()
    {
        var output = Directory.CreateTempSubdirectory("motif-bicep-");
        try
        {
            var result = Bicep.Run("build", "--pattern", "infra/bicep/*.bicep", "--outdir", output.FullName);
            Assert.True(result.ExitCode == 0 && result.Output.Length == 0, $"bicep build infra/bicep/*.bicep:\n{result.Output}");
            Assert.Equal(ModuleFiles().Length, output.GetFiles("*.json").Length);
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    [Fact]
    public void Main_template_lints_clean()
    {
        // bicep lint exits 0 on warnings: any output at all is a failure.
        var result = Bicep.Run("lint", Bicep.MainFile);
        Assert.True(result.ExitCode == 0 && result.Output.Length == 0, $"bicep lint main.bicep:\n{result.Output}");
    }

    [Fact]
    public void Every_module_lints_clean()
    {
        var result = Bicep.Run("lint", "--pattern", "infra/bicep/*.bicep");
        Assert.True(result.ExitCode == 0 && result.Output.Length == 0, $"bicep lint infra/bicep/*.bicep:\n{result.Output}");
    }

    [Fact]
    public void Every_module_is_deployed_by_main_bicep()
    {
        // A module no template references would be linted but never deployed.
        var sources = string.Join('\n', ModuleFiles().Select(File.ReadAllText).Append(File.ReadAllText(Bicep.MainFile)));
        var orphans = ModuleFiles().Select(Path.GetFileName).Where(file => !sources.Contains($"/{file}'", StringComparison.Ordinal) && !sources.Contains($"'{file}'", StringComparison.Ordinal)).ToArray();
        Assert.Empty(orphans);
    }

    private static string[] ModuleFiles() => Directory.GetFiles(Bicep.ModulesFolder, "*.bicep").Order(StringComparer.Ordinal).ToArray();
}
