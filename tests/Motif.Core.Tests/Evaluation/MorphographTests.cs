using Motif.Core.Evaluation;

namespace Motif.Core.Tests.Evaluation;

public sealed class MorphographTests
{
    private static Morphograph Parse(string csv) => Morphograph.Read(new StringReader(csv));

    private static string FormatError(string csv) => Assert.Throws<FormatException>(() => Parse(csv)).Message;

    [Fact]
    public void Reads_the_research_columns()
    {
        var graph = Parse(
            "uid_connection,type,img1,img2,date,cluster_file,cluster\n" +
            "c1,POSITIVE,a,b,2022-05-01,Original,3\n" +
            "c2,DUPLICATE,b,c,,,\n" +
            "c3,NON-DUPLICATE,c,d,,,\n" +
            "c4,SIMILAR,d,e,,,\n" +
            "c5,PROPOSAL,e,f,,,\n" +
            "c6,NEGATIVE,f,a,,,\n");

        Assert.Equal(6, graph.Edges.Count);
        Assert.Equal(new MorphographEdge("a", "b", MorphographEdgeType.Positive) { Uid = "c1" }, graph.Edges[0]);
        Assert.Equal(
            [MorphographEdgeType.Positive, MorphographEdgeType.Duplicate, MorphographEdgeType.NonDuplicate,
             MorphographEdgeType.Similar, MorphographEdgeType.Proposal, MorphographEdgeType.Negative],
            graph.Edges.Select(e => e.Type));
        Assert.Equal(["a", "b", "c", "d", "e", "f"], graph.Images);
    }

    [Fact]
    public void Takes_the_column_order_from_the_header_and_ignores_case_spaces_extra_columns_and_a_bom()
    {
        var graph = Parse("\uFEFFimg2 , Unnamed: 0,IMG1,Type\r\nb,0,a,positive\r\nd,1,c,Similar\r\n");

        Assert.Equal(
            [new MorphographEdge("a", "b", MorphographEdgeType.Positive), new MorphographEdge("c", "d", MorphographEdgeType.Similar)],
            graph.Edges);
        Assert.All(graph.Edges, e => Assert.Null(e.Uid));
    }

    [Fact]
    public void Reads_rfc_4180_quoting()
    {
        // A comma, a doubled quote and a line break inside quoted fields; a quoted type; CRLF, LF and CR line ends;
        // a blank line; no final line end.
        var graph = Parse(
            "type,img1,img2\r\n" +
            "POSITIVE,\"a,1\",\"say \"\"hi\"\"\"\n" +
            "\n" +
            "\"DUPLICATE\",\"two\r\nlines\",x\r" +
            "NEGATIVE,\"z\",y");

        Assert.Equal(3, graph.Edges.Count);
        Assert.Equal(new MorphographEdge("a,1", "say \"hi\"", MorphographEdgeType.Positive), graph.Edges[0]);
        Assert.Equal(new MorphographEdge("two\r\nlines", "x", MorphographEdgeType.Duplicate), graph.Edges[1]);
        Assert.Equal(new MorphographEdge("z", "y", MorphographEdgeType.Negative), graph.Edges[2]);
    }

    [Fact]
    public void An_empty_quoted_image_id_is_an_error_with_its_line()
    {
        // Lines: 1 header, 2–3 a record whose quoted field spans two lines, 4 blank, 5 the bad record.
        var message = FormatError("type,img1,img2\nPOSITIVE,\"a\nb\",c\n\nNEGATIVE,\"\",y\n");
        Assert.StartsWith("Line 5:", message);
        Assert.Contains("img1 is empty", message);
    }

    [Fact]
    public void Unknown_types_are_refused_with_the_line_number()
    {
        var message = FormatError("type,img1,img2\nPOSITIVE,a,b\nMAYBE,e,f\n");
        Assert.StartsWith("Line 3:", message);
        Assert.Contains("unknown connection type 'MAYBE'", message);
        Assert.Contains("POSITIVE, DUPLICATE, SIMILAR, NON-DUPLICATE, PROPOSAL or NEGATIVE", message);

        // Line numbers count the physical lines of earlier multi-line fields (here a CRLF inside quotes).
        message = FormatError("type,img1,img2\nPOSITIVE,\"a\r\nb\",c\nMAYBE,e,f\n");
        Assert.StartsWith("Line 4:", message);

        // A record is reported at the line where it starts.
        message = FormatError("type,img1,img2\r\nPOSITIVE,a,b\r\n\"x\r\ny\",c,d\r\n");
        Assert.StartsWith("Line 3:", message);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("type,img1\nPOSITIVE,a\n", "Line 1: the header lacks the column(s) img2")]
    [InlineData("type,img1,img2,TYPE\n", "Line 1: the header names the column 'TYPE' twice")]
    [InlineData("type,img1,img2\nPOSITIVE,a\n", "Line 2: 2 field(s) where the header has 3")]
    [InlineData("type,img1,img2\nPOSITIVE,a,b,c\n", "Line 2: 4 field(s) where the header has 3")]
    [InlineData("type,img1,img2\nPOSITIVE,a,b\nPOSITIVE,\"a,b\n", "Line 3: a quoted field is not closed")]
    [InlineData("type,img1,img2\nPOSITIVE,a\"b,c\n", "Line 2: a quote inside an unquoted field")]
    [InlineData("type,img1,img2\nPOSITIVE,\"a\"b,c\n", "Line 2: 'b' after the closing quote")]
    [InlineData("type,img1,img2\nPOSITIVE,a,\n", "Line 2: img2 is empty")]
    public void Malformed_csv_is_refused_with_a_clear_message(string csv, string expected)
    {
        Assert.Contains(expected, FormatError(csv));
    }

    [Fact]
    public void Positive_neighbours_follow_positive_and_duplicate_edges_both_ways()
    {
        var graph = Morphograph.FromEdges(
        [
            new("a", "b", MorphographEdgeType.Positive),
            new("c", "a", MorphographEdgeType.Duplicate),
            new("a", "d", MorphographEdgeType.Similar),
            new("a", "e", MorphographEdgeType.Negative),
            new("a", "f", MorphographEdgeType.Proposal),
            new("a", "g", MorphographEdgeType.NonDuplicate),
            new("a", "a", MorphographEdgeType.Positive),   // a self-loop makes no neighbour
            new("b", "a", MorphographEdgeType.Positive),   // a repeated edge changes nothing
            new("e", "a", MorphographEdgeType.Positive),   // positive wins over a conflicting NEGATIVE
        ]);

        Assert.Equal(["b", "c", "e"], graph.PositiveNeighbours("a"));
        Assert.Equal(["a"], graph.PositiveNeighbours("c"));
        Assert.Empty(graph.PositiveNeighbours("d"));
        Assert.Empty(graph.PositiveNeighbours("unknown"));
        // The original code's relevance: POSITIVE edges only.
        Assert.Equal(["b", "e"], graph.Neighbours("a", MorphographEdgeType.Positive));
        Assert.Equal(["d", "g"], graph.Neighbours("a", MorphographEdgeType.Similar, MorphographEdgeType.NonDuplicate));
        Assert.Equal(["a", "b", "c", "d", "e", "f", "g"], graph.Images);
        Assert.True(Morphograph.IsPositive(MorphographEdgeType.Duplicate));
        Assert.False(Morphograph.IsPositive(MorphographEdgeType.Similar));
    }

    [Fact]
    public void Components_are_positive_connected_sets_in_a_deterministic_order()
    {
        var graph = Morphograph.FromEdges(
        [
            new("z", "y", MorphographEdgeType.Positive),
            new("m", "n", MorphographEdgeType.Positive),
            new("y", "b", MorphographEdgeType.Duplicate),
            new("n", "c", MorphographEdgeType.Positive),
            new("c", "k", MorphographEdgeType.Similar),     // not positive: k stays out
            new("q", "q", MorphographEdgeType.Positive),    // a self-loop only: q is in no component
            new("a", "x", MorphographEdgeType.Negative),
        ]);

        var components = graph.Components();

        // Members in ordinal order; components ordered by their first member.
        Assert.Equal(2, components.Count);
        Assert.Equal(["b", "y", "z"], components[0]);
        Assert.Equal(["c", "m", "n"], components[1]);
        Assert.Same(components, graph.Components());
    }

    [Fact]
    public void Reading_and_building_agree()
    {
        var read = Parse("type,img1,img2\nPOSITIVE,a,b\nPOSITIVE,c,b\nSIMILAR,d,a\n");
        var built = Morphograph.FromEdges(read.Edges);
        Assert.Equal(read.Components(), built.Components());
        Assert.Equal(read.Images, built.Images);
    }

    [Fact]
    public void Edges_must_name_two_images()
    {
        Assert.Throws<ArgumentException>(() => Morphograph.FromEdges([new("a", "", MorphographEdgeType.Positive)]));
        Assert.Throws<ArgumentException>(() => Morphograph.FromEdges([new("a", "b", (MorphographEdgeType)42)]));
        Assert.Throws<ArgumentException>(() => Morphograph.FromEdges([null!]));
    }

    [Theory]
    [InlineData("Positive", MorphographEdgeType.Positive)]
    [InlineData(" non-duplicate ", MorphographEdgeType.NonDuplicate)]
    [InlineData("NEGATIVE", MorphographEdgeType.Negative)]
    [InlineData("NON_DUPLICATE", null)]
    [InlineData("", null)]
    public void Types_are_parsed_case_insensitively(string text, MorphographEdgeType? expected)
    {
        Assert.Equal(expected, Morphograph.ParseType(text));
    }
}
