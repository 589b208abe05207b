using System.CommandLine;

namespace Motif.Cli;

/// <summary>The command tree of <c>motif</c>. Each command lives in its own class and adds itself here.</summary>
public static class MotifCommands
{
    /// <param name="process">The process the commands own, or null when they run inside another (see <see cref="CliProcess"/>).</param>
    public static RootCommand Build(CliProcess? process = null) => new("Motif finds visual patterns shared by artworks: copies, variants and derivations across collections.")
    {
        IntakeCommand.Create(),
        EmbedCommand.Create(process),
        ClusterCommand.Create(),
        SampleCommand.Create(),
        MorphographCommand.Create(),
        EvaluateCommand.Create(),
        AnnotateCommand.Create(),
        TrainCommand.Create(),
        ModelsCommand.Create(),
        RunCommand.Create(process),
        SearchCommand.Create(),
        ClustersCommand.Create(),
        ServeCommand.Create(),
        Dev.DevCommand.Create(),
    };

    /// <summary>
    /// Parses <paramref name="args"/> and runs the command, printing to <paramref name="output"/> and <paramref name="error"/>.
    /// What a command leaves unhandled and the user can fix (<see cref="OrdinaryFailure"/>: a full or read-only disk, a
    /// missing path) is one line and exit code 2; anything else is a bug, printed with its stack trace, exit code 70
    /// (EX_SOFTWARE).
    /// </summary>
    /// <param name="args">The command line, without the program name.</param>
    /// <param name="output">Where the command's results go.</param>
    /// <param name="error">Where failures go.</param>
    /// <param name="process">The process the commands own (the executable's); null: its signals, libvips and libtorch are
    /// left as they are (tests running commands in-process).</param>
    public static async Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error, CliProcess? process)
    {
        var configuration = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            ProcessTerminationTimeout = process?.TerminationTimeout,
            EnableDefaultExceptionHandler = false,
        };
        try
        {
            return await Build(process).Parse(args).InvokeAsync(configuration);
        }
        catch (Exception e) when (OrdinaryFailure.Describe(e) is { } message)
        {
            await error.WriteLineAsync(Display.Safe(message));
            return 2;
        }
        catch (Exception e)
        {
            await error.WriteLineAsync($"motif: internal error, please report it with what follows.{Environment.NewLine}{e}");
            return 70;
        }
    }
}
