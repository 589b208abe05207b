namespace Motif.Storage;

/// <summary>Conveniences over <see cref="IBlobStore"/> that every adapter gets for free.</summary>
public static class BlobStoreExtensions
{
    /// <summary>The whole content of blob <paramref name="name"/>, like <see cref="File.ReadAllBytesAsync(string, CancellationToken)"/>.</summary>
    /// <exception cref="BlobStoreException">BlobNotFound when there is no such blob.</exception>
    public static async Task<byte[]> ReadAllBytesAsync(this IBlobStore blobs, string name, CancellationToken cancellationToken = default) =>
        (await blobs.ReadAllAsync(name, cancellationToken).ConfigureAwait(false)).Content;

    /// <summary>The whole content of blob <paramref name="name"/> with the properties (ETag, type) it was read at.</summary>
    /// <exception cref="BlobStoreException">BlobNotFound when there is no such blob.</exception>
    public static async Task<(byte[] Content, BlobProperties Properties)> ReadAllAsync(this IBlobStore blobs, string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        await using var download = await blobs.GetAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
        var bytes = new byte[download.Properties.ContentLength];
        await download.Content.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
        return (bytes, download.Properties);
    }
}
