using System.CommandLine;
using Microsoft.Data.Sqlite;

namespace Motif.Cli;

/// <summary>The --out and --storage options of every command that reads or writes a workspace, and opening it from them.</summary>
internal sealed class WorkspaceArguments
{
    public Option<DirectoryInfo> Out { get; } = new("--out")
    {
        Description = "The workspace folder: blobs, catalog, queue and manifests (with --storage azurite, the emulator's data).",
        DefaultValueFactory = _ => new DirectoryInfo(Workspace.DefaultFolder),
    };

    public Option<StorageKind> Storage { get; } = new("--storage")
    {
        Description = "Where the workspace keeps its state: embedded (folder + SQLite, the default), azurite (the emulator; started for the command "
                      + "with its data in --out unless MotifStorage is set) or azure (identity-based MotifStorage__blobServiceUri/…, and "
                      + "MotifServiceBus__fullyQualifiedNamespace for jobs on Service Bus).",
        DefaultValueFactory = _ => StorageKind.Embedded,
    };

    /// <summary>Adds both options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(Out);
        command.Options.Add(Storage);
    }

    /// <summary>
    /// The existing workspace the options name, or why there is none (one line, for the command's error output);
    /// <c>configure</c> adds what the command brings to the workspace's composition (see <see cref="Workspace.OpenAsync(DirectoryInfo, StorageKind, bool, CancellationToken, Motif.Pipeline.Composition.MotifPipelineOptions?, Action{Microsoft.Extensions.DependencyInjection.IServiceCollection}?)"/>).
    /// </summary>
    public async Task<(Workspace? Workspace, string? Problem)> OpenExistingAsync(ParseResult parse, CancellationToken cancellationToken,
        Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? configure = null)
    {
        var root = parse.GetRequiredValue(Out);
        var storage = parse.GetValue(Storage);
        Workspace? workspace = null;
        try
        {
            workspace = await Workspace.OpenAsync(root, storage, create: false, cancellationToken, configure: configure);
            if (workspace is null)
            {
                return (null, $"No workspace in {Display.Safe(root.FullName)}: run `motif run <folder> --out <dir>` first.");
            }
            // The catalog opens lazily: touched here, a workspace that cannot be read fails now, in one line, rather
            // than wherever a command first reads it (or as a 500 on every page of the viewer).
            await workspace.Catalog.GetImageAsync("", cancellationToken);
            return (workspace, null);
        }
        catch (Exception e) when (StorageFailure(storage, root, e) is { } message)
        {
            if (workspace is not null)
            {
                await workspace.DisposeAsync();
            }
            return (null, Display.Safe(message));
        }
    }

    /// <summary>The existing workspace the options name, or null after writing why there is none as one line to the
    /// command's error output (the caller then exits with 2).</summary>
    public async Task<Workspace?> OpenExistingOrSayWhyAsync(ParseResult parse, CancellationToken cancellationToken,
        Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? configure = null)
    {
        var (workspace, problem) = await OpenExistingAsync(parse, cancellationToken, configure);
        if (workspace is null)
        {
            await parse.InvocationConfiguration.Error.WriteLineAsync(problem);
        }
        return workspace;
    }

    /// <summary>
    /// One line for a storage failure a user can act on (workspace unavailable or read-only, Azure settings, access,
    /// reachability), or null for a bug. The Azure part is asked only for Azure storage, so the embedded path never loads
    /// the Azure SDKs.
    /// </summary>
    /// <param name="storage">The workspace's storage kind.</param>
    /// <param name="root">The workspace folder (--out), named in the message.</param>
    /// <param name="e">What was thrown.</param>
    public static string? StorageFailure(StorageKind storage, DirectoryInfo root, Exception e) => e switch
    {
        WorkspaceUnavailableException => e.Message,
        _ when storage != StorageKind.Embedded => AzureWorkspace.Describe(e),
        // The catalog's first statement takes a write lock (its schema), so a read-only workspace fails even a reader.
        // On a volume mounted read-only SQLite says either code, depending on whether the journal exists.
        SqliteException { SqliteErrorCode: SQLitePCL.raw.SQLITE_READONLY or SQLitePCL.raw.SQLITE_CANTOPEN } when UnixFile.IsOnReadOnlyFileSystem(root.FullName) =>
            $"The workspace {root.FullName} is on a read-only file system: its catalog (motif.db) must be writable, even to read it.",
        SqliteException { SqliteErrorCode: SQLitePCL.raw.SQLITE_READONLY } =>
            $"The workspace {root.FullName} is read-only: its catalog (motif.db) must be writable, even to read it.",
        SqliteException { SqliteErrorCode: SQLitePCL.raw.SQLITE_CANTOPEN } =>
            $"The workspace {root.FullName} cannot be opened: SQLite cannot open its catalog (motif.db) or the catalog's journal next to it.",
        _ => null,
    };
}
