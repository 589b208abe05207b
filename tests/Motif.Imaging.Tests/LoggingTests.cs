using Microsoft.Extensions.Logging;
using Motif.Imaging.Libvips;
using Motif.Testing;

namespace Motif.Imaging.Tests;

public sealed class LoggingTests
{
    [Fact]
    public void GLib_warnings_reach_the_process_logger_instead_of_stderr()
    {
        // libvips' lenient default (fail_on=none) decodes a truncated JPEG and *warns* about it:
        // exactly the message that would otherwise be printed on stderr.
        var truncated = ImageFixtures.Truncated(ImageFixtures.Jpeg(320, 240), 0.7);
        LibvipsGate.Run(() =>
        {
            using var lenient = NetVips.Image.NewFromBuffer(truncated);
            return lenient.Avg();
        });

        Assert.Contains(TestProcess.Libvips.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("VIPS: ", StringComparison.Ordinal)
            && e.Message.Contains("Premature end of JPEG file", StringComparison.Ordinal));
    }

    [Fact]
    public void The_process_set_up_applies_libvips_concurrency() =>
        // libvips' default is one thread per core (or VIPS_CONCURRENCY); the test process asked for its own value.
        Assert.Equal(TestProcess.Concurrency, ImagingProcess.Concurrency);

    [Fact]
    public void A_concurrency_below_one_is_refused_before_anything_changes()
    {
        var refused = Assert.Throws<ArgumentOutOfRangeException>(() => ImagingProcess.Configure(new ImagingProcessOptions { Concurrency = 0 }));

        Assert.Equal("Concurrency", refused.ParamName);
        Assert.Equal(TestProcess.Concurrency, ImagingProcess.Concurrency);
    }
}

/// <summary>
/// Counts this process's libvips log entries before and after one call, so it runs alone, after the parallel test
/// classes: DamagedImageTests logs the same libpng message.
/// </summary>
[Collection(nameof(LogCountTests))]
public sealed class LogCountTests
{
    [Fact]
    public void A_failing_images_warnings_are_logged_once_although_the_gate_reruns_it()
    {
        // libpng reports a chunk CRC error only through libvips' warning callback (DamagedImageTests).
        var damaged = ImageFixtures.WithBadChunkCrc(ImageFixtures.Png(320, 240), "IDAT");
        const string warning = "IDAT: CRC error";
        int Logged() => TestProcess.Libvips.Entries.Count(e => e.Message.Contains(warning, StringComparison.Ordinal));
        var before = Logged();

        // Validate fails under fail_on=warning, so LibvipsGate runs it twice: in parallel, then alone.
        var rejected = Assert.IsType<ValidationResult.Rejected>(ImageCodec.Validate(damaged));

        Assert.Contains(warning, rejected.Message);
        Assert.Equal(before + 1, Logged());
    }
}

/// <summary>The collection <see cref="LogCountTests"/> runs in: alone, once the parallel classes are done.</summary>
[CollectionDefinition(nameof(LogCountTests), DisableParallelization = true)]
public sealed class LogCountCollection;
