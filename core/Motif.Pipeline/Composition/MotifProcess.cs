using Microsoft.Extensions.Logging;
using Motif.Imaging;
using Motif.Storage.Sqlite;

namespace Motif.Pipeline.Composition;

/// <summary>
/// The process-wide set-up of the native libraries under Motif, in one place for every host: the CLI, the worker, the
/// Functions app and the bench call <see cref="Configure"/> once at start-up. What it sets is global in the libraries
/// themselves (GLib's log handler, libvips' thread count, .NET's import resolver for SQLite), so it cannot be an option
/// of a service; the composition (<see cref="MotifPipeline"/>) never sets it behind a host's back, and so a test that
/// builds the composition changes nothing for the tests running beside it. (libtorch's intra-op threads are the
/// engine's: Motif.Engine's EngineProcess, set by the hosts that sign.)
/// </summary>
public static class MotifProcess
{
    /// <summary>The logger category under which libvips' and GLib's messages (the decoders' warnings among them) arrive.</summary>
    public const string LibvipsCategory = "Motif.Imaging.Libvips";

    /// <summary>
    /// Routes libvips' messages to <paramref name="loggers"/> (<see cref="LibvipsCategory"/>), gives libvips one thread
    /// per image pipeline, and chooses the process's one SQLite (<see cref="SqliteProcess"/>). Call it before the first
    /// image is decoded or catalog opened.
    /// </summary>
    /// <remarks>
    /// One libvips thread per pipeline because every Motif host decodes many images at once on threads of its own
    /// (intake's parallel uploads, the signing loop's decode threads, concurrent function invocations): libvips'
    /// default of one thread per core for each image would multiply them (<see cref="ImagingProcessOptions.Concurrency"/>).
    /// </remarks>
    /// <exception cref="InvalidOperationException">libvips cannot be loaded.</exception>
    public static void Configure(ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(loggers);
        ImagingProcess.Configure(new ImagingProcessOptions { Logger = loggers.CreateLogger(LibvipsCategory), Concurrency = 1 });
        SqliteProcess.UseOneSqlite();
    }
}
