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
        EvaluateCommand.Create(),
        AnnotateCommand.Create(),
        RunCommand.Create(),
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
    /// <param name="processTerminationTimeout">How long a command may settle after Ctrl-C or SIGTERM; null: the
    /// process's signals are left alone (tests running commands in-process).</param>
    public static async Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error, TimeSpan? processTerminationTimeout)
    {
        var configuration = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            ProcessTerminationTimeout = processTerminationTimeout,
            EnableDefaultExceptionHandler = false,
        };
        try
        {
            return await Build().Parse(args).InvokeAsync(configuration);
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
