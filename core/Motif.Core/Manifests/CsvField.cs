namespace Motif.Core.Manifests;

/// <summary>
/// One text cell of a CSV that Motif writes, with formula injection neutralised. Text cells hold uploaded names, i.e.
/// hostile text, and a spreadsheet opening the CSV runs a cell that starts a formula. The RFC 4180 quoting is
/// CsvHelper's (its writer quotes a field that holds a comma, a quote, CR or LF, and only then).
/// </summary>
internal static class CsvField
{
    /// <summary>
    /// <paramref name="text"/> as one cell's text. A cell starting with <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, a tab or a
    /// carriage return gets a single quote in front, as OWASP's CSV injection advice says: spreadsheets then take the cell
    /// as text and do not show the quote. The prefix comes before quoting, so the quoted cell still reads back as the
    /// prefixed text. Numbers are not text cells: a negative number is written as it is. (CsvHelper's own
    /// <c>CsvInjection.Escape</c> also quotes every such cell, which would change every existing clusters.csv.)
    /// </summary>
    public static string Text(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Length > 0 && text[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + text : text;
    }
}
