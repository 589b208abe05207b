using Motif.Cli;

// On Ctrl-C or SIGTERM, System.CommandLine cancels the command's token; give `motif run` time to settle its
// current batch, give its jobs back and release the workspace lease, instead of being cut off after 2 s.
return await MotifCommands.InvokeAsync(args, Console.Out, Console.Error, processTerminationTimeout: TimeSpan.FromSeconds(30));
