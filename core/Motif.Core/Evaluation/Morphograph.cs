using System.Text.RegularExpressions;
using CsvHelper;

namespace Motif.Core.Evaluation;

/// <summary>
/// The kind of a curated connection between two images. The names are those of the EPFL DHLAB Replica
/// morphograph (SEEDS.md, "Replica semi-supervised clustering"): POSITIVE, DUPLICATE, SIMILAR, NON-DUPLICATE and
/// PROPOSAL in the original data, NEGATIVE added by curators through the annotation tool ("confirm pattern and wrong").
/// </summary>
public enum MorphographEdgeType
{
    /// <summary>The two images share a visual pattern (the research's ground truth).</summary>
    Positive,
    /// <summary>The two images show the same artwork (two photographs of one object).</summary>
    Duplicate,
    /// <summary>Alike, but not a curated pattern.</summary>
    Similar,
    /// <summary>Checked and found not to be duplicates (CSV: NON-DUPLICATE).</summary>
    NonDuplicate,
    /// <summary>Proposed, not confirmed.</summary>
    Proposal,
    /// <summary>Checked and found not to share the pattern.</summary>
    Negative,
}

/// <summary>One curated connection. <see cref="Uid"/> is the CSV's <c>uid_connection</c> when it has one.</summary>
public sealed record MorphographEdge(string Image1, string Image2, MorphographEdgeType Type)
{
    /// <summary>The connection's identifier (<c>uid_connection</c>), or null.</summary>
    public string? Uid { get; init; }
}

/// <summary>
/// The ground-truth graph of curated visual connections ("morphograph") that retrieval and clustering are
/// evaluated against (SEEDS.md: EPFL DHLAB Replica, 8,611 POSITIVE edges over 2,175 images).
/// </summary>
/// <remarks>
/// <para><b>Positive edges.</b> An edge is <i>positive</i> when its type is POSITIVE or DUPLICATE
/// (<see cref="IsPositive"/>). The research's relevance is "direct morphograph neighbours" over POSITIVE edges; two
/// photographs of the same artwork (DUPLICATE) share every pattern the artwork has, so a retrieval that returns one
/// for the other is right and we count it as relevant too. The original code (Cini_TDA, <c>get_scores</c>) used
/// POSITIVE only: <see cref="Neighbours"/> with <see cref="MorphographEdgeType.Positive"/> alone reproduces that.
/// A pair that is both positive and, say, NEGATIVE (curators disagreeing) is positive: ground truth only grows by
/// confirmation, and the conflict stays visible in <see cref="Edges"/>. The frozen split works on
/// <see cref="MorphographDuplicates.Merged"/> instead, where each DUPLICATE group is one image and no DUPLICATE edge is
/// left, and training and evaluation are to do the same: a duplicate pair is one artwork, not a pattern to learn or to
/// be rewarded for finding.</para>
/// <para><b>Identity.</b> Image ids are compared ordinally (case-sensitive, no trimming). An edge from an image to
/// itself is kept in <see cref="Edges"/> and <see cref="Images"/> but makes no neighbour: an image is not its own
/// neighbour. Repeated edges are harmless (neighbourhoods are sets).</para>
/// <para><b>Components.</b> <see cref="Components"/> are the connected components of the positive graph over the
/// images that have at least one positive neighbour (an image with only other kinds of edges is in none). As in the
/// research (train/val/test split by component; networkx weakly connected components), direction is ignored.</para>
/// </remarks>
public sealed partial class Morphograph
{
    private static readonly IReadOnlyList<string> NoNeighbours = [];

    private readonly MorphographEdge[] _edges;
    private readonly string[] _images;
    private readonly Dictionary<string, string[]> _positive;
    private readonly Lazy<IReadOnlyList<IReadOnlyList<string>>> _components;

    private Morphograph(MorphographEdge[] edges)
    {
        _edges = edges;
        var images = new HashSet<string>(StringComparer.Ordinal);
        var positive = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var e in edges)
        {
            images.Add(e.Image1);
            images.Add(e.Image2);
            if (IsPositive(e.Type) && !string.Equals(e.Image1, e.Image2, StringComparison.Ordinal))
            {
                Add(positive, e.Image1, e.Image2);
                Add(positive, e.Image2, e.Image1);
            }
        }
        _images = [.. images];
        Array.Sort(_images, StringComparer.Ordinal);
        _positive = new Dictionary<string, string[]>(positive.Count, StringComparer.Ordinal);
        foreach (var (image, neighbours) in positive)
        {
            var sorted = neighbours.ToArray();
            Array.Sort(sorted, StringComparer.Ordinal);
            _positive[image] = sorted;
        }
        _components = new Lazy<IReadOnlyList<IReadOnlyList<string>>>(ComputeComponents);

        static void Add(Dictionary<string, HashSet<string>> graph, string from, string to)
        {
            if (!graph.TryGetValue(from, out var set))
            {
                graph[from] = set = new HashSet<string>(StringComparer.Ordinal);
            }
            set.Add(to);
        }
    }

    /// <summary>Every edge, in input order.</summary>
    public IReadOnlyList<MorphographEdge> Edges => _edges;

    /// <summary>Every image named by an edge of any type, in ordinal order.</summary>
    public IReadOnlyList<string> Images => _images;

    /// <summary>Whether edges of this type make two images relevant to each other: POSITIVE and DUPLICATE
    /// (see the remarks on <see cref="Morphograph"/>).</summary>
    public static bool IsPositive(MorphographEdgeType type) =>
        type is MorphographEdgeType.Positive or MorphographEdgeType.Duplicate;

    /// <summary>A morphograph made of these edges.</summary>
    /// <exception cref="ArgumentException">An edge is null, names an empty image id, or has an undefined type.</exception>
    public static Morphograph FromEdges(IEnumerable<MorphographEdge> edges)
    {
        ArgumentNullException.ThrowIfNull(edges);
        var list = edges.ToArray();
        for (var i = 0; i < list.Length; i++)
        {
            var e = list[i] ?? throw new ArgumentException($"Edge {i} is null.", nameof(edges));
            if (string.IsNullOrEmpty(e.Image1) || string.IsNullOrEmpty(e.Image2))
            {
                throw new ArgumentException($"Edge {i} has an empty image id.", nameof(edges));
            }
            if (!Enum.IsDefined(e.Type))
            {
                throw new ArgumentException($"Edge {i} has an undefined type {(int)e.Type}.", nameof(edges));
            }
        }
        return new Morphograph(list);
    }

    /// <summary>
    /// Reads a morphograph CSV (RFC 4180: comma-separated, fields optionally in double quotes, a quote inside a
    /// quoted field doubled, line breaks allowed inside quoted fields; CRLF, LF or CR line ends). The first record
    /// is the header; it must name the columns <c>type</c>, <c>img1</c> and <c>img2</c> (any order, case-insensitive,
    /// surrounding spaces ignored) and may name <c>uid_connection</c>; other columns (the research's <c>date</c>,
    /// <c>cluster_file</c>, <c>cluster</c>, a pandas index…) are ignored. Every record must have as many fields as the
    /// header; empty lines are skipped. Types are matched case-insensitively (surrounding spaces ignored); image ids
    /// are taken exactly as written.
    /// </summary>
    /// <exception cref="FormatException">The text is not such a CSV; the message gives the line number (1-based,
    /// the line where the offending record starts).</exception>
    public static Morphograph Read(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        CsvMalformedRecord? malformed = null;
        using var csv = CsvReader.Create(reader, new CsvReaderOptions
        {
            HasHeader = false,
            TrackLineNumbers = true,
            SkipEmptyLines = true,
            // Recovered, then refused with the line and the reason: a morphograph with broken quoting is not guessed at.
            MalformedData = CsvMalformedDataHandling.Recover,
            OnMalformedRecord = record => malformed ??= record,
        }, leaveOpen: true);
        var header = NextRecord(out var headerLine)
            ?? throw new FormatException("The morphograph CSV is empty: expected a header naming type, img1 and img2.");
        if (header.Count > 0 && header[0].StartsWith('\uFEFF'))
        {
            header[0] = header[0][1..];
        }
        int typeColumn = -1, image1Column = -1, image2Column = -1, uidColumn = -1;
        for (var c = 0; c < header.Count; c++)
        {
            var name = header[c].Trim();
            if (name.Equals("type", StringComparison.OrdinalIgnoreCase))
            {
                Set(ref typeColumn, c, name);
            }
            else if (name.Equals("img1", StringComparison.OrdinalIgnoreCase))
            {
                Set(ref image1Column, c, name);
            }
            else if (name.Equals("img2", StringComparison.OrdinalIgnoreCase))
            {
                Set(ref image2Column, c, name);
            }
            else if (name.Equals("uid_connection", StringComparison.OrdinalIgnoreCase))
            {
                Set(ref uidColumn, c, name);
            }
        }
        var missing = new[] { (typeColumn, "type"), (image1Column, "img1"), (image2Column, "img2") }
            .Where(m => m.Item1 < 0).Select(m => m.Item2).ToArray();
        if (missing.Length > 0)
        {
            throw new FormatException($"Line {headerLine}: the header lacks the column(s) {string.Join(", ", missing)} " +
                "(expected at least type, img1, img2).");
        }

        var edges = new List<MorphographEdge>();
        while (NextRecord(out var line) is { } record)
        {
            if (record.Count != header.Count)
            {
                throw new FormatException($"Line {line}: {record.Count} field(s) where the header has {header.Count}.");
            }
            var type = ParseType(record[typeColumn])
                ?? throw new FormatException($"Line {line}: unknown connection type '{record[typeColumn]}' " +
                    "(expected POSITIVE, DUPLICATE, SIMILAR, NON-DUPLICATE, PROPOSAL or NEGATIVE).");
            var image1 = record[image1Column];
            var image2 = record[image2Column];
            if (image1.Length == 0 || image2.Length == 0)
            {
                throw new FormatException($"Line {line}: {(image1.Length == 0 ? "img1" : "img2")} is empty.");
            }
            edges.Add(new MorphographEdge(image1, image2, type) { Uid = uidColumn >= 0 ? record[uidColumn] : null });
        }
        return new Morphograph([.. edges]);

        List<string>? NextRecord(out long line)
        {
            if (!csv.Read())
            {
                line = csv.LineNumber;
                return malformed is { } unfinished ? throw Malformed(unfinished) : null;
            }
            line = csv.LineNumber;
            if (malformed is { } bad)
            {
                throw Malformed(bad);
            }
            var fields = new List<string>(csv.FieldCount);
            for (var i = 0; i < csv.FieldCount; i++)
            {
                fields.Add(csv.GetString(i));
            }
            return fields;
        }

        void Set(ref int column, int index, string name)
        {
            if (column >= 0)
            {
                throw new FormatException($"Line {headerLine}: the header names the column '{name}' twice.");
            }
            column = index;
        }
    }

    /// <summary>The type named by <paramref name="text"/> (case-insensitive, surrounding spaces ignored), or null.</summary>
    public static MorphographEdgeType? ParseType(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToUpperInvariant() switch
        {
            "POSITIVE" => MorphographEdgeType.Positive,
            "DUPLICATE" => MorphographEdgeType.Duplicate,
            "SIMILAR" => MorphographEdgeType.Similar,
            "NON-DUPLICATE" => MorphographEdgeType.NonDuplicate,
            "PROPOSAL" => MorphographEdgeType.Proposal,
            "NEGATIVE" => MorphographEdgeType.Negative,
            _ => null,
        };
    }

    /// <summary>
    /// The images joined to <paramref name="imageId"/> by a positive edge (POSITIVE or DUPLICATE), in ordinal order,
    /// without the image itself: the research's relevant set for a query ("relevant = direct morphograph
    /// neighbours"). Empty for an image with no positive edge or not in the graph.
    /// </summary>
    public IReadOnlyList<string> PositiveNeighbours(string imageId)
    {
        ArgumentNullException.ThrowIfNull(imageId);
        return _positive.TryGetValue(imageId, out var neighbours) ? neighbours : NoNeighbours;
    }

    /// <summary>The images joined to <paramref name="imageId"/> by an edge of one of <paramref name="types"/>
    /// (either direction), in ordinal order, without the image itself.</summary>
    public IReadOnlyList<string> Neighbours(string imageId, params MorphographEdgeType[] types)
    {
        ArgumentNullException.ThrowIfNull(imageId);
        ArgumentNullException.ThrowIfNull(types);
        var result = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var e in _edges)
        {
            if (!types.Contains(e.Type) || string.Equals(e.Image1, e.Image2, StringComparison.Ordinal))
            {
                continue;
            }
            if (string.Equals(e.Image1, imageId, StringComparison.Ordinal))
            {
                result.Add(e.Image2);
            }
            else if (string.Equals(e.Image2, imageId, StringComparison.Ordinal))
            {
                result.Add(e.Image1);
            }
        }
        return [.. result];
    }

    /// <summary>
    /// The connected components of the positive graph (POSITIVE and DUPLICATE edges, direction ignored) over the
    /// images that have a positive neighbour; each has at least two images. Deterministic: each component's images
    /// in ordinal order, components ordered by their first image (ordinal).
    /// </summary>
    public IReadOnlyList<IReadOnlyList<string>> Components() => _components.Value;

    private IReadOnlyList<IReadOnlyList<string>> ComputeComponents()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var components = new List<IReadOnlyList<string>>();
        var stack = new Stack<string>();
        // _images is in ordinal order, so each component is discovered from its ordinally first image and the
        // components come out ordered by it.
        foreach (var start in _images)
        {
            if (!_positive.ContainsKey(start) || !seen.Add(start))
            {
                continue;
            }
            var members = new List<string>();
            stack.Push(start);
            while (stack.Count > 0)
            {
                var image = stack.Pop();
                members.Add(image);
                foreach (var next in _positive[image])
                {
                    if (seen.Add(next))
                    {
                        stack.Push(next);
                    }
                }
            }
            members.Sort(StringComparer.Ordinal);
            components.Add(members.ToArray());
        }
        return components;
    }

    private static FormatException Malformed(CsvMalformedRecord record) => new(record.Reason switch
    {
        CsvMalformedReason.UnterminatedQuote => $"Line {record.LineNumber}: a quoted field is not closed before the end of the text.",
        CsvMalformedReason.StrayQuote => $"Line {record.LineNumber}: a quote inside an unquoted field (quote the whole field and write the quote twice).",
        CsvMalformedReason.TextAfterClosingQuote =>
            $"Line {record.LineNumber}: '{(TextAfterClosingQuote().Match(record.RawRecord) is { Success: true } m ? m.Groups[1].Value : "?")}' after the closing quote of a field " +
            "(a quote inside a quoted field is written twice).",
        _ => $"Line {record.LineNumber}: malformed CSV ({record.Reason}).",
    });

    [GeneratedRegex("(?:^|,)\"(?:[^\"]|\"\")*\"([^,])")]
    private static partial Regex TextAfterClosingQuote();
}
