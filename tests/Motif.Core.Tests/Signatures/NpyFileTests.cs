using System.Text;
using Motif.Core.Signatures;

namespace Motif.Core.Tests.Signatures;

public sealed class NpyFileTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"motif-npy-{Guid.NewGuid():N}.npy");

    public void Dispose() => File.Delete(_path);

    [Fact]
    public async Task Round_trips_and_writes_numpy_s_version_1_header()
    {
        await using (var writer = new NpyFile.Writer(_path, 3))
        {
            await writer.AppendAsync(new float[] { 1, 2, 3 });
            await writer.AppendAsync(new float[] { -1, 0.5f, float.Epsilon });
            await writer.CompleteAsync();
        }

        var bytes = File.ReadAllBytes(_path);
        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, bytes[..8]);
        var header = Encoding.ASCII.GetString(bytes, 10, BitConverter.ToUInt16(bytes, 8));
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", header);
        Assert.EndsWith("\n", header);
        Assert.Equal(0, (10 + header.Length) % 64);
        var (rows, columns, values) = NpyFile.Read(_path);
        Assert.Equal((2, 3), (rows, columns));
        Assert.Equal([1, 2, 3, -1, 0.5f, float.Epsilon], values);
    }

    [Fact]
    public async Task Rows_of_several_signatures_are_a_3_d_array_numpy_reads_as_images_by_parts()
    {
        // Two images, each its whole and two details of 2 values: shape (2, 3, 2), as numpy's np.load would give it.
        float[] values = [1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6];
        await using (var writer = new NpyFile.Writer(_path, 6, parts: 3))
        {
            await writer.AppendAsync(values.AsMemory(0, 6));
            await writer.AppendAsync(values.AsMemory(6, 6));
            await writer.CompleteAsync();
        }
        var written = File.ReadAllBytes(_path);
        Assert.Contains("'shape': (2, 3, 2)", Encoding.ASCII.GetString(written, 10, BitConverter.ToUInt16(written, 8)));
        Assert.Equal(written, NpyFile.Encode(values, 2, 6, parts: 3));

        var read = NpyFile.Read(_path);
        Assert.Equal((2, 6, 3), (read.Rows, read.Columns, read.Parts));
        Assert.Equal(values, read.Values);
        Assert.Equal(1, NpyFile.Decode(NpyFile.Encode(values, 2, 6), "two-d").Parts);
        Assert.Throws<ArgumentException>(() => NpyFile.Encode(values, 2, 6, parts: 4));
        Assert.Throws<ArgumentException>(() => new NpyFile.Writer(_path, 6, parts: 4));
    }

    [Fact]
    public async Task An_unfinished_writer_leaves_no_file()
    {
        await using (var writer = new NpyFile.Writer(_path, 2))
        {
            await writer.AppendAsync(new float[] { 1, 2 });
        }

        Assert.False(File.Exists(_path));
        Assert.False(File.Exists(_path + ".partial"));
    }

    [Fact]
    public void Refuses_what_is_not_a_float32_matrix()
    {
        File.WriteAllBytes(_path, "not numpy"u8.ToArray());

        Assert.Throws<InvalidDataException>(() => NpyFile.Read(_path));
    }

    [Fact]
    public void Encodes_in_memory_what_the_file_writer_writes_and_decodes_it()
    {
        float[] values = [1, -2, 3.5f, 0, 5, 6];
        var bytes = NpyFile.Encode(values, 2, 3);
        Assert.Equal(0, (bytes.Length - values.Length * sizeof(float)) % 64); // the data starts on a 64-byte boundary
        var (rows, columns, decoded) = NpyFile.Decode(bytes, "test");
        Assert.Equal((2, 3), (rows, columns));
        Assert.Equal(values, decoded);
        Assert.Throws<ArgumentException>(() => NpyFile.Encode(values, 4, 3));
        Assert.Throws<InvalidDataException>(() => NpyFile.Decode(bytes.AsSpan(0, 20), "short"));
        Assert.Throws<InvalidDataException>(() => NpyFile.Decode(bytes.AsSpan(0, bytes.Length - 4), "truncated"));
    }
}
