using System.CommandLine;

namespace Motif.Cli;

/// <summary>The command tree of <c>motif</c>. Each command lives in its own class and adds itself here.</summary>
public static class MotifCommands
{
    public static RootCommand Build() => new("Motif finds visual patterns shared by artworks: copies, variants and derivations across collections.")
    {
        IntakeCommand.Create(),
        EmbedCommand.Create(),
        ClusterCommand.Create(),
        SampleCommand.Create(),
        MorphographCommand.Create(),
        RunCommand.Create(),
        SearchCommand.Create(),
        ClustersCommand.Create(),
        ServeCommand.Create(),
        Dev.DevCommand.Create(),
    };
}
