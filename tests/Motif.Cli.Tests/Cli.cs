using System.CommandLine;

namespace Motif.Cli.Tests;

/// <summary>Runs the motif command tree in-process, capturing what it prints.</summary>
internal static class Cli
{
    public static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var exit = await MotifCommands.Build().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }
}
