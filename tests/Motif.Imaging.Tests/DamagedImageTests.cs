using Motif.Core;
using Motif.Imaging.Libvips;
using Motif.Testing;
using NetVips;

namespace Motif.Imaging.Tests;

/// <summary>
/// Damage that a lenient decoder papers over (issue 12, failures 6 and 8): each file is built here from an image
/// that libvips itself encoded, must be refused as corrupt, and the reason must be the decoder's own words.
/// </summary>
public sealed class DamagedImageTests
{
    [Fact]
    public void A_jpeg_whose_header_claims_far_more_rows_than_its_data_holds_is_rejected()
    {
        // 9459² = 89,472,681 pixels: just under the default pixel limit, so only the decode can catch it.
        var liar = ImageFixtures.JpegClaiming(ImageFixtures.Jpeg(320, 240), 9459, 9459);
        Assert.Equal((9459, 9459), (ImageCodec.Probe(liar).Width, ImageCodec.Probe(liar).Height));

        var rejected = Assert.IsType<ValidationResult.Rejected>(ImageCodec.Validate(liar));

        Assert.Equal(RejectionReason.Corrupt, rejected.Reason);
        Assert.Contains("Corrupt JPEG data", rejected.Message);
        Assert.Equal(RejectionReason.Corrupt, Assert.Throws<ImageRejectedException>(() => ImageCodec.Derivative(liar, 256)).Reason);
        var input = new float[PreprocessSpec.ImageNet().ValuesPerImage];
        Assert.Equal(RejectionReason.Corrupt, Assert.Throws<ImageRejectedException>(() => ImageCodec.Preprocess(liar, PreprocessSpec.ImageNet(), input)).Reason);
    }

    [Fact]
    public void Jpeg_damage_that_libjpeg_only_warns_about_is_rejected_with_its_warning()
    {
        var damaged = ImageFixtures.FlippedBytes(ImageFixtures.Jpeg(320, 240), 97);
        // The damage is of the warning-only kind: under fail_on=error libvips decodes it without complaint.
        Assert.True(DecodesUnder(Enums.FailOn.Error, damaged), "the fixture should decode under fail_on=error");

        var rejected = Assert.IsType<ValidationResult.Rejected>(ImageCodec.Validate(damaged));

        Assert.Equal(RejectionReason.Corrupt, rejected.Reason);
        Assert.Contains("Corrupt JPEG data", rejected.Message);
    }

    [Theory]
    [InlineData("IHDR")]
    [InlineData("IDAT")]
    public void A_png_chunk_crc_error_is_rejected_with_libpngs_reason(string chunk)
    {
        var damaged = ImageFixtures.WithBadChunkCrc(ImageFixtures.Png(320, 240), chunk);

        var rejected = Assert.IsType<ValidationResult.Rejected>(ImageCodec.Validate(damaged));

        Assert.Equal(RejectionReason.Corrupt, rejected.Reason);
        // libpng says it through libvips' warning callback, not the error buffer.
        Assert.Contains($"{chunk}: CRC error", rejected.Message);
        Assert.DoesNotContain("without a message", rejected.Message);
    }

    [Fact]
    public void A_png_whose_zlib_checksum_is_wrong_is_rejected()
    {
        var damaged = ImageFixtures.WithBadAdler32(ImageFixtures.Png(320, 240));
        // libvips alone does not notice, even at its strictest.
        Assert.True(DecodesUnder(Enums.FailOn.Warning, damaged), "libvips 8.14 should decode a PNG with a bad Adler-32");

        var rejected = Assert.IsType<ValidationResult.Rejected>(ImageCodec.Validate(damaged));

        Assert.Equal(RejectionReason.Corrupt, rejected.Reason);
        Assert.Contains("Adler-32", rejected.Message);
        Assert.IsType<ValidationResult.Accepted>(ImageCodec.Validate(ImageFixtures.Png(320, 240)));
    }

    [Fact]
    public void Derivative_and_preprocess_apply_the_zlib_checksum_rule_without_a_validate_first()
    {
        // motif embed and query-by-image preprocess uploads that were never validated.
        var damaged = ImageFixtures.WithBadAdler32(ImageFixtures.Png(320, 240));
        var spec = PreprocessSpec.ImageNet(64);
        var input = new float[spec.ValuesPerImage];

        var derivative = Assert.Throws<ImageRejectedException>(() => ImageCodec.Derivative(damaged, 128));
        var preprocess = Assert.Throws<ImageRejectedException>(() => ImageCodec.Preprocess(damaged, spec, input));
        var batch = ImageCodec.PreprocessBatch([damaged], spec, input);

        Assert.All([derivative.Reason, preprocess.Reason, batch[0].Rejection], r => Assert.Equal(RejectionReason.Corrupt, r));
        Assert.All([derivative.Message, preprocess.Message, batch[0].Message], m => Assert.Contains("Adler-32", m));
        // The same picture undamaged goes through both.
        _ = ImageCodec.Derivative(ImageFixtures.Png(320, 240), 128);
        ImageCodec.Preprocess(ImageFixtures.Png(320, 240), spec, input);
    }

    [Fact]
    public void A_reason_is_one_line_even_when_libjpeg_reports_several_problems()
    {
        // scikit-image's truncated.jpg: libvips relays libjpeg's "Premature end of JPEG file" and "Bogus Huffman table
        // definition" as one two-line g_warning.
        var damaged = TestData.Photo("truncated.jpg");

        var rejected = Assert.IsType<ValidationResult.Rejected>(ImageCodec.Validate(damaged));

        Assert.Equal(RejectionReason.Corrupt, rejected.Reason);
        Assert.DoesNotContain('\n', rejected.Message);
        var parts = rejected.Message.Split("; ");
        Assert.Equal(parts.Length, parts.Distinct().Count());
    }

    private static bool DecodesUnder(Enums.FailOn failOn, byte[] image)
    {
        try
        {
            return LibvipsGate.Run(() =>
            {
                using var decoded = NetVips.Image.NewFromBuffer(image, failOn: failOn);
                decoded.Avg();
                return true;
            });
        }
        catch (LibvipsException)
        {
            return false;
        }
    }
}
