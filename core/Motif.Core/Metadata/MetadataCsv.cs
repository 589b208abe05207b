using System.Text;
using CsvHelper;

namespace Motif.Core.Metadata;

/// <summary>One kept row of a metadata CSV: its line, the file it names (relative to the CSV's folder) and what it says.</summary>
/// <param name="Line">The 1-based line the record starts on.</param>
/// <param name="FileName">The <c>filename</c> cell, trimmed, without a leading <c>./</c>; '/'-separated.</param>
/// <param name="Metadata">The cleaned cells.</param>
public sealed record MetadataRow(long Line, string FileName, ImageMetadata Metadata);

/// <summary>Something said about one record: why it was refused, or what was changed in a kept one.</summary>
/// <param name="Line">The 1-based line the record starts on.</param>
/// <param name="Message">One printable sentence; hostile cells are never quoted in it unescaped.</param>
public sealed record MetadataProblem(long Line, string Message);

/// <summary>
/// A metadata CSV as read: every data record is either in <see cref="Rows"/> or in <see cref="Refused"/>, never
/// neither (<see cref="Records"/> = <c>Rows.Count + Refused.Count</c>).
/// </summary>
/// <param name="Records">Data records read (empty lines are not records).</param>
/// <param name="Rows">The records kept, in file order.</param>
/// <param name="Refused">The records refused, one entry each, with the reason.</param>
/// <param name="Notes">What was changed in kept records: a link dropped, a field cut, characters removed.</param>
/// <param name="IgnoredColumns">Header names not understood (cleaned for display); their cells are not kept.</param>
public sealed record MetadataSheet(
    int Records,
    IReadOnlyList<MetadataRow> Rows,
    IReadOnlyList<MetadataProblem> Refused,
    IReadOnlyList<MetadataProblem> Notes,
    IReadOnlyList<string> IgnoredColumns);

/// <summary>
/// Reads the PixPlot-style metadata CSV a museum puts beside its uploads (<c>metadata.csv</c>). The header names the
/// columns, case-insensitively and in any order: <c>filename</c> (required: the image's path relative to the CSV's
/// folder), <c>title</c>, <c>artist</c> or <c>creator</c>, <c>date</c> or <c>year</c>, <c>collection</c> or
/// <c>category</c>, <c>permalink</c> or <c>source</c> (or <c>url</c>, <c>link</c>), <c>description</c>. Other columns
/// are ignored and listed in <see cref="MetadataSheet.IgnoredColumns"/>: Motif has nowhere to show them, and keeping
/// arbitrary uploaded columns would only widen what hostile text can reach.
/// </summary>
/// <remarks>
/// Every cell is hostile text (OWASP, "CSV Injection" and "Unvalidated Redirects"; Unicode TR #9 on bidirectional
/// controls, the "Trojan Source" attack, CVE-2021-42574):
/// <list type="bullet">
/// <item>control characters become spaces (tab, line breaks) or are removed; bidirectional and other invisible format
/// characters are removed, except the zero-width joiner and non-joiner that some scripts need (noted);</item>
/// <item>a field longer than its limit is cut, with an ellipsis (noted);</item>
/// <item>a link is kept only as an absolute http or https URL without credentials: <c>javascript:</c>, <c>data:</c>,
/// relative and credential-bearing links are dropped (noted) and the row is kept;</item>
/// <item>a cell that looks like a formula (<c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>) is kept as the text it is: the app
/// shows it through text nodes, and every CSV Motif writes neutralises such cells (Manifests' CsvField);</item>
/// <item>a record is refused when its filename is empty, has control or format characters, is absolute, has an
/// empty, <c>.</c> or <c>..</c> segment or a backslash, or when its quoting is malformed.</item>
/// </list>
/// The whole file is refused (<see cref="FormatException"/>) only when it has no header or no <c>filename</c> column,
/// or names a column twice. The caller bounds the bytes it reads (<see cref="MaxBytes"/>).
/// </remarks>
public static class MetadataCsv
{
    /// <summary>The name of the file beside the uploads.</summary>
    public const string FileName = "metadata.csv";

    /// <summary>The most bytes of a metadata CSV a host reads: about 50,000 rows of generous metadata.</summary>
    public const int MaxBytes = 16 * 1024 * 1024;

    /// <summary>The longest filename cell, as an upload name may be (Azure allows 1,024 characters in a blob name).</summary>
    public const int MaxFileNameLength = 1024;

    /// <summary>The longest link kept.</summary>
    public const int MaxSourceLength = 2048;

    private enum Column { FileName, Title, Artist, Date, Collection, Source, Description }

    private static readonly Dictionary<string, Column> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["filename"] = Column.FileName,
        ["file"] = Column.FileName,
        ["title"] = Column.Title,
        ["artist"] = Column.Artist,
        ["creator"] = Column.Artist,
        ["date"] = Column.Date,
        ["year"] = Column.Date,
        ["collection"] = Column.Collection,
        ["category"] = Column.Collection,
        ["permalink"] = Column.Source,
        ["source"] = Column.Source,
        ["url"] = Column.Source,
        ["link"] = Column.Source,
        ["description"] = Column.Description,
    };

    /// <summary>Characters kept per field: enough for any real title or description, small enough for a page.</summary>
    private static int LimitOf(Column column) => column switch
    {
        Column.Title => 500,
        Column.Artist => 300,
        Column.Date => 100,
        Column.Collection => 200,
        Column.Description => 5000,
        _ => MaxFileNameLength,
    };

    /// <summary>Reads the CSV (RFC 4180, as <c>Morphograph.Read</c> does; a UTF-8 BOM is skipped).</summary>
    /// <exception cref="FormatException">No header, no filename column, or a column named twice; the message names the line.</exception>
    public static MetadataSheet Read(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        CsvMalformedRecord? malformed = null;
        using var csv = CsvReader.Create(reader, new CsvReaderOptions
        {
            HasHeader = false,
            TrackLineNumbers = true,
            SkipEmptyLines = true,
            // A record longer than this cannot be real metadata (an unclosed quote swallowing the file): refused whole.
            MaxRecordSize = 64 * 1024,
            MalformedData = CsvMalformedDataHandling.Recover,
            OnMalformedRecord = record => malformed ??= record,
        }, leaveOpen: true);

        if (!csv.Read())
        {
            throw new FormatException($"The {FileName} is empty: expected a header naming at least the column filename.");
        }
        var headerLine = csv.LineNumber;
        var columns = new Column?[csv.FieldCount];
        var ignored = new List<string>();
        for (var i = 0; i < csv.FieldCount; i++)
        {
            var name = csv.GetString(i).TrimStart('\uFEFF').Trim();
            if (Names.TryGetValue(name, out var column))
            {
                if (columns.Contains(column))
                {
                    throw new FormatException($"Line {headerLine}: the header names the {column.ToString().ToLowerInvariant()} column twice ('{Printable(name, 40)}').");
                }
                columns[i] = column;
            }
            else if (name.Length > 0)
            {
                ignored.Add(Printable(name, 40));
            }
        }
        if (!columns.Contains(Column.FileName))
        {
            throw new FormatException($"Line {headerLine}: the header has no filename column (expected filename, and any of title, artist, date, collection, permalink, description).");
        }
        malformed = null;

        var rows = new List<MetadataRow>();
        var refused = new List<MetadataProblem>();
        var notes = new List<MetadataProblem>();
        var records = 0;
        while (true)
        {
            bool read;
            try
            {
                read = csv.Read();
            }
            catch (CsvFormatException e)
            {
                // Only a record past MaxRecordSize throws: it and the rest of the file are one unreadable record.
                records++;
                refused.Add(new MetadataProblem(csv.LineNumber, $"The record is longer than 64 KiB (an unclosed quote?); it and the rest of the file were not read ({e.GetType().Name})."));
                break;
            }
            if (!read)
            {
                break;
            }
            records++;
            var line = csv.LineNumber;
            if (malformed is { } bad)
            {
                malformed = null;
                refused.Add(new MetadataProblem(bad.LineNumber, $"Malformed quoting ({bad.Reason}); the record is not read."));
                continue;
            }
            var cells = new Dictionary<Column, string>();
            for (var i = 0; i < Math.Min(csv.FieldCount, columns.Length); i++)
            {
                if (columns[i] is { } column)
                {
                    cells[column] = csv.GetString(i);
                }
            }
            var fileName = FileNameOf(cells.GetValueOrDefault(Column.FileName, string.Empty), out var problem);
            if (fileName is null)
            {
                refused.Add(new MetadataProblem(line, problem));
                continue;
            }
            var changes = new List<string>();
            string? Field(Column column) => cells.TryGetValue(column, out var text) ? Clean(text, LimitOf(column), column, changes) : null;
            var metadata = new ImageMetadata(Field(Column.Title), Field(Column.Artist), Field(Column.Date), Field(Column.Collection),
                SourceOf(cells.GetValueOrDefault(Column.Source), changes), Field(Column.Description));
            if (changes.Count > 0)
            {
                notes.Add(new MetadataProblem(line, string.Join("; ", changes.Distinct(StringComparer.Ordinal)) + "."));
            }
            rows.Add(new MetadataRow(line, fileName, metadata));
        }
        return new MetadataSheet(records, rows, refused, notes, ignored);
    }

    /// <summary>
    /// The filename cell as a relative '/'-separated path, or null with the reason. Refused rather than cleaned: a
    /// cleaned name could name another image than the one the museum meant.
    /// </summary>
    internal static string? FileNameOf(string cell, out string problem)
    {
        problem = string.Empty;
        var name = cell.Trim();
        while (name.StartsWith("./", StringComparison.Ordinal))
        {
            name = name[2..];
        }
        if (name.Length == 0)
        {
            problem = "The filename is empty.";
            return null;
        }
        if (name.Length > MaxFileNameLength)
        {
            problem = $"The filename has {name.Length:N0} characters; at most {MaxFileNameLength:N0} are allowed.";
            return null;
        }
        if (HostileText.FirstUnsafe(name, alsoRefused: '\\') is var unsafeAt and >= 0)
        {
            problem = $"The filename contains the character U+{(int)name[unsafeAt]:X4} at position {unsafeAt + 1}.";
            return null;
        }
        if (name.StartsWith('/') || name.Split('/').Any(s => s.Length == 0 || s is "." or ".."))
        {
            problem = $"The filename '{Printable(name, 80)}' is not a relative path (absolute, or an empty, '.' or '..' segment).";
            return null;
        }
        return name;
    }

    /// <summary>
    /// The cell as kept: tab and line breaks become spaces, other control characters, unpaired surrogates and
    /// invisible format characters (bidirectional embeddings, overrides and isolates, zero-width spaces, the BOM) are
    /// removed, the ends trimmed, and at most <paramref name="limit"/> characters kept. Null when nothing is left.
    /// </summary>
    private static string? Clean(string cell, int limit, Column column, List<string> changes)
    {
        var text = new StringBuilder(Math.Min(cell.Length, limit + 1));
        var removed = false;
        for (var i = 0; i < cell.Length; i++)
        {
            var c = cell[i];
            if (char.IsHighSurrogate(c) && i + 1 < cell.Length && char.IsLowSurrogate(cell[i + 1]))
            {
                text.Append(c).Append(cell[++i]);
            }
            else if (c is '\t' or '\n' or '\r')
            {
                text.Append(' ');
            }
            else if (HostileText.IsUnsafe(c) && c is not '\u200C' and not '\u200D')
            {
                removed = true;
            }
            else
            {
                text.Append(c);
            }
        }
        if (removed)
        {
            changes.Add($"control or invisible formatting characters removed from the {Name(column)}");
        }
        var kept = text.ToString().Trim();
        if (kept.Length > limit)
        {
            // Never cut a surrogate pair in two.
            var cut = char.IsHighSurrogate(kept[limit - 2]) ? limit - 2 : limit - 1;
            kept = kept[..cut].TrimEnd() + "…";
            changes.Add($"the {Name(column)} was cut to {limit:N0} characters");
        }
        return kept.Length == 0 ? null : kept;
    }

    /// <summary>
    /// The link when it is an absolute http(s) URL with a host and no credentials, in its normalised form; else null
    /// (noted). Only such a link may become an <c>href</c>: <c>javascript:</c> and <c>data:</c> run or show content as
    /// the app, and a relative link would point into the app itself.
    /// </summary>
    private static string? SourceOf(string? cell, List<string> changes)
    {
        var text = cell?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        if (text.Length <= MaxSourceLength && !text.Any(HostileText.IsUnsafe) && !text.Contains(' ', StringComparison.Ordinal)
            && Uri.TryCreate(text, UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && uri.Host.Length > 0 && uri.UserInfo.Length == 0 && uri.AbsoluteUri.Length <= MaxSourceLength)
        {
            return uri.AbsoluteUri;
        }
        changes.Add("the link was dropped: only an absolute http or https URL without credentials is kept");
        return null;
    }

    private static string Name(Column column) => column.ToString().ToLowerInvariant();

    /// <summary>Hostile text for a message: unsafe characters as <c>\uXXXX</c>, at most <paramref name="max"/> characters.</summary>
    internal static string Printable(string text, int max)
    {
        var s = new StringBuilder();
        foreach (var c in text.Length > max ? text[..max] : text)
        {
            s.Append(HostileText.IsUnsafe(c) ? $"\\u{(int)c:X4}" : c.ToString());
        }
        return text.Length > max ? s.Append('…').ToString() : s.ToString();
    }
}
