namespace Motif.Core.Manifests;

/// <summary>
/// One text cell of a CSV that Motif writes: RFC 4180 quoting, and formula injection neutralised. Text cells hold
/// uploaded names, i.e. hostile text, and a spreadsheet opening the CSV runs a cell that starts a formula.
/// </summary>
internal static class CsvField
{
    /// <summary>
    /// <paramref name="text"/> as one cell. A cell starting with <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, a tab or a
    /// carriage return gets a single quote in front, as OWASP's CSV injection advice says: spreadsheets then take the cell
    /// as text and do not show the quote. The prefix comes before quoting, so the quoted cell still reads back as the
    /// prefixed text. Numbers are not text cells: a negative number is written as it is.
    /// </summary>
    public static string Text(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var cell = text.Length > 0 && text[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + text : text;
        return cell.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : cell;
    }
}
