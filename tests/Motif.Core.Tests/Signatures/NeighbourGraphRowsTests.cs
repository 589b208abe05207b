using Motif.Core.Signatures;

namespace Motif.Core.Tests.Signatures;

/// <summary>Selecting, reordering and storing graph rows: the pieces that let a stored graph be updated incrementally.</summary>
public sealed class NeighbourGraphRowsTests
{
    private const int Dim = 24;
    private const double Radius = 0.35;

    private static float[] Rows(float[] all, IReadOnlyList<int> rows)
    {
        var selected = new float[rows.Count * Dim];
        for (var k = 0; k < rows.Count; k++)
        {
            all.AsSpan(rows[k] * Dim, Dim).CopyTo(selected.AsSpan(k * Dim, Dim));
        }
        return selected;
    }

    private static void AssertSame(NeighbourGraph expected, NeighbourGraph actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected.RowOffsets.ToArray(), actual.RowOffsets.ToArray());
        Assert.Equal(expected.NeighbourIndices.ToArray(), actual.NeighbourIndices.ToArray());
        Assert.Equal(expected.NeighbourDistances.ToArray(), actual.NeighbourDistances.ToArray());
    }

    [Fact]
    public void Selecting_rows_in_any_order_equals_building_over_those_rows_in_that_order()
    {
        var signatures = SyntheticSignatures.Clustered(300, Dim, 25, 0.25, seed: 11);
        var graph = NeighbourGraph.Build(signatures, Dim, Radius);
        Assert.True(graph.EntryCount > 300);
        var random = new Random(5);
        var subset = Enumerable.Range(0, 300).Where(_ => random.NextDouble() < 0.7).OrderBy(_ => random.Next()).ToArray();

        AssertSame(NeighbourGraph.Build(Rows(signatures, subset), Dim, Radius), graph.Select(subset));
        AssertSame(graph, graph.Select([.. Enumerable.Range(0, 300)]));
        Assert.Throws<ArgumentException>(() => graph.Select([1, 1]));
        Assert.Throws<ArgumentException>(() => graph.Select([300]));
    }

    [Fact]
    public void Cut_down_appended_and_reordered_equals_a_build_from_scratch()
    {
        // The incremental update the pipeline does: keep some rows, append new ones, restore the wanted order.
        var signatures = SyntheticSignatures.Clustered(240, Dim, 20, 0.25, seed: 3);
        var stored = NeighbourGraph.Build(signatures.AsMemory(0, 160 * Dim), Dim, Radius);
        int[] kept = [.. Enumerable.Range(0, 160).Where(i => i % 7 != 0)];
        int[] added = [.. Enumerable.Range(160, 80)];
        var appended = stored.Select(kept).Append(Rows(signatures, [.. kept, .. added]));
        var wanted = kept.Concat(added).OrderBy(i => (i * 37) % 241).ToArray();
        var position = wanted.Select(i => Array.IndexOf([.. kept, .. added], i)).ToArray();

        AssertSame(NeighbourGraph.Build(Rows(signatures, wanted), Dim, Radius), appended.Select(position));
    }

    [Fact]
    public void The_binary_form_round_trips_and_refuses_damage()
    {
        var graph = NeighbourGraph.Build(SyntheticSignatures.Clustered(120, Dim, 10, 0.25, seed: 8), Dim, Radius);
        using var stream = new MemoryStream();
        graph.WriteTo(stream);
        stream.Position = 0;
        var read = NeighbourGraph.ReadFrom(stream);
        AssertSame(graph, read);
        Assert.Equal((Dim, Radius), (read.Dimension, read.Radius));

        var bytes = stream.ToArray();
        Assert.Throws<InvalidDataException>(() => NeighbourGraph.ReadFrom(new MemoryStream(bytes[..^8])));
        var wrongMagic = (byte[])bytes.Clone();
        wrongMagic[0] = (byte)'X';
        Assert.Throws<InvalidDataException>(() => NeighbourGraph.ReadFrom(new MemoryStream(wrongMagic)));
        // An index pointing outside the graph (first index entry, after the header and the offsets).
        var badIndex = (byte[])bytes.Clone();
        BitConverter.GetBytes(int.MaxValue).CopyTo(badIndex, 36 + (graph.Count + 1) * sizeof(int));
        Assert.Throws<InvalidDataException>(() => NeighbourGraph.ReadFrom(new MemoryStream(badIndex)));
    }
}
