using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Motif.Imaging.Tests;

/// <summary>
/// This test process's one libvips set-up. <see cref="ImagingProcess.Configure"/> is process-wide, so it is made once,
/// when the assembly loads and before any test runs, and no test changes it while others run; the tests read what it
/// collected and what it set.
/// </summary>
internal static class TestProcess
{
    public const int Concurrency = 1;

    /// <summary>Every GLib/libvips message of this process, from every test.</summary>
    public static CollectingLogger Libvips { get; } = new();

#pragma warning disable CA2255 // A test assembly, not a library: its process set-up must precede every test class.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Configure() =>
        ImagingProcess.Configure(new ImagingProcessOptions { Logger = Libvips, Concurrency = Concurrency });

    public sealed class CollectingLogger : ILogger
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, formatter(state, exception)));
    }
}
