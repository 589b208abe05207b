using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Motif.Core.Signatures;

/// <summary>Selecting and reordering rows, and a binary form for storage: what keeps a graph across runs.</summary>
public sealed partial class NeighbourGraph
{
    private static ReadOnlySpan<byte> Magic => "MOTIFNG1"u8;

    /// <summary>
    /// The graph over a subset of this graph's rows, in a new order: row k of the result is row
    /// <paramref name="rows"/>[k] of this graph. Pairs with an unselected row are dropped; each row's neighbours
    /// are re-sorted by (distance, new index), the order <see cref="Build(ReadOnlyMemory{float}, int, double, NeighbourGraphOptions, int, CancellationToken)"/> gives, so the result equals building
    /// the graph from scratch over the selected signatures in that order. No distance is recomputed.
    /// </summary>
    /// <exception cref="ArgumentException">A row is out of range or selected twice.</exception>
    public NeighbourGraph Select(IReadOnlyList<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var newIndex = new int[Count];
        Array.Fill(newIndex, -1);
        for (var k = 0; k < rows.Count; k++)
        {
            var r = rows[k];
            if ((uint)r >= (uint)Count || newIndex[r] >= 0)
            {
                throw new ArgumentException($"Row {r} is out of range or selected twice.", nameof(rows));
            }
            newIndex[r] = k;
        }
        var offsets = new int[rows.Count + 1];
        var indices = new List<int>(_indices.Length);
        var distances = new List<double>(_indices.Length);
        var squaredNorms = new double[rows.Count];
        var entries = new List<(double Distance, int Index)>();
        for (var k = 0; k < rows.Count; k++)
        {
            var r = rows[k];
            squaredNorms[k] = _squaredNorms[r];
            entries.Clear();
            for (var e = _offsets[r]; e < _offsets[r + 1]; e++)
            {
                if (newIndex[_indices[e]] is var j and >= 0)
                {
                    entries.Add((_distances[e], j));
                }
            }
            entries.Sort();
            foreach (var (distance, index) in entries)
            {
                indices.Add(index);
                distances.Add(distance);
            }
            offsets[k + 1] = indices.Count;
        }
        return new NeighbourGraph(Dimension, Radius, offsets, [.. indices], [.. distances], squaredNorms);
    }

    /// <summary>The graph without the pairs <paramref name="keep"/> refuses: it is asked once per pair, (i, j) with
    /// i &lt; j, and the pair leaves both rows. Rows, order, distances and norms are unchanged.</summary>
    public NeighbourGraph Where(Func<int, int, double, bool> keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        // One verdict per pair, asked from its lower row, serves both of its rows.
        var refused = new HashSet<(int, int)>();
        for (var i = 0; i < Count; i++)
        {
            for (var e = _offsets[i]; e < _offsets[i + 1]; e++)
            {
                if (_indices[e] > i && !keep(i, _indices[e], _distances[e]))
                {
                    refused.Add((i, _indices[e]));
                }
            }
        }
        var offsets = new int[Count + 1];
        var indices = new List<int>(_indices.Length);
        var distances = new List<double>(_indices.Length);
        for (var i = 0; i < Count; i++)
        {
            // Rows stay sorted by (distance, index): entries are only left out.
            for (var e = _offsets[i]; e < _offsets[i + 1]; e++)
            {
                var j = _indices[e];
                if (!refused.Contains(i < j ? (i, j) : (j, i)))
                {
                    indices.Add(j);
                    distances.Add(_distances[e]);
                }
            }
            offsets[i + 1] = indices.Count;
        }
        return new NeighbourGraph(Dimension, Radius, offsets, [.. indices], [.. distances], _squaredNorms);
    }

    /// <summary>
    /// Writes the graph: "MOTIFNG1", dimension (int32), radius (float64), rows and entries (int64), then the CSR
    /// offsets (int32), indices (int32), distances (float64) and the rows' squared norms (float64), little-endian.
    /// </summary>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> header = stackalloc byte[36];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], Dimension);
        BinaryPrimitives.WriteDoubleLittleEndian(header[12..], Radius);
        BinaryPrimitives.WriteInt64LittleEndian(header[20..], Count);
        BinaryPrimitives.WriteInt64LittleEndian(header[28..], _indices.Length);
        stream.Write(header);
        RequireLittleEndian();
        stream.Write(MemoryMarshal.AsBytes(_offsets.AsSpan()));
        stream.Write(MemoryMarshal.AsBytes(_indices.AsSpan()));
        stream.Write(MemoryMarshal.AsBytes(_distances.AsSpan()));
        stream.Write(MemoryMarshal.AsBytes(_squaredNorms.AsSpan()));
    }

    /// <summary>Reads a graph written by <see cref="WriteTo"/>, checking its shape and every index.</summary>
    /// <exception cref="InvalidDataException">Not such a graph, truncated, or inconsistent.</exception>
    public static NeighbourGraph ReadFrom(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        RequireLittleEndian();
        Span<byte> header = stackalloc byte[36];
        Fill(stream, header);
        if (!header[..8].SequenceEqual(Magic))
        {
            throw new InvalidDataException("Not a Motif neighbour graph.");
        }
        var dimension = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        var radius = BinaryPrimitives.ReadDoubleLittleEndian(header[12..]);
        var count = BinaryPrimitives.ReadInt64LittleEndian(header[20..]);
        var entries = BinaryPrimitives.ReadInt64LittleEndian(header[28..]);
        if (dimension < 1 || !(radius >= 0) || count is < 0 or > int.MaxValue - 1 || entries is < 0 or > int.MaxValue)
        {
            throw new InvalidDataException("The neighbour graph's header is inconsistent.");
        }
        var offsets = new int[count + 1];
        var indices = new int[entries];
        var distances = new double[entries];
        var squaredNorms = new double[count];
        Fill(stream, MemoryMarshal.AsBytes(offsets.AsSpan()));
        Fill(stream, MemoryMarshal.AsBytes(indices.AsSpan()));
        Fill(stream, MemoryMarshal.AsBytes(distances.AsSpan()));
        Fill(stream, MemoryMarshal.AsBytes(squaredNorms.AsSpan()));
        if (offsets[0] != 0 || offsets[^1] != entries)
        {
            throw new InvalidDataException("The neighbour graph's row offsets do not cover its entries.");
        }
        for (var i = 0; i < count; i++)
        {
            if (offsets[i + 1] < offsets[i])
            {
                throw new InvalidDataException("The neighbour graph's row offsets decrease.");
            }
        }
        foreach (var index in indices)
        {
            if ((uint)index >= (ulong)count)
            {
                throw new InvalidDataException("A neighbour index is out of range.");
            }
        }
        return new NeighbourGraph(dimension, radius, offsets, indices, distances, squaredNorms);
    }

    private static void Fill(Stream stream, Span<byte> buffer)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("The neighbour graph is truncated.", e);
        }
    }

    private static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("The neighbour graph's binary form assumes a little-endian machine.");
        }
    }
}
