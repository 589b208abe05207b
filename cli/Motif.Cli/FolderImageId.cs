using System.Globalization;
using System.Text;

namespace Motif.Cli;

/// <summary>
/// The image id of a file below an intake folder: its path relative to the folder, '/'-separated, as printable text.
/// </summary>
/// <remarks>
/// A Linux name is any bytes but '/' and NUL; an id is text. Valid UTF-8 is kept as it is, backslashes included (on
/// Linux '\' is an ordinary name character, not a separator). Each byte that is not part of valid UTF-8 becomes
/// <c>%XX</c> (two upper-case hex digits), and so does every literal '%', as <c>%25</c>: then a '%' in an id always
/// starts an escape, no valid name can imitate an escaped one, and the mapping is injective — the bytes come back by
/// reading <c>%XX</c> as the byte XX and everything else as UTF-8. So <c>caf\xE9.jpg</c> (Latin-1) is
/// <c>caf%E9.jpg</c>, <c>café.jpg</c> stays <c>café.jpg</c>, and <c>100%.jpg</c> is <c>100%25.jpg</c>.
/// </remarks>
internal static class FolderImageId
{
    /// <summary>The id part for one name (or a '/'-separated relative path) given as raw bytes.</summary>
    public static string Of(ReadOnlySpan<byte> name)
    {
        var id = new StringBuilder(name.Length);
        while (!name.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(name, out var rune, out var consumed);
            if (status == System.Buffers.OperationStatus.Done && rune.Value != '%')
            {
                id.Append(rune.ToString());
            }
            else
            {
                // Invalid or truncated UTF-8 (DecodeFromUtf8 consumes the maximal invalid subsequence), or a literal '%'.
                foreach (var b in name[..consumed])
                {
                    id.Append(CultureInfo.InvariantCulture, $"%{b:X2}");
                }
            }
            name = name[consumed..];
        }
        return id.ToString();
    }

    /// <summary>The raw bytes an id stands for: the inverse of <see cref="Of"/>.</summary>
    public static byte[] BytesOf(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var bytes = new List<byte>(id.Length);
        for (var i = 0; i < id.Length; i++)
        {
            if (id[i] == '%' && i + 2 < id.Length && byte.TryParse(id.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
            {
                bytes.Add(b);
                i += 2;
            }
            else
            {
                var width = char.IsHighSurrogate(id[i]) && i + 1 < id.Length ? 2 : 1;
                bytes.AddRange(Encoding.UTF8.GetBytes(id, i, width));
                i += width - 1;
            }
        }
        return [.. bytes];
    }
}
