using System.Runtime.CompilerServices;

namespace Motif.Storage.Blobs;

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

    /// <summary>Every blob under <paramref name="prefix"/>, page after page (<see cref="IBlobStore.ListAsync"/> with its continuation tokens).</summary>
    public static async IAsyncEnumerable<BlobProperties> ListAllAsync(this IBlobStore blobs, string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        string? token = null;
        do
        {
            var page = await blobs.ListAsync(prefix, continuationToken: token, cancellationToken: cancellationToken).ConfigureAwait(false);
            foreach (var blob in page.Items)
            {
                yield return blob;
            }
            token = page.ContinuationToken;
        }
        while (token is not null);
    }
}
