using Motif.Testing;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Motif.Imaging.Libvips;

namespace Motif.Imaging.Tests;

public sealed class LoggingTests
{
    [Fact]
    public void GLib_warnings_reach_the_logger_instead_of_stderr()
    {
        var logger = new CollectingLogger();
        var previous = ImageCodec.Logger;
        ImageCodec.Logger = logger;
        try
        {
            // libvips' lenient default (fail_on=none) decodes a truncated JPEG and *warns* about it:
            // exactly the message that would otherwise be printed on stderr.
            var truncated = ImageFixtures.Truncated(ImageFixtures.Jpeg(320, 240), 0.7);
            LibvipsGate.Run(() =>
            {
                using var lenient = NetVips.Image.NewFromBuffer(truncated);
                return lenient.Avg();
            });
        }
        finally
        {
            ImageCodec.Logger = previous;
        }

        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("VIPS: ", StringComparison.Ordinal)
            && e.Message.Contains("Premature end of JPEG file", StringComparison.Ordinal));
    }

    private sealed class CollectingLogger : ILogger
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, formatter(state, exception)));
    }
}
