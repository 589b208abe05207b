using System.Text.Json;

namespace Motif.Core.Evaluation;

/// <summary>
/// The "data version" of a training or evaluation run: a content hash of the morphograph's edges and the frozen split,
/// which the model registry records with every model version (issue 11, item 6) so that a metric is only ever compared
/// with metrics measured on the same data.
/// </summary>
/// <remarks>
/// The hash is the SHA-256 (<see cref="ContentHash"/>, 64 lowercase hex digits) of a canonical text: a tag and
/// schema number, then the edges as a JSON array of <c>[type, image, image]</c> with the two images in ordinal order,
/// sorted and without repeats, then the split's own JSON (<see cref="MorphographSplit.ToJson"/>, already stable).
/// So it changes when an edge is added, removed or retyped, or when an image's part changes (or the ratios), and not
/// when the CSV's rows are reordered, an edge is written the other way round or repeated, or only the connection
/// uids or the CSV's other columns change (they name records, they are not data the model learns from). Pass the
/// morphograph as read (<see cref="MorphographDuplicates.Source"/>): its DUPLICATE edges are data too.
/// </remarks>
public static class MorphographDataVersion
{
    /// <summary>Bumped whenever the canonical text changes, so an old hash is never mistaken for a new one.</summary>
    private const string Tag = "motif-morphograph-data/1";

    /// <summary>The data version of <paramref name="morphograph"/> split by <paramref name="split"/>.</summary>
    public static string Of(Morphograph morphograph, MorphographSplit split)
    {
        ArgumentNullException.ThrowIfNull(morphograph);
        ArgumentNullException.ThrowIfNull(split);
        var edges = new HashSet<(string Type, string A, string B)>();
        foreach (var e in morphograph.Edges)
        {
            var (a, b) = string.CompareOrdinal(e.Image1, e.Image2) <= 0 ? (e.Image1, e.Image2) : (e.Image2, e.Image1);
            edges.Add((e.Type.ToString(), a, b));
        }
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            json.WriteStringValue(Tag);
            json.WriteStartArray();
            foreach (var (type, a, b) in edges.OrderBy(e => e.Type, StringComparer.Ordinal).ThenBy(e => e.A, StringComparer.Ordinal).ThenBy(e => e.B, StringComparer.Ordinal))
            {
                json.WriteStartArray();
                json.WriteStringValue(type);
                json.WriteStringValue(a);
                json.WriteStringValue(b);
                json.WriteEndArray();
            }
            json.WriteEndArray();
            json.WriteEndArray();
        }
        buffer.WriteByte((byte)'\n');
        buffer.Write(split.ToJson());
        return ContentHash.Of(buffer.ToArray()).Hex;
    }
}
