using System.Buffers.Text;
using System.Text;

namespace Motif.Functions.Api;

/// <summary>
/// How an image id travels in a URL path: base64url (RFC 4648 §5, no padding) of its UTF-8 bytes. Image ids are
/// <c>{collection}/{path}</c> and contain slashes, which a route segment cannot hold (percent-encoded <c>%2F</c> is
/// decoded, or refused, differently by proxies, the Functions host and ASP.NET Core), and any other character an
/// uploader chose; base64url is one opaque segment of <c>[A-Za-z0-9_-]</c> that every layer passes through unchanged.
/// Responses carry both the id and its key, so clients never have to encode one themselves.
/// </summary>
public static class ApiIds
{
    /// <summary>The URL key of <paramref name="imageId"/>.</summary>
    public static string Encode(string imageId)
    {
        ArgumentNullException.ThrowIfNull(imageId);
        return Base64Url.EncodeToString(Encoding.UTF8.GetBytes(imageId));
    }

    /// <summary>The image id of a URL key, or null when <paramref name="key"/> is not base64url of UTF-8 text of a plausible length.</summary>
    public static string? Decode(string? key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > 2 * UploadName.MaxLength * 4 || !Base64Url.IsValid(key))
        {
            return null;
        }
        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(Base64Url.DecodeFromChars(key));
        }
        catch (Exception e) when (e is FormatException or DecoderFallbackException)
        {
            return null;
        }
    }
}
