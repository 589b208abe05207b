using Motif.Core;
using Motif.Imaging.Libvips;
using Motif.Testing;

namespace Motif.Imaging.Tests;

/// <summary>
/// Which formats intake reads (issue 12, item 2 and failure 7): JPEG 2000's loader is unblocked on purpose, every
/// other loader libvips marks untrusted stays blocked, and the code, the reasons and the README list the same formats.
/// </summary>
public sealed class FormatPolicyTests
{
    [Fact]
    public void A_jpeg_2000_file_is_accepted_and_decodes()
    {
        var jp2 = ImageFixtures.Jp2k(320, 240);

        var accepted = Assert.IsType<ValidationResult.Accepted>(ImageCodec.Validate(jp2));
        var derivative = ImageCodec.Probe(ImageCodec.Derivative(jp2, 160));
        var spec = PreprocessSpec.ImageNet(32);
        var input = new float[spec.ValuesPerImage];
        ImageCodec.Preprocess(jp2, spec, input);

        Assert.Equal((ImageFormat.Jp2k, 320, 240, 3), (accepted.Info.Format, accepted.Info.Width, accepted.Info.Height, accepted.Info.Bands));
        Assert.Equal((ImageFormat.Jpeg, 160, 120), (derivative.Format, derivative.Width, derivative.Height));
        Assert.Contains(input, v => v != 0);
    }

    [Fact]
    public void A_truncated_jpeg_2000_file_is_rejected_with_openjpegs_reason()
    {
        // openjpeg fails inside a tile: libvips' tile cache turns that into a warning and black pixels, and only
        // the gate's tile-failure count makes the decode fail.
        var rejected = Assert.IsType<ValidationResult.Rejected>(ImageCodec.Validate(ImageFixtures.Truncated(ImageFixtures.Jp2k(320, 240))));

        Assert.Equal(RejectionReason.Corrupt, rejected.Reason);
        Assert.Contains("jp2kload", rejected.Message);
    }

    [Fact]
    public void Only_the_jpeg_2000_loader_leaves_the_untrusted_set()
    {
        Assert.False(LibvipsRuntime.IsBlocked("VipsForeignLoadJp2kBuffer"));
        Assert.False(LibvipsRuntime.IsBlocked("jpegload_buffer"));
        Assert.All(["magickload_buffer", "svgload_buffer", "pdfload_buffer", "jxlload_buffer", "radload_buffer"],
            loader => Assert.True(LibvipsRuntime.IsBlocked(loader), $"{loader} should stay blocked"));
    }

    [Fact]
    public void Another_untrusted_format_stays_blocked()
    {
        var radiance = ImageFixtures.Radiance(320, 240);
        var everything = ValidationLimits.Default with { AcceptedFormats = Enum.GetValues<ImageFormat>().ToHashSet() };

        var rejected = Assert.IsType<ValidationResult.Rejected>(ImageCodec.Validate(radiance, everything));
        var direct = Assert.Throws<LibvipsException>(() => LibvipsGate.Run(() =>
        {
            using var image = NetVips.Image.NewFromBuffer(radiance);
            return image.Avg();
        }));

        Assert.Equal(RejectionReason.UnsupportedFormat, rejected.Reason);
        Assert.Contains("blocked as untrusted", rejected.Message);
        Assert.Contains("operation is blocked", direct.Message);
    }

    [Fact]
    public void The_readme_and_the_rejection_reasons_list_the_formats_the_code_accepts()
    {
        var accepted = ImageFormats.List(ValidationLimits.Default.AcceptedFormats);
        var readme = File.ReadAllText(Path.Combine(TestData.RepositoryRoot, "README.md"));

        var gif = Assert.IsType<ValidationResult.Rejected>(ImageCodec.Validate(ImageFixtures.Gif()));
        var text = Assert.IsType<ValidationResult.Rejected>(ImageCodec.Validate(ImageFixtures.TextNamedJpeg()));

        Assert.Equal("heif, jp2k, jpeg, png, tiff, webp", accepted);
        Assert.Contains($"Accepted formats: {accepted}.", readme);
        Assert.Contains($"(accepted: {accepted})", gif.Message);
        Assert.Contains($"(accepted: {accepted})", text.Message);
    }
}
