using System.Globalization;
using System.Text;

namespace Motif.Cli;

/// <summary>Makes untrusted text (file names, decoder messages) safe to print on a terminal.</summary>
public static class Display
{
    /// <summary>
    /// Escapes control characters (which could move the cursor or rewrite earlier lines through terminal escape
    /// sequences) and bidirectional overrides (which could disguise a name, e.g. "gpj.exe" shown as "exe.jpg")
    /// as <c>\u{XXXX}</c>; everything else passes through.
    /// </summary>
    public static string Safe(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        StringBuilder? escaped = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var unsafeChar = char.IsControl(c) || c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069' or '\u200E' or '\u200F';
            if (unsafeChar)
            {
                escaped ??= new StringBuilder(text, 0, i, text.Length + 16);
                escaped.Append(CultureInfo.InvariantCulture, $"\\u{{{(int)c:X4}}}");
            }
            else
            {
                escaped?.Append(c);
            }
        }
        return escaped?.ToString() ?? text;
    }
}
