using Motif.Core;

namespace Motif.Functions;

/// <summary>
/// The name of a blob in the uploads container, <c>{collection}/{path}</c>, checked before it becomes an image id.
/// Uploaders choose these names, so they are hostile text: the checks keep out what would be confusing or dangerous
/// in a catalog key, a log line, a CSV or a viewer (control and bidirectional-format characters, <c>.</c> and
/// <c>..</c> segments, empty segments, backslashes, unpaired surrogates) and bound the length.
/// </summary>
public static class UploadName
{
    /// <summary>Azure allows 1,024 characters in a blob name; an image id is that name.</summary>
    public const int MaxLength = 1024;

    /// <summary>A collection is one path segment naming a museum's collection.</summary>
    public const int MaxCollectionLength = 128;

    /// <summary>The image id of <paramref name="name"/>, or null with the reason in <paramref name="problem"/>.</summary>
    public static string? ToImageId(string? name, out string problem)
    {
        problem = string.Empty;
        if (string.IsNullOrEmpty(name))
        {
            problem = "The blob name is empty.";
            return null;
        }
        if (name.Length > MaxLength)
        {
            problem = $"The blob name has {name.Length} characters; at most {MaxLength} are allowed.";
            return null;
        }
        if (HostileText.FirstUnsafe(name, alsoRefused: '\\') is var unsafeAt and >= 0)
        {
            problem = $"The blob name contains the character U+{(int)name[unsafeAt]:X4} at position {unsafeAt}.";
            return null;
        }
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == name.Length - 1)
        {
            problem = "The blob name is not {collection}/{path}: upload into a collection's folder.";
            return null;
        }
        if (slash > MaxCollectionLength)
        {
            problem = $"The collection name has {slash} characters; at most {MaxCollectionLength} are allowed.";
            return null;
        }
        foreach (var segment in name.Split('/'))
        {
            if (segment.Length == 0 || segment is "." or "..")
            {
                problem = "The blob name has an empty, '.' or '..' segment.";
                return null;
            }
            if (segment.Trim().Length == 0)
            {
                problem = "The blob name has a segment of only spaces.";
                return null;
            }
        }
        return name;
    }
}
