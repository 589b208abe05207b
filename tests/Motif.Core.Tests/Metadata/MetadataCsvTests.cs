using Motif.Core.Metadata;

namespace Motif.Core.Tests.Metadata;

public sealed class MetadataCsvTests
{
    private static MetadataSheet Read(string text) => MetadataCsv.Read(new StringReader(text));

    [Fact]
    public void PixPlot_columns_are_read_in_any_order_and_case_with_their_aliases()
    {
        var sheet = Read(
            "\uFEFFYear,FILENAME,Creator,Title,Category,Permalink,Description,Accession\n" +
            "1503,coffee.png,Leonardo,\"Mona Lisa, or La Gioconda\",Paintings,https://example.org/works/1?x=1,\"Oil on\npoplar\",INV 779\n" +
            "\n" +
            "c. 1890,sub/rocket.jpg,,A rocket,,,,\n");
        Assert.Equal(2, sheet.Records);
        Assert.Empty(sheet.Refused);
        Assert.Empty(sheet.Notes);
        Assert.Equal(["Accession"], sheet.IgnoredColumns);
        var first = sheet.Rows[0];
        Assert.Equal("coffee.png", first.FileName);
        Assert.Equal(new ImageMetadata("Mona Lisa, or La Gioconda", "Leonardo", "1503", "Paintings", "https://example.org/works/1?x=1", "Oil on poplar"), first.Metadata);
        Assert.Equal(2, first.Line);
        Assert.Equal("sub/rocket.jpg", sheet.Rows[1].FileName);
        Assert.Equal(new ImageMetadata("A rocket", null, "c. 1890", null, null, null), sheet.Rows[1].Metadata);
        Assert.Equal(5, sheet.Rows[1].Line);
    }

    [Theory]
    [InlineData("javascript:alert(1)")]
    [InlineData("JavaScript:alert(1)")]
    [InlineData(" javascript:alert(1)")]
    [InlineData("data:text/html,<script>alert(1)</script>")]
    [InlineData("/relative/page")]
    [InlineData("//evil.example/x")]
    [InlineData("ftp://example.org/x")]
    [InlineData("https://user:secret@example.org/")]
    [InlineData("java\tscript:alert(1)")]
    public void A_link_that_is_not_absolute_http_is_dropped_and_the_row_kept(string link)
    {
        var sheet = Read($"filename,title,permalink\na.jpg,A,\"{link}\"\n");
        var row = Assert.Single(sheet.Rows);
        Assert.Null(row.Metadata.Source);
        Assert.Equal("A", row.Metadata.Title);
        Assert.Contains("link was dropped", Assert.Single(sheet.Notes).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Control_and_bidi_characters_are_removed_and_markup_and_formulas_are_kept_as_text()
    {
        var sheet = Read("filename,title,artist,date\n" +
            "a.jpg,\"<script>alert(1)</script>\",\"\u202Eevil\u2066 \u0007name\u200B\",\"=HYPERLINK(\"\"http://x\"\")\"\n");
        var row = Assert.Single(sheet.Rows);
        Assert.Equal("<script>alert(1)</script>", row.Metadata.Title);
        Assert.Equal("evil name", row.Metadata.Artist);
        Assert.Equal("=HYPERLINK(\"http://x\")", row.Metadata.Date);
        Assert.Contains("removed from the artist", Assert.Single(sheet.Notes).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_oversized_field_is_cut_with_an_ellipsis_and_noted()
    {
        var sheet = Read($"filename,title,description\na.jpg,{new string('t', 2000)},{new string('d', 6000)}\n");
        var row = Assert.Single(sheet.Rows);
        Assert.Equal(500, row.Metadata.Title!.Length);
        Assert.EndsWith("…", row.Metadata.Title, StringComparison.Ordinal);
        Assert.Equal(5000, row.Metadata.Description!.Length);
        var note = Assert.Single(sheet.Notes).Message;
        Assert.Contains("title was cut", note, StringComparison.Ordinal);
        Assert.Contains("description was cut", note, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("../outside.jpg", "not a relative path")]
    [InlineData("/etc/passwd", "not a relative path")]
    [InlineData("a//b.jpg", "not a relative path")]
    [InlineData("a\\b.jpg", "U+005C")]
    [InlineData("a\u202Eb.jpg", "U+202E")]
    public void A_record_whose_filename_is_unusable_is_refused_with_its_line(string fileName, string reason)
    {
        var sheet = Read($"filename,title\nok.jpg,fine\n\"{fileName}\",bad\n");
        Assert.Equal(2, sheet.Records);
        Assert.Equal("ok.jpg", Assert.Single(sheet.Rows).FileName);
        var refused = Assert.Single(sheet.Refused);
        Assert.Equal(3, refused.Line);
        Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\u202E', refused.Message);
    }

    [Fact]
    public void Malformed_quoting_refuses_that_record_only()
    {
        var sheet = Read("filename,title\na.jpg,\"ok\"x\nb.jpg,fine\n");
        Assert.Equal(2, sheet.Records);
        Assert.Equal("b.jpg", Assert.Single(sheet.Rows).FileName);
        Assert.Contains("Malformed quoting", Assert.Single(sheet.Refused).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unclosed_quote_swallowing_the_file_is_one_refused_record()
    {
        var sheet = Read("filename,title\na.jpg,fine\nb.jpg,\"never closed" + new string('x', 100_000) + "\nc.jpg,lost\n");
        Assert.Equal("a.jpg", Assert.Single(sheet.Rows).FileName);
        Assert.Single(sheet.Refused);
        Assert.Equal(sheet.Records, sheet.Rows.Count + sheet.Refused.Count);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("title,artist\nx,y\n", "no filename column")]
    [InlineData("filename,file,title\n", "twice")]
    public void A_file_without_a_usable_header_is_refused_whole(string text, string reason)
    {
        var error = Assert.Throws<FormatException>(() => Read(text));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }
}
