using Motif.Cli;

return await MotifCommands.Build().Parse(args).InvokeAsync();
