using System.Text;

namespace Motif.Storage.Blobs;

/// <summary>
/// The rules every adapter applies to blob names, metadata and lease durations before touching storage.
/// </summary>
/// <remarks>
/// Blob names come from outside (upload paths, collection names, ids in messages), so they are treated as hostile.
/// A name is refused, never repaired: silently mapping two different names to one blob would be worse than an error.
/// The rules are stricter than Azure's so that any accepted name is also a safe relative path on Linux and Windows
/// (an adapter or an export may put blobs in a folder) and survives a round trip through UTF-8 and URLs:
/// <list type="bullet">
/// <item>1 to <see cref="MaxLength"/> characters (Azure's limit);</item>
/// <item>'/'-separated segments, none empty (so no leading or trailing '/', no "//") and none "." or "..";</item>
/// <item>no '\' (a separator on Windows), no ':' (drive letters, NTFS streams), no control characters,
/// no unpaired UTF-16 surrogate (not representable in UTF-8).</item>
/// </list>
/// </remarks>
public static class BlobName
{
    /// <summary>Azure's limit on a blob name's length.</summary>
    public const int MaxLength = 1024;

    /// <summary>Azure's limit on the total size of a blob's metadata names and values.</summary>
    public const int MaxMetadataBytes = 8 * 1024;

    /// <summary>Azure's bounds for a finite lease.</summary>
    public static readonly TimeSpan MinLeaseDuration = TimeSpan.FromSeconds(15), MaxLeaseDuration = TimeSpan.FromSeconds(60);

    /// <summary>Throws <see cref="ArgumentException"/> naming the rule that <paramref name="name"/> breaks.</summary>
    public static void Validate(string name, string parameterName = "name")
    {
        ArgumentNullException.ThrowIfNull(name, parameterName);
        var problem = Problem(name);
        if (problem is not null)
        {
            throw new ArgumentException($"Invalid blob name '{Printable(name)}': {problem}.", parameterName);
        }
    }

    /// <summary>Whether <paramref name="name"/> follows the rules.</summary>
    public static bool IsValid(string? name) => name is not null && Problem(name) is null;

    /// <summary>
    /// Metadata names are C#-identifier-like ASCII (they travel as x-ms-meta-NAME headers and compare
    /// case-insensitively); values are printable ASCII or spaces (HTTP header values).
    /// </summary>
    public static void ValidateMetadata(IReadOnlyDictionary<string, string>? metadata, string parameterName = "metadata")
    {
        if (metadata is null)
        {
            return;
        }
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var bytes = 0;
        foreach (var (key, value) in metadata)
        {
            if (string.IsNullOrEmpty(key) || !(char.IsAsciiLetter(key[0]) || key[0] == '_') || !key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                throw new ArgumentException($"Invalid metadata name '{Printable(key ?? "")}': use ASCII letters, digits and '_', not starting with a digit.", parameterName);
            }
            if (!seen.Add(key))
            {
                throw new ArgumentException($"The metadata name '{key}' appears twice (names are case-insensitive).", parameterName);
            }
            if (value is null || value.Any(c => c < ' ' || c > '~'))
            {
                throw new ArgumentException($"The value of metadata '{key}' must be printable ASCII.", parameterName);
            }
            bytes += key.Length + value.Length;
        }
        if (bytes > MaxMetadataBytes)
        {
            throw new ArgumentException($"Metadata totals {bytes} bytes; the limit is {MaxMetadataBytes}.", parameterName);
        }
    }

    /// <summary>Null (infinite) or between <see cref="MinLeaseDuration"/> and <see cref="MaxLeaseDuration"/>.</summary>
    public static void ValidateLeaseDuration(TimeSpan? duration, string parameterName = "duration")
    {
        if (duration is { } d && (d < MinLeaseDuration || d > MaxLeaseDuration))
        {
            throw new ArgumentOutOfRangeException(parameterName, d, $"A lease lasts {MinLeaseDuration.TotalSeconds:0} to {MaxLeaseDuration.TotalSeconds:0} seconds, or is infinite (null).");
        }
    }

    private static string? Problem(string name)
    {
        if (name.Length == 0)
        {
            return "it is empty";
        }
        if (name.Length > MaxLength)
        {
            return $"it is longer than {MaxLength} characters";
        }
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsControl(c))
            {
                return $"control character U+{(int)c:X4} at {i}";
            }
            if (c == '\\')
            {
                return "'\\' is not allowed ('/' separates segments)";
            }
            if (c == ':')
            {
                return "':' is not allowed";
            }
            if (char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return $"unpaired surrogate at {i}";
            }
        }
        foreach (var segment in name.Split('/'))
        {
            if (segment.Length == 0)
            {
                return "empty segment (leading, trailing or doubled '/')";
            }
            if (segment is "." or "..")
            {
                return $"'{segment}' segment";
            }
        }
        return null;
    }

    // Error messages may end up in logs and terminals: never echo control characters verbatim.
    private static string Printable(string s)
    {
        var shown = s.Length > 80 ? s[..80] + "…" : s;
        var sb = new StringBuilder(shown.Length);
        foreach (var c in shown)
        {
            sb.Append(char.IsControl(c) || char.IsSurrogate(c) ? $"\\u{(int)c:X4}" : c.ToString());
        }
        return sb.ToString();
    }
}
