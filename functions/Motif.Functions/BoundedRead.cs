namespace Motif.Functions;

/// <summary>Reading a stream that someone else controls (a request body, an upload) without trusting its declared length.</summary>
internal static class BoundedRead
{
    /// <summary>
    /// The whole of <paramref name="stream"/>, or null as soon as it proves longer than <paramref name="max"/> bytes:
    /// never more than <paramref name="max"/> + 1 bytes are read, whatever length was announced.
    /// </summary>
    public static async Task<byte[]?> ReadAtMostAsync(Stream stream, long max, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        while (true)
        {
            var read = await stream.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, max + 1 - buffer.Length)), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return buffer.ToArray();
            }
            buffer.Write(chunk, 0, read);
            if (buffer.Length > max)
            {
                return null;
            }
        }
    }
}
