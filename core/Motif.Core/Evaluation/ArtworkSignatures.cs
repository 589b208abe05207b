using Motif.Core.Signatures;

namespace Motif.Core.Evaluation;

/// <summary>
/// A collection's signatures seen as artworks of a merged morphograph (<see cref="MorphographDuplicates"/>): each
/// DUPLICATE group is one artwork under its canonical id, represented by the signature of the ordinally first member
/// that has one. So an artwork photographed twice of which only one photograph is signed still takes part, with that
/// photograph; an image no curator connected is its own artwork. Evaluation and triplet mining share this rule.
/// </summary>
public sealed class ArtworkSignatures
{
    private readonly Dictionary<string, int> _rowOf = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _representative = new(StringComparer.Ordinal);
    private readonly MorphographDuplicates _duplicates;
    private readonly ReadOnlyMemory<float> _signatures;
    private readonly double[] _squaredNorms;
    private readonly int _dimension;
    private readonly int _parts;

    /// <param name="duplicates">The merged morphograph's duplicate groups.</param>
    /// <param name="signatures">Row-major signatures, one row per id.</param>
    /// <param name="ids">Image ids of the rows, distinct.</param>
    /// <param name="parts">Signatures per row: the whole, then its details (<see cref="CosineRanking.ImageDistance(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{double}, ReadOnlySpan{double})"/>).</param>
    /// <exception cref="ArgumentException">The signatures are not one non-zero row per distinct id.</exception>
    public ArtworkSignatures(MorphographDuplicates duplicates, ReadOnlyMemory<float> signatures, IReadOnlyList<string> ids, int parts = 1)
    {
        ArgumentNullException.ThrowIfNull(duplicates);
        ArgumentNullException.ThrowIfNull(ids);
        for (var row = 0; row < ids.Count; row++)
        {
            if (ids[row] is null || !_rowOf.TryAdd(ids[row], row))
            {
                throw new ArgumentException($"Row id {row} ('{ids[row]}') is null or repeats an earlier one.", nameof(ids));
            }
        }
        if (ids.Count > 0 && (signatures.Length == 0 || signatures.Length % ids.Count != 0))
        {
            throw new ArgumentException($"The signatures ({signatures.Length} floats) are not {ids.Count} non-empty rows.", nameof(signatures));
        }
        _dimension = ids.Count == 0 ? parts : signatures.Length / ids.Count;
        _parts = parts;
        _squaredNorms = CosineRanking.SquaredNorms(signatures, _dimension, ids: ids, parts: parts);
        (_duplicates, _signatures, Ids) = (duplicates, signatures, ids);
        foreach (var id in ids.Order(StringComparer.Ordinal))
        {
            _representative.TryAdd(duplicates.Canonical(id), id);
        }
        Signed = [.. _representative.Keys.Order(StringComparer.Ordinal)];
    }

    /// <summary>The image ids of the signature rows.</summary>
    public IReadOnlyList<string> Ids { get; }

    /// <summary>The signatures, row-major.</summary>
    public ReadOnlyMemory<float> Signatures => _signatures;

    /// <summary>Every artwork (canonical id) with a signed photograph, in ordinal order.</summary>
    public IReadOnlyList<string> Signed { get; }

    /// <summary>Whether <paramref name="artwork"/> (a canonical id) has a signed photograph.</summary>
    public bool IsSigned(string artwork) => _representative.ContainsKey(artwork);

    /// <summary>The photograph whose signature stands for <paramref name="artwork"/>.</summary>
    /// <exception cref="KeyNotFoundException">The artwork has no signed photograph.</exception>
    public string Representative(string artwork) => _representative[artwork];

    /// <summary>Signatures per row: the whole, then its details.</summary>
    public int Parts => _parts;

    /// <summary>The cosine distance between two artworks' signatures (<see cref="CosineRanking.ImageDistance(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{double}, ReadOnlySpan{double})"/>).</summary>
    public double Distance(string a, string b)
    {
        var (i, j) = (_rowOf[Representative(a)], _rowOf[Representative(b)]);
        return CosineRanking.ImageDistance(Row(i), Row(j), _parts, _squaredNorms.AsSpan(i * _parts, _parts), _squaredNorms.AsSpan(j * _parts, _parts));
    }

    /// <summary>
    /// Artworks in ascending distance from <paramref name="artwork"/> (the other photographs of each folded into its
    /// first), the artwork itself left out, read lazily: each further stretch ranks twice as many photographs, so a
    /// caller that stops after a few pays for a few.
    /// </summary>
    public IEnumerable<string> Nearest(string artwork)
    {
        var query = _rowOf[Representative(artwork)];
        var seen = new HashSet<string>(StringComparer.Ordinal) { artwork };
        var returned = 0;
        for (var count = 32; ; count *= 2)
        {
            var rows = CosineRanking.Nearest(_signatures.Span, _dimension, _squaredNorms, Row(query), count, exclude: query, _parts);
            var folded = rows.Select(r => _duplicates.Canonical(Ids[r.Row])).Where(a => !string.Equals(a, artwork, StringComparison.Ordinal))
                .Distinct(StringComparer.Ordinal).ToArray();
            for (var i = returned; i < folded.Length; i++)
            {
                if (seen.Add(folded[i]))
                {
                    yield return folded[i];
                }
            }
            returned = folded.Length;
            if (rows.Length < count)
            {
                yield break;
            }
        }
    }

    private ReadOnlySpan<float> Row(int row) => _signatures.Span.Slice(row * _dimension, _dimension);
}
