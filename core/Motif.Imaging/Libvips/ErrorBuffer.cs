using System.Text.RegularExpressions;

namespace Motif.Imaging.Libvips;

/// <summary>libvips' process-global error buffer as NetVips exposes it, and the reason text made from it.</summary>
internal static partial class ErrorBuffer
{
    private const int MaxLength = 1000;

    /// <summary>
    /// Returns the buffer's text and clears it. NetVips offers no other public access: the constructor of its
    /// VipsException reads vips_error_buffer() into the message and then calls vips_error_clear().
    /// </summary>
    internal static string Take() => new NetVips.VipsException(string.Empty).Message;

    /// <summary>
    /// The reason for one failed call: the decoder's warnings first (libpng's "IHDR: CRC error", libjpeg's
    /// "Corrupt JPEG data: ..."; they usually say why), then the error buffer's lines, each once, without NetVips'
    /// own "unable to call X" preamble when there is anything else, and without the tile cache's bookkeeping;
    /// one line, as reports and CSV files need it.
    /// </summary>
    internal static string Reason(IEnumerable<string> warnings, string errorText)
    {
        // A warning can hold several lines too (libvips' JPEG loader relays libjpeg's messages in one g_warning).
        var lines = warnings
            .Append(errorText)
            .SelectMany(text => text.Split('\n'))
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !Bookkeeping().IsMatch(line))
            .Distinct()
            .ToList();
        var substantive = lines.Where(line => !line.StartsWith("unable to call ", StringComparison.Ordinal)).ToList();
        var chosen = substantive.Count > 0 ? substantive : lines;
        var message = chosen.Count == 0 ? "libvips failed without a message" : string.Join("; ", chosen);
        return message.Length <= MaxLength ? message : message[..MaxLength] + "…";
    }

    // Lines that say a failure happened but not why: tilecache.c's "error in tile 0 x 136" and jpeg2vips.c's
    // "read gave 2 warnings".
    [GeneratedRegex(@"^(error in tile \d+ x \d+|read gave \d+ warnings?)$")]
    private static partial Regex Bookkeeping();
}
