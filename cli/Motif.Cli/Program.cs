using Microsoft.Extensions.Logging;
using Motif.Cli;

// The executable owns its process: libvips' warnings go to stderr (CliProcess.Start), the commands that sign set
// libtorch's threads, and on Ctrl-C or SIGTERM System.CommandLine cancels the command's token; `motif run` gets time
// to settle its current batch, give its jobs back and release the workspace lease, instead of being cut off after 2 s.
ILoggerFactory loggers;
try
{
    loggers = CliProcess.Start(Console.Error);
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"motif: {Display.Safe(e.Message)}");
    return 2;
}
using (loggers)
{
    return await MotifCommands.InvokeAsync(args, Console.Out, Console.Error, new CliProcess(TerminationTimeout: TimeSpan.FromSeconds(30)));
}
