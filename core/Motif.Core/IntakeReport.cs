namespace Motif.Core;

/// <summary>What happened to one file at intake.</summary>
/// <param name="Path">The file's path relative to the intake root, '/'-separated.</param>
/// <param name="Bytes">The file's length.</param>
/// <param name="Hash">The content hash; null when the file was not read (too large).</param>
/// <param name="Format">The detected format when accepted (e.g. "jpeg"); null when rejected.</param>
/// <param name="Rejection">Null when accepted.</param>
/// <param name="Message">The decoder's or validator's explanation when rejected.</param>
public sealed record IntakeItem(string Path, long Bytes, ContentHash? Hash, string? Format, RejectionReason? Rejection, string? Message)
{
    public bool Accepted => Rejection is null;
}

/// <summary>
/// The outcome of validating a set of files: every file is either accepted or rejected with a reason,
/// none is dropped. Duplicate content (same <see cref="ContentHash"/> under several names) is counted
/// because ingest treats those as one image.
/// </summary>
public sealed class IntakeReport
{
    public IntakeReport(IEnumerable<IntakeItem> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        Items = items.OrderBy(i => i.Path, StringComparer.Ordinal).ToArray();
        var paths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in Items)
        {
            if (!paths.Add(item.Path))
            {
                throw new ArgumentException($"The path '{item.Path}' appears twice.", nameof(items));
            }
        }
    }

    /// <summary>Every file, ordered by path (ordinal).</summary>
    public IReadOnlyList<IntakeItem> Items { get; }

    public int Accepted => Items.Count(i => i.Accepted);

    public int Rejected => Items.Count - Accepted;

    /// <summary>Accepted files per detected format, e.g. jpeg → 12.</summary>
    public IReadOnlyDictionary<string, int> AcceptedByFormat =>
        Items.Where(i => i.Accepted).GroupBy(i => i.Format ?? "?", StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>Rejected files per reason, in the order of <see cref="RejectionReason"/>.</summary>
    public IReadOnlyList<KeyValuePair<RejectionReason, int>> RejectedByReason =>
        Items.Where(i => !i.Accepted).GroupBy(i => i.Rejection!.Value).OrderBy(g => g.Key)
            .Select(g => KeyValuePair.Create(g.Key, g.Count())).ToArray();

    /// <summary>Accepted files whose content is byte-identical to an accepted file earlier in path order.</summary>
    public int DuplicateContent =>
        Items.Where(i => i.Accepted && i.Hash is not null).GroupBy(i => i.Hash!.Value).Sum(g => g.Count() - 1);
}
