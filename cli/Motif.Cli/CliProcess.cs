using Microsoft.Extensions.Logging;
using Motif.Engine;
using Motif.Pipeline.Composition;

namespace Motif.Cli;

/// <summary>
/// The process that <c>motif</c> owns when it runs as the executable: the settings of its native libraries, which are
/// global to a process, and its signals. Commands run inside another process (the tests run many at once) are given
/// none, and then leave that process's signals, libvips and libtorch as they are.
/// </summary>
/// <param name="TerminationTimeout">How long a command may settle after Ctrl-C or SIGTERM.</param>
public sealed record CliProcess(TimeSpan TerminationTimeout)
{
    /// <summary>
    /// The executable's start-up: libvips' warnings (a damaged image's decoder messages) go to <paramref name="error"/>,
    /// one line each, and the rest of <see cref="MotifProcess.Configure"/>. Dispose the result when the command ends.
    /// </summary>
    /// <exception cref="InvalidOperationException">libvips cannot be loaded (the message says what to install).</exception>
    public static ILoggerFactory Start(TextWriter error)
    {
        var loggers = LoggerFactory.Create(logging => logging.SetMinimumLevel(LogLevel.Warning).AddProvider(new ErrorLog(error)));
        try
        {
            MotifProcess.Configure(loggers);
            return loggers;
        }
        catch
        {
            loggers.Dispose();
            throw;
        }
    }

    /// <summary>libtorch's threads for a command that signs (its <c>--threads</c>), set once before it opens the model.</summary>
    internal void UseEngineThreads(int threads) => EngineProcess.Configure(new EngineProcessOptions { Threads = threads });
}
