using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Motif.Core.Signatures;

/// <summary>
/// NumPy's .npy format, version 1.0, for 2-D little-endian float32 matrices (numpy/lib/format.py, NEP 1):
/// the magic "\x93NUMPY", version 1 0, a little-endian uint16 header length, then a Python dict literal
/// {'descr': '&lt;f4', 'fortran_order': False, 'shape': (N, D), } padded with spaces and ending in '\n' so that
/// the data starts on a 64-byte boundary, then the rows.
/// </summary>
public static partial class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0];

    // Room for any row count: the header is written once with 0 rows and rewritten in place at the end.
    private const int Preamble = 128;

    /// <summary>Writes rows as they come, then fixes the row count in the header; the file appears only when
    /// complete (written beside it, then renamed), so an interrupted run leaves no half-written matrix.</summary>
    public sealed class Writer : IAsyncDisposable
    {
        private readonly string _path;
        private readonly string _partial;
        private readonly FileStream _stream;
        private readonly int _parts;
        private bool _completed;

        /// <param name="path">The file to write.</param>
        /// <param name="columns">Values per row.</param>
        /// <param name="parts">Signatures per row: above 1, the array is written as rows × parts × columns / parts.</param>
        public Writer(string path, int columns, int parts = 1)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
            var header = Header(0, columns, parts);   // refuses bad parts before any file exists
            (_path, _partial, Columns, _parts) = (path, path + ".partial", columns, parts);
            _stream = new FileStream(_partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            _stream.Write(header);
        }

        public int Columns { get; }

        public long Rows { get; private set; }

        public async ValueTask AppendAsync(ReadOnlyMemory<float> row, CancellationToken cancellationToken = default)
        {
            if (row.Length != Columns)
            {
                throw new ArgumentException($"A row has {Columns} values, not {row.Length}.", nameof(row));
            }
            if (!BitConverter.IsLittleEndian)
            {
                throw new PlatformNotSupportedException("The .npy writer assumes a little-endian machine.");
            }
            await _stream.WriteAsync(MemoryMarshal.AsBytes(row.Span).ToArray(), cancellationToken);
            Rows++;
        }

        /// <summary>Writes the final row count and moves the file into place.</summary>
        public async ValueTask CompleteAsync(CancellationToken cancellationToken = default)
        {
            _stream.Position = 0;
            await _stream.WriteAsync(Header(Rows, Columns, _parts), cancellationToken);
            await _stream.DisposeAsync();
            File.Move(_partial, _path, overwrite: true);
            _completed = true;
        }

        public async ValueTask DisposeAsync()
        {
            await _stream.DisposeAsync();
            if (!_completed)
            {
                File.Delete(_partial);
            }
        }
    }

    /// <summary>Reads a float32 .npy matrix (C order) as rows, columns and values (see <see cref="Decode"/>).</summary>
    public static NpyMatrix Read(string path) => Decode(File.ReadAllBytes(path), path);

    /// <summary>A whole .npy document holding <paramref name="values"/> as a <paramref name="rows"/> × <paramref name="columns"/>
    /// matrix, or, with <paramref name="parts"/> above 1, as rows × parts × columns / parts (an image's whole and its
    /// details, each a signature of its own).</summary>
    public static byte[] Encode(ReadOnlySpan<float> values, int rows, int columns, int parts = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        var header = Header(rows, columns, parts);
        if (values.Length != (long)rows * columns)
        {
            throw new ArgumentException($"{rows}×{columns} values expected, not {values.Length}.", nameof(values));
        }
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("The .npy writer assumes a little-endian machine.");
        }
        var bytes = new byte[Preamble + values.Length * sizeof(float)];
        header.CopyTo(bytes, 0);
        MemoryMarshal.AsBytes(values).CopyTo(bytes.AsSpan(Preamble));
        return bytes;
    }

    /// <summary>Decodes a float32 .npy matrix (C order); <paramref name="source"/> names it in errors. A 3-D array
    /// (rows, parts, d) is read as rows of parts × d columns, with <see cref="NpyMatrix.Parts"/> set.</summary>
    public static NpyMatrix Decode(ReadOnlySpan<byte> bytes, string source)
    {
        if (bytes.Length < 10 || !bytes[..6].SequenceEqual(Magic.AsSpan(0, 6)))
        {
            throw new InvalidDataException($"{source} is not a .npy file.");
        }
        var (headerLength, offset) = bytes[6] switch
        {
            1 => (BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]), 10),
            2 or 3 => ((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]), 12),
            _ => throw new InvalidDataException($"{source}: unsupported .npy version {bytes[6]}."),
        };
        if (headerLength > bytes.Length - offset)
        {
            throw new InvalidDataException($"{source}: the header runs past the end of the file.");
        }
        var header = Encoding.ASCII.GetString(bytes.Slice(offset, headerLength));
        var match = HeaderPattern().Match(header);
        if (!match.Success)
        {
            throw new InvalidDataException($"{source}: expected a C-order little-endian float32 matrix, found {header.Trim()}.");
        }
        var parts = 1;
        if (!int.TryParse(match.Groups["rows"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var rows) ||
            !int.TryParse(match.Groups["columns"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var columns) ||
            match.Groups["third"].Success && !int.TryParse(match.Groups["third"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out parts) ||
            (long)parts * columns > int.MaxValue)
        {
            throw new InvalidDataException($"{source}: the shape in the header is too large.");
        }
        if (match.Groups["third"].Success)
        {
            // (rows, parts, d): the second axis counted parts.
            (parts, columns) = (columns, columns * parts);
            if (parts < 1)
            {
                throw new InvalidDataException($"{source}: a row of no parts has no signature.");
            }
        }
        var data = bytes[(offset + headerLength)..];
        if (data.Length != (long)rows * columns * sizeof(float))
        {
            throw new InvalidDataException($"{source}: the header says {rows}×{columns} floats, the file holds {data.Length} bytes.");
        }
        return new NpyMatrix(rows, columns, MemoryMarshal.Cast<byte, float>(data).ToArray()) { Parts = parts };
    }

    /// <exception cref="ArgumentException">The rows do not split into <paramref name="parts"/> (≥ 1).</exception>
    private static byte[] Header(long rows, int columns, int parts = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parts, 1);
        if (columns % parts != 0)
        {
            throw new ArgumentException($"Rows of {columns} values do not split into {parts} parts.", nameof(parts));
        }
        var shape = parts == 1 ? $"{rows}, {columns}" : $"{rows}, {parts}, {columns / parts}";
        var dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({shape}), }}";
        var header = new byte[Preamble];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), Preamble - 10);
        header.AsSpan(10).Fill((byte)' ');
        Encoding.ASCII.GetBytes(dict).CopyTo(header, 10);
        header[^1] = (byte)'\n';
        return header;
    }

    [GeneratedRegex(@"'descr':\s*'<f4',\s*'fortran_order':\s*False,\s*'shape':\s*\((?<rows>\d+),\s*(?<columns>\d+)(,\s*(?<third>\d+))?\)")]
    private static partial Regex HeaderPattern();
}

/// <summary>A float32 matrix read from a .npy file: <see cref="Rows"/> × <see cref="Columns"/> values, row-major.</summary>
/// <param name="Rows">Rows.</param>
/// <param name="Columns">Values per row (for a 3-D array, parts × d).</param>
/// <param name="Values">The values, row-major.</param>
public readonly record struct NpyMatrix(int Rows, int Columns, float[] Values)
{
    /// <summary>Signatures per row: the second axis of a 3-D array (an image's whole and its details), else 1.</summary>
    public int Parts { get; init; } = 1;
}
