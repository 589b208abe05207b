using System.CommandLine;

namespace Motif.Cli;

/// <summary><c>motif serve</c>: browse a workspace's clusters in a browser (see <see cref="Viewer"/>).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var workspaceArguments = new WorkspaceArguments();
        var port = new Option<int>("--port") { Description = "Port on 127.0.0.1 (0: any free port).", DefaultValueFactory = _ => 8080 };
        var command = new Command("serve", "Serve the latest clusters (page with thumbnails, nearest-image search, manifest, CSV, IIIF) on 127.0.0.1.")
        {
            port,
        };
        workspaceArguments.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            if (parse.GetValue(port) is < 0 or > 65535)
            {
                await error.WriteLineAsync("--port must be from 0 to 65535 (0: any free port).");
                return 2;
            }
            await using var workspace = await workspaceArguments.OpenExistingOrSayWhyAsync(parse, cancellationToken);
            if (workspace is null)
            {
                return 2;
            }
            await using var app = Viewer.Build(workspace, parse.GetValue(port));
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch (IOException e)
            {
                // Kestrel's "Failed to bind to address …: address already in use".
                await error.WriteLineAsync($"Cannot serve on 127.0.0.1:{parse.GetValue(port)}: {Display.Safe(e.Message)} (choose another --port).");
                return 2;
            }
            await parse.InvocationConfiguration.Output.WriteLineAsync($"Serving {string.Join(", ", app.Urls)}/ (Ctrl-C to stop)");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C: stop serving.
            }
            await app.StopAsync(CancellationToken.None);
            return 0;
        });
        return command;
    }
}
