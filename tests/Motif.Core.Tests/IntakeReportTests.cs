namespace Motif.Core.Tests;

public sealed class IntakeReportTests
{
    [Fact]
    public void Every_reason_has_a_distinct_code_that_parses_back()
    {
        var reasons = Enum.GetValues<RejectionReason>();

        Assert.Equal(reasons.Length, reasons.Select(r => r.Code()).Distinct().Count());
        Assert.All(reasons, r => Assert.Equal(r, RejectionReasons.Parse(r.Code())));
        Assert.Equal("too-many-pixels", RejectionReason.TooManyPixels.Code());
        Assert.Throws<FormatException>(() => RejectionReasons.Parse("exploded"));
    }

    [Fact]
    public void Report_counts_by_format_and_reason_and_finds_duplicate_content()
    {
        var a = ContentHash.Of([1]);
        var b = ContentHash.Of([2]);
        var report = new IntakeReport(
        [
            new("z/copy-of-a.jpg", 10, a, "jpeg", null, null),
            new("a.jpg", 10, a, "jpeg", null, null),
            new("b.png", 12, b, "png", null, null),
            new("broken.jpg", 5, ContentHash.Of([3]), null, RejectionReason.Corrupt, "Premature end of JPEG file"),
            new("empty.jpg", 0, ContentHash.Of([]), null, RejectionReason.Empty, "The file is empty."),
            new("huge.tif", 1L << 40, null, null, RejectionReason.FileTooLarge, "too large"),
        ]);

        Assert.Equal((3, 3), (report.Accepted, report.Rejected));
        Assert.Equal(new Dictionary<string, int> { ["jpeg"] = 2, ["png"] = 1 }, report.AcceptedByFormat);
        Assert.Equal(
            [KeyValuePair.Create(RejectionReason.Empty, 1), KeyValuePair.Create(RejectionReason.FileTooLarge, 1), KeyValuePair.Create(RejectionReason.Corrupt, 1)],
            report.RejectedByReason);
        Assert.Equal(1, report.DuplicateContent);
        Assert.Equal("a.jpg", report.Items[0].Path);
    }

    [Fact]
    public void A_path_may_appear_only_once()
    {
        var item = new IntakeItem("a.jpg", 1, null, "jpeg", null, null);

        Assert.Throws<ArgumentException>(() => new IntakeReport([item, item]));
    }
}
