namespace Motif.Storage.Catalog;

/// <summary>What every catalog adapter stores and returns the same way: the image status codes and the port's id order.</summary>
internal static class CatalogConventions
{
    /// <summary>The stored code of <see cref="ImageStatus.Accepted"/> (queries filter on it).</summary>
    public const string Accepted = "accepted";

    private const string Rejected = "rejected";

    /// <summary>The code an image status is stored as.</summary>
    public static string StatusCode(ImageStatus status) => status switch
    {
        ImageStatus.Accepted => Accepted,
        ImageStatus.Rejected => Rejected,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown image status."),
    };

    /// <summary>The image status a stored code stands for.</summary>
    /// <exception cref="InvalidDataException">An unknown code: the catalog was written by something else.</exception>
    public static ImageStatus ParseStatus(string? code) => code switch
    {
        Accepted => ImageStatus.Accepted,
        Rejected => ImageStatus.Rejected,
        _ => throw new InvalidDataException($"Unknown image status '{code}' in the catalog."),
    };

    /// <summary>
    /// <paramref name="items"/> in ordinal (UTF-16) order of their image ids, as the port promises. Sorted here, not by the
    /// store: SQLite's BINARY collation compares UTF-8 bytes, which puts U+E000..U+FFFF after the characters above U+FFFF,
    /// and Table Storage lists by keys that are encodings of the ids.
    /// </summary>
    public static List<T> OrderedById<T>(IEnumerable<T> items, Func<T, string> id)
    {
        var list = items.ToList();
        list.Sort((a, b) => string.CompareOrdinal(id(a), id(b)));
        return list;
    }
}
