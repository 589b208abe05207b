using System.Text;
using Motif.Core.Evaluation;

namespace Motif.Core.Tests.Evaluation;

public sealed class MorphographSplitTests
{
    private static MorphographEdge Positive(string a, string b) => new(a, b, MorphographEdgeType.Positive);

    private static MorphographDuplicates Merge(IEnumerable<MorphographEdge> edges) => MorphographDuplicates.Of(Morphograph.FromEdges(edges));

    /// <summary>Pairs (c{i}-a, c{i}-b): one two-image component per i.</summary>
    private static IEnumerable<MorphographEdge> Pairs(int count, string prefix = "c") =>
        Enumerable.Range(0, count).Select(i => Positive($"{prefix}{i:D5}-a", $"{prefix}{i:D5}-b"));

    /// <summary>The smallest id (of a two-image component from <see cref="Pairs"/>) whose hash gives <paramref name="part"/>.</summary>
    private static string ComponentIn(SplitPart part, string prefix) =>
        Enumerable.Range(0, 1000).Select(i => $"{prefix}{i:D5}-a").First(id => MorphographSplit.HashedPart(id, SplitRatios.Research) == part);

    [Fact]
    public void Every_image_of_a_component_is_in_one_part_and_only_component_images_have_a_part()
    {
        var duplicates = Merge([.. Pairs(200), Positive("c00000-b", "c00001-a"), new MorphographEdge("s1", "s2", MorphographEdgeType.Similar)]);

        var extension = MorphographSplit.Empty().Extend(duplicates);

        Assert.Equal(199, extension.Components);
        Assert.Equal(199, extension.NewComponents);
        Assert.Empty(extension.Moves);
        foreach (var component in duplicates.Merged.Components())
        {
            Assert.Single(component.Select(id => extension.Split.PartOf(id)).Distinct());
        }
        Assert.Equal(400, extension.Split.Parts.Count);
        Assert.Null(extension.Split.PartOf("s1"));
    }

    [Fact]
    public void The_split_does_not_depend_on_input_order()
    {
        var edges = Pairs(300).Concat([Positive("c00005-b", "c00007-a"), Positive("c00100-a", "c00200-b")]).ToArray();
        var reversed = Enumerable.Reverse(edges).Select(e => e with { Image1 = e.Image2, Image2 = e.Image1 });

        var forward = MorphographSplit.Empty().Extend(Merge(edges)).Split;
        var backward = MorphographSplit.Empty().Extend(Merge(reversed)).Split;

        Assert.Equal(forward.ToJson(), backward.ToJson());
        Assert.Equal(forward.Parts, backward.Parts);
    }

    [Fact]
    public void A_component_s_part_depends_on_its_smallest_id_only_not_on_other_components()
    {
        var alone = MorphographSplit.Empty().Extend(Merge(Pairs(1))).Split;
        var among = MorphographSplit.Empty().Extend(Merge(Pairs(500))).Split;

        Assert.Equal(alone.PartOf("c00000-a"), among.PartOf("c00000-a"));
        Assert.Equal(MorphographSplit.HashedPart("c00000-a", SplitRatios.Research), alone.PartOf("c00000-b"));
    }

    [Theory]
    [InlineData(2.0 / 3, 1.0 / 6, 1.0 / 6)]
    [InlineData(0.7, 0.15, 0.15)]
    public void The_ratios_hold_over_a_few_thousand_components(double train, double validation, double test)
    {
        // Deterministic hashing: the same ids always give the same counts, so this tolerance cannot flake. With 4,000
        // components a part's share has a standard deviation under 0.008; 0.03 is about four of them.
        var split = MorphographSplit.Empty(new SplitRatios(train, validation, test)).Extend(Merge(Pairs(4000))).Split;

        Assert.InRange(split.ImagesOf(SplitPart.Train).Count / 8000.0, train - 0.03, train + 0.03);
        Assert.InRange(split.ImagesOf(SplitPart.Validation).Count / 8000.0, validation - 0.03, validation + 0.03);
        Assert.InRange(split.ImagesOf(SplitPart.Test).Count / 8000.0, test - 0.03, test + 0.03);
    }

    [Fact]
    public void A_new_edge_joining_a_test_and_a_train_component_keeps_the_test_images_in_test_and_reports_the_moved_ones()
    {
        var test = ComponentIn(SplitPart.Test, "t")[..^2];
        var train = ComponentIn(SplitPart.Train, "r")[..^2];
        MorphographEdge[] before = [Positive($"{test}-a", $"{test}-b"), Positive($"{train}-a", $"{train}-b")];
        var stored = MorphographSplit.Empty().Extend(Merge(before)).Split;
        Assert.Equal(SplitPart.Test, stored.PartOf($"{test}-a"));
        Assert.Equal(SplitPart.Train, stored.PartOf($"{train}-a"));

        // Stored and read back, as the CLI does, then extended by an annotation joining the two components.
        var reread = MorphographSplit.Parse(stored.ToJson());
        var extension = reread.Extend(Merge([.. before, Positive($"{train}-b", $"{test}-b")]));

        Assert.All(new[] { $"{test}-a", $"{test}-b", $"{train}-a", $"{train}-b" }, id => Assert.Equal(SplitPart.Test, extension.Split.PartOf(id)));
        var component = string.CompareOrdinal(test, train) < 0 ? $"{test}-a" : $"{train}-a";
        Assert.Equal(
            [new SplitMove($"{train}-a", SplitPart.Train, SplitPart.Test, component), new SplitMove($"{train}-b", SplitPart.Train, SplitPart.Test, component)],
            extension.Moves);
        Assert.Equal(0, extension.NewComponents);
    }

    [Fact]
    public void Validation_outranks_train_and_test_outranks_validation()
    {
        var validation = ComponentIn(SplitPart.Validation, "v")[..^2];
        var test = ComponentIn(SplitPart.Test, "t")[..^2];
        var train = ComponentIn(SplitPart.Train, "r")[..^2];
        MorphographEdge[] before = [Positive($"{validation}-a", $"{validation}-b"), Positive($"{train}-a", $"{train}-b"), Positive($"{test}-a", $"{test}-b")];
        var stored = MorphographSplit.Empty().Extend(Merge(before)).Split;

        var joined = stored.Extend(Merge([.. before, Positive($"{validation}-a", $"{train}-a")])).Split;
        Assert.Equal(SplitPart.Validation, joined.PartOf($"{train}-b"));

        var all = joined.Extend(Merge([.. before, Positive($"{validation}-a", $"{train}-a"), Positive($"{validation}-b", $"{test}-a")]));
        Assert.All(all.Split.Parts.Values, part => Assert.Equal(SplitPart.Test, part));
        Assert.Equal(4, all.Moves.Count);
        Assert.All(all.Moves, m => Assert.True(m.To > m.From));
    }

    [Fact]
    public void New_components_do_not_disturb_old_assignments_and_an_added_image_joins_its_component_s_part()
    {
        var test = ComponentIn(SplitPart.Test, "t")[..^2];
        var before = Pairs(300).Append(Positive($"{test}-a", $"{test}-b")).ToArray();
        var stored = MorphographSplit.Empty().Extend(Merge(before)).Split;

        // 300 new components, and an annotation adding "zz-new" (whose own hash could say anything) to the test component.
        var extension = stored.Extend(Merge([.. before, .. Pairs(300, "n"), Positive("zz-new", $"{test}-b")]));

        Assert.Empty(extension.Moves);
        Assert.Equal(300, extension.NewComponents);
        Assert.All(stored.Parts, p => Assert.Equal(p.Value, extension.Split.PartOf(p.Key)));
        Assert.Equal(SplitPart.Test, extension.Split.PartOf("zz-new"));
        Assert.Equal(stored.Parts.Count + 601, extension.Split.Parts.Count);
    }

    [Fact]
    public void An_image_keeps_its_part_when_its_edges_go_and_a_duplicate_carries_its_group_s_part()
    {
        var test = ComponentIn(SplitPart.Test, "t")[..^2];
        var stored = MorphographSplit.Empty().Extend(Merge([Positive($"{test}-a", $"{test}-b")])).Split;

        // The edge is gone from the new CSV: the images keep their part.
        var dropped = stored.Extend(Merge([Positive("other-a", "other-b")])).Split;
        Assert.Equal(SplitPart.Test, dropped.PartOf($"{test}-a"));

        // A new photograph "0-photo" (ordinally smaller, so it becomes the canonical id) is a duplicate of a test image:
        // its group, and so every photograph of the artwork, stays in test.
        var duplicated = stored.Extend(Merge([Positive($"{test}-a", $"{test}-b"), new MorphographEdge("0-photo", $"{test}-a", MorphographEdgeType.Duplicate)]));
        Assert.Equal(SplitPart.Test, duplicated.Split.PartOf("0-photo"));
        Assert.Equal(SplitPart.Test, duplicated.Split.PartOf($"{test}-a"));
        Assert.Empty(duplicated.Moves);
    }

    [Fact]
    public void Json_round_trips_byte_for_byte()
    {
        var split = MorphographSplit.Empty(new SplitRatios(0.7, 0.15, 0.15)).Extend(Merge([.. Pairs(50), Positive("é\"quoted\"", "ü\nline")])).Split;

        var json = split.ToJson();
        var back = MorphographSplit.Parse(json);

        Assert.Equal(split.Ratios, back.Ratios);
        Assert.Equal(split.Parts, back.Parts);
        Assert.Equal(json, back.ToJson());
        var text = Encoding.UTF8.GetString(json);
        Assert.StartsWith("{\n  \"schemaVersion\": 1,", text);
        Assert.DoesNotContain("\r", text);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"schemaVersion\": 2, \"ratios\": {\"train\": 1, \"validation\": 0, \"test\": 0}, \"train\": [], \"validation\": [], \"test\": []}")]
    [InlineData("{\"schemaVersion\": 1, \"ratios\": {\"train\": 0.9, \"validation\": 0, \"test\": 0}, \"train\": [], \"validation\": [], \"test\": []}")]
    [InlineData("{\"schemaVersion\": 1, \"ratios\": {\"train\": 1, \"validation\": 0, \"test\": 0}, \"train\": [\"a\"], \"validation\": [], \"test\": [\"a\"]}")]
    [InlineData("{\"schemaVersion\": 1, \"ratios\": {\"train\": 1, \"validation\": 0, \"test\": 0}, \"train\": []}")]
    public void Parse_refuses_what_is_not_a_split(string json) =>
        Assert.Throws<FormatException>(() => MorphographSplit.Parse(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void The_data_version_changes_with_an_edge_or_an_assignment_and_not_otherwise()
    {
        var test = ComponentIn(SplitPart.Test, "t")[..^2];
        var train = ComponentIn(SplitPart.Train, "r")[..^2];
        MorphographEdge[] edges = [Positive($"{test}-a", $"{test}-b"), Positive($"{train}-a", $"{train}-b"), new("s", "q", MorphographEdgeType.Similar) { Uid = "u1" }];
        var graph = Morphograph.FromEdges(edges);
        var split = MorphographSplit.Empty().Extend(MorphographDuplicates.Of(graph)).Split;
        var version = MorphographDataVersion.Of(graph, split);

        Assert.Matches("^[0-9a-f]{64}$", version);
        // Reordered, reversed, repeated, other uids, a split parsed back: the same data.
        var same = Morphograph.FromEdges(Enumerable.Reverse(edges).Select(e => e with { Image1 = e.Image2, Image2 = e.Image1, Uid = "other" }).Append(edges[0]));
        Assert.Equal(version, MorphographDataVersion.Of(same, MorphographSplit.Parse(split.ToJson())));
        // An edge added, or retyped.
        Assert.NotEqual(version, MorphographDataVersion.Of(Morphograph.FromEdges([.. edges, Positive("s", "q")]), split));
        Assert.NotEqual(version, MorphographDataVersion.Of(Morphograph.FromEdges([.. edges[..2], new("s", "q", MorphographEdgeType.Negative)]), split));
        // An assignment changed: the train component joined to the test one moves into test.
        var moved = split.Extend(MorphographDuplicates.Of(Morphograph.FromEdges([.. edges, Positive($"{test}-a", $"{train}-a")]))).Split;
        Assert.NotEqual(version, MorphographDataVersion.Of(graph, moved));
    }
}
