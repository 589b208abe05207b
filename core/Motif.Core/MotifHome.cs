namespace Motif.Core;

/// <summary>
/// Where Motif's own files are: the repository (or installed tree) whose <c>.cache/</c> holds the packaged weights and
/// sample photographs, and whose <c>node_modules/</c> holds Azurite. The one locator for every host, the bench and the
/// tests, so they all resolve the same folder the same way.
/// </summary>
public static class MotifHome
{
    /// <summary>The environment variable that names the home explicitly (set by <c>./motif</c> and the container image).</summary>
    public const string Variable = "MOTIF_HOME";

    /// <summary>The file that marks the repository's root.</summary>
    public const string Marker = "Serverless.sln";

    /// <summary><see cref="Variable"/> when set; else the repository that holds this build; else the current folder.</summary>
    public static string Folder =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } home ? home
        : RepositoryAbove(AppContext.BaseDirectory) ?? Environment.CurrentDirectory;

    /// <summary>The nearest folder at or above <paramref name="start"/> that holds <see cref="Marker"/>, or null.</summary>
    public static string? RepositoryAbove(string start)
    {
        ArgumentException.ThrowIfNullOrEmpty(start);
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, Marker)))
            {
                return dir.FullName;
            }
        }
        return null;
    }
}
