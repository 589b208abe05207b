using System.Globalization;

namespace Motif.Core;

/// <summary>
/// The one rule for characters that uploaded names, CSV cells and curators' notes may not carry into a catalog key, a
/// log line, a CSV or a page unannounced: control characters, invisible formatting (bidirectional embeddings,
/// overrides and isolates, zero-width characters, the BOM), line and paragraph separators, and unpaired surrogates.
/// A surrogate pair (an emoji, a CJK extension character) is one character and is allowed.
/// </summary>
public static class HostileText
{
    /// <summary>Whether <paramref name="c"/> is one of the characters the rule refuses (a surrogate half counts: see <see cref="FirstUnsafe"/> for pairs).</summary>
    public static bool IsUnsafe(char c) => char.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format
        or UnicodeCategory.Surrogate or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;

    /// <summary>
    /// The index of the first character of <paramref name="text"/> that the rule refuses, or of the first
    /// <paramref name="alsoRefused"/> character; -1 when there is none. Surrogate pairs are skipped whole.
    /// </summary>
    public static int FirstUnsafe(string text, char? alsoRefused = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }
            if (IsUnsafe(c) || c == alsoRefused)
            {
                return i;
            }
        }
        return -1;
    }
}
