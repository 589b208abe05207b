using Motif.Core.Annotations;

namespace Motif.Core.Tests.Annotations;

public sealed class AnnotationRulesTests
{
    private static AnnotationDraft Confirm(params string[] images) => new("ada", AnnotationLabel.Confirm, images) { ClusterId = "c1", RunId = "r1", ModelVersion = "m" };

    private static AnnotationRefusal Refusal(AnnotationDraft draft) =>
        Assert.Throws<AnnotationRefusedException>(() => AnnotationRules.Validate(draft)).Refusal;

    [Fact]
    public void A_well_formed_annotation_of_each_label_passes()
    {
        AnnotationRules.Validate(Confirm("a", "b"));
        AnnotationRules.Validate(Confirm("a", "b") with { Label = AnnotationLabel.Similar, Note = "two lines\nof note" });
        AnnotationRules.Validate(Confirm("a", "b") with { Label = AnnotationLabel.WrongCluster });
        AnnotationRules.Validate(new AnnotationDraft("Zoë Ångström", AnnotationLabel.WrongMember, ["a"]) { ClusterId = "c1", Others = ["b", "c"] });
        AnnotationRules.Validate(new AnnotationDraft("ada", AnnotationLabel.Undo, []) { Undoes = AnnotationIds.New(DateTimeOffset.UnixEpoch) });
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(" ada")]
    [InlineData("ada\n")]
    [InlineData("ada\u001b[31m")]
    [InlineData("ada\u202Eevil")]   // right-to-left override: shows another name
    [InlineData("a\u200Bda")]       // zero-width space: looks like "ada"
    [InlineData("ada\u2028")]       // line separator
    public void Hostile_or_empty_annotator_names_are_refused(string annotator)
    {
        Assert.Equal(AnnotationRefusal.Invalid, Refusal(Confirm("a", "b") with { Annotator = annotator }));
    }

    [Fact]
    public void An_unpaired_surrogate_is_refused()
    {
        Assert.Equal(AnnotationRefusal.Invalid, Refusal(Confirm("a", "b") with { Annotator = "ada" + '\uD800' }));
        Assert.Equal(AnnotationRefusal.Invalid, Refusal(Confirm("a", "b") with { Note = '\uDC00' + "note" }));
    }

    [Fact]
    public void Hostile_notes_cluster_ids_and_image_ids_are_refused_and_the_reason_is_printable()
    {
        Assert.Equal(AnnotationRefusal.Invalid, Refusal(Confirm("a", "b") with { Note = "ok\r\nforged log line" }));
        Assert.Equal(AnnotationRefusal.Invalid, Refusal(Confirm("a", "b") with { ClusterId = "c\u0007" }));
        var e = Assert.Throws<AnnotationRefusedException>(() => AnnotationRules.Validate(Confirm("a", "b\u001b]0;x\u0007")));
        Assert.DoesNotContain(e.Message, c => char.IsControl(c));
    }

    [Fact]
    public void Empty_selections_duplicates_and_misplaced_fields_are_refused()
    {
        Assert.Equal(AnnotationRefusal.Invalid, Refusal(Confirm()));
        Assert.Equal(AnnotationRefusal.Invalid, Refusal(Confirm("a")));
        Assert.Equal(AnnotationRefusal.Invalid, Refusal(Confirm("a", "a")));
        Assert.Equal(AnnotationRefusal.Invalid, Refusal(Confirm("a", "") ));
        Assert.Equal(AnnotationRefusal.Invalid, Refusal(Confirm("a", "b") with { ClusterId = null }));
        Assert.Equal(AnnotationRefusal.Invalid, Refusal(Confirm("a", "b") with { Others = ["c"] }));
        Assert.Equal(AnnotationRefusal.Invalid, Refusal(Confirm("a", "b") with { Undoes = AnnotationIds.New(DateTimeOffset.UnixEpoch) }));
        Assert.Equal(AnnotationRefusal.Invalid, Refusal(new AnnotationDraft("ada", AnnotationLabel.WrongMember, ["a"]) { ClusterId = "c" }));
        Assert.Equal(AnnotationRefusal.Invalid, Refusal(new AnnotationDraft("ada", AnnotationLabel.WrongMember, ["a"]) { ClusterId = "c", Others = ["a"] }));
        Assert.Equal(AnnotationRefusal.Invalid, Refusal(new AnnotationDraft("ada", AnnotationLabel.Undo, ["a"]) { Undoes = AnnotationIds.New(DateTimeOffset.UnixEpoch) }));
        Assert.Equal(AnnotationRefusal.Invalid, Refusal(new AnnotationDraft("ada", AnnotationLabel.Undo, []) { Undoes = "../../etc/passwd" }));
        Assert.Equal(AnnotationRefusal.Invalid, Refusal(Confirm("a", "b") with { Label = (AnnotationLabel)42 }));
    }

    [Fact]
    public void Oversized_selections_and_text_are_refused_as_too_large()
    {
        var many = Enumerable.Range(0, AnnotationRules.MaxImages + 1).Select(i => $"img{i}").ToArray();
        Assert.Equal(AnnotationRefusal.TooLarge, Refusal(Confirm(many)));
        AnnotationRules.Validate(Confirm(many[..AnnotationRules.MaxImages]));
        Assert.Equal(AnnotationRefusal.TooLarge, Refusal(Confirm("a", "b") with { Annotator = new string('x', AnnotationRules.MaxAnnotatorLength + 1) }));
        Assert.Equal(AnnotationRefusal.TooLarge, Refusal(Confirm("a", "b") with { Note = new string('x', AnnotationRules.MaxNoteLength + 1) }));
        Assert.Equal(AnnotationRefusal.TooLarge, Refusal(Confirm("a", new string('x', AnnotationRules.MaxImageIdLength + 1))));
    }

    [Fact]
    public void Ids_sort_by_time_and_only_well_formed_ids_are_valid()
    {
        var t = new DateTimeOffset(2026, 11, 30, 4, 5, 6, TimeSpan.Zero);
        var ids = new[] { t.AddTicks(1), t.AddDays(-400), t, t.AddSeconds(1) }.Select(AnnotationIds.New).ToArray();

        Assert.All(ids, id => Assert.True(AnnotationIds.IsValid(id)));
        Assert.Equal([ids[1], ids[2], ids[0], ids[3]], ids.Order(StringComparer.Ordinal));
        Assert.StartsWith("20261130T0405060000000Z-", ids[2]);
        Assert.Equal(AnnotationIds.Length, ids[2].Length);
        Assert.False(AnnotationIds.IsValid(ids[0].ToUpperInvariant()));
        Assert.False(AnnotationIds.IsValid(ids[0][..^1] + "/"));
        Assert.False(AnnotationIds.IsValid("20261330T0405060000000Z-0123456789abcdef"));
        Assert.False(AnnotationIds.IsValid(null));
    }

    [Fact]
    public void Labels_round_trip_through_their_names()
    {
        foreach (var label in Enum.GetValues<AnnotationLabel>())
        {
            Assert.Equal(label, AnnotationRules.ParseLabel(AnnotationRules.Label(label)));
        }
        Assert.Null(AnnotationRules.ParseLabel("Confirm"));
        Assert.Null(AnnotationRules.ParseLabel(null));
    }
}
