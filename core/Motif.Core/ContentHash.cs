using System.Security.Cryptography;

namespace Motif.Core;

/// <summary>
/// SHA-256 of an image's original bytes, as 64 lowercase hex characters. It is the basis of an image's
/// identity: the same bytes uploaded twice, under any name, are the same image, so ingest is idempotent.
/// </summary>
public readonly record struct ContentHash
{
    private ContentHash(string hex) => Hex = hex;

    /// <summary>The hash as 64 lowercase hexadecimal characters.</summary>
    public string Hex { get; }

    /// <summary>Hashes <paramref name="content"/>.</summary>
    public static ContentHash Of(ReadOnlySpan<byte> content)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(content, digest);
        return new ContentHash(Convert.ToHexStringLower(digest));
    }

    /// <summary>Hashes a stream from its current position to its end.</summary>
    public static async ValueTask<ContentHash> OfAsync(Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var digest = await SHA256.HashDataAsync(content, cancellationToken).ConfigureAwait(false);
        return new ContentHash(Convert.ToHexStringLower(digest));
    }

    /// <summary>Parses a hash written by <see cref="ToString"/>; rejects anything that is not 64 hex characters.</summary>
    public static ContentHash Parse(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
        {
            throw new FormatException("A content hash is 64 hexadecimal characters.");
        }
        return new ContentHash(hex.ToLowerInvariant());
    }

    public override string ToString() => Hex ?? string.Empty;
}
