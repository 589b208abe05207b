using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Motif.Functions;
using Motif.Pipeline.Composition;

namespace Motif.Cli;

/// <summary><c>motif serve</c>: the curators' app over a workspace, in a browser (see <see cref="Viewer"/>).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var workspaceArguments = new WorkspaceArguments();
        var port = new Option<int>("--port") { Description = "Port on 127.0.0.1 (0: any free port).", DefaultValueFactory = _ => 8080 };
        var model = new Option<string>("--model")
        {
            Description = $"The model the workspace was run with, for search by image: {ModelCatalog.PackagedResNet50} (default) or a checkpoint file.",
            DefaultValueFactory = _ => ModelCatalog.PackagedResNet50,
        };
        var precision = SharedOptions.Precision();
        var command = new Command("serve", "Serve the curators' app (clusters, reachability, search by image) with its HTTP API, the manifest, CSV and IIIF on 127.0.0.1.")
        {
            port, model, precision,
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
            // No App Service authentication in front of a local server: annotations are the OS user's, set as the
            // Functions app reads it (Motif__LocalAnnotator), exactly as motif dev sets it. The IIIF ids name the
            // server's own loopback address (Motif__PublicBaseUrl), so its port is chosen first.
            var listenPort = Viewer.ChoosePort(parse.GetValue(port));
            MotifFunctionsOptions options;
            try
            {
                options = MotifFunctionsOptions.Read(LocalSettings(Environment.UserName, listenPort));
            }
            catch (PipelineConfigurationException e)
            {
                await error.WriteLineAsync(Display.Safe(e.Message));
                return 2;
            }
            var functions = Viewer.Functions(options, parse.GetValue(model)!, ModelCatalog.ParsePrecision(parse.GetValue(precision)!), error);
            await using var workspace = await workspaceArguments.OpenExistingOrSayWhyAsync(parse, cancellationToken, functions);
            if (workspace is null)
            {
                return 2;
            }
            await using var app = Viewer.Build(workspace, listenPort);
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch (IOException e)
            {
                // Kestrel's "Failed to bind to address …: address already in use".
                await error.WriteLineAsync($"Cannot serve on 127.0.0.1:{listenPort}: {Display.Safe(e.Message)} (choose another --port).");
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

    /// <summary>
    /// The Functions app's settings for a local server on <paramref name="port"/>: <paramref name="user"/> annotates
    /// without a sign-in, and absolute URLs start at the server's loopback address.
    /// </summary>
    internal static IConfiguration LocalSettings(string user, int port) => new ConfigurationBuilder()
        .AddInMemoryCollection([
            new(MotifSettings.InMotif(MotifSettings.LocalAnnotator), user),
            new(MotifSettings.InMotif(MotifSettings.PublicBaseUrl), Viewer.Root(port).AbsoluteUri),
        ])
        .Build();
}
