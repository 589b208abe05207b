using Spectre.Console;

namespace Motif.Cli;

/// <summary>The console a command draws its progress and tables on.</summary>
internal static class CommandConsole
{
    /// <summary>A Spectre console over the command's output: animated on a terminal, plain lines when redirected or captured.</summary>
    public static IAnsiConsole For(TextWriter output)
    {
        var terminal = output == Console.Out && !Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!terminal)
        {
            // A file or pipe has no width; tables would otherwise wrap at 80 columns.
            console.Profile.Width = 200;
        }
        return console;
    }
}
