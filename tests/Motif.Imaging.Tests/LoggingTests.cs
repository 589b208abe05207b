using Motif.Testing;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Motif.Imaging.Libvips;

namespace Motif.Imaging.Tests;

/// <summary>The logger is process-wide: these tests run alone, so that no other test's warnings reach it.</summary>
[CollectionDefinition(nameof(LoggingTests), DisableParallelization = true)]
[Collection(nameof(LoggingTests))]
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

    [Fact]
    public void A_failing_images_warnings_are_logged_once_although_the_gate_reruns_it()
    {
        // libpng reports a chunk CRC error only through libvips' warning callback (DamagedImageTests).
        var damaged = ImageFixtures.WithBadChunkCrc(ImageFixtures.Png(320, 240), "IDAT");
        const string warning = "IDAT: CRC error";
        var logger = new CollectingLogger();
        var previous = ImageCodec.Logger;
        ImageCodec.Logger = logger;
        ValidationResult result;
        try
        {
            // Validate fails under fail_on=warning, so LibvipsGate runs it twice: in parallel, then alone.
            result = ImageCodec.Validate(damaged);
        }
        finally
        {
            ImageCodec.Logger = previous;
        }

        var rejected = Assert.IsType<ValidationResult.Rejected>(result);
        Assert.Contains(warning, rejected.Message);
        Assert.Single(logger.Entries, e => e.Message.Contains(warning, StringComparison.Ordinal));
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
