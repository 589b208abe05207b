namespace Motif.Cli.Tests;

/// <summary>Runs the motif command tree in-process, through the same entry point as the executable, capturing what it prints.</summary>
internal static class Cli
{
    public static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var exit = await MotifCommands.InvokeAsync(args, output, error, process: null);
        return (exit, output.ToString(), error.ToString());
    }
}
