namespace Motif.Core;

/// <summary>
/// Why an uploaded file was refused. Every rejected file lands in quarantine with one of these, so a
/// museum's digital team can see at a glance what to fix. The codes (see <see cref="RejectionReasons.Code"/>)
/// are stable: they are written into quarantine records and reports.
/// </summary>
public enum RejectionReason
{
    /// <summary>The file has no bytes.</summary>
    Empty,

    /// <summary>The file is larger than the configured byte limit; it was not read.</summary>
    FileTooLarge,

    /// <summary>The bytes are not an image format the decoder recognises (a text file named .jpg, say).</summary>
    UnknownFormat,

    /// <summary>A recognised format that Motif does not accept (GIF, PDF, SVG… unless configured).</summary>
    UnsupportedFormat,

    /// <summary>The header declares more pixels than the limit: refused before any pixel is decoded.</summary>
    TooManyPixels,

    /// <summary>The shorter side is below the minimum a signature needs.</summary>
    TooSmall,

    /// <summary>The header or the pixel data is damaged or truncated.</summary>
    Corrupt,

    /// <summary>
    /// The file could not be read at all: permissions, an I/O error, a symbolic link (never followed), not a regular file
    /// (a FIFO, socket or device: never opened), or a path longer than the system allows.
    /// </summary>
    Unreadable,

    /// <summary>The upload's name cannot be an image id (control characters, a <c>..</c> segment, too long); it was not read.</summary>
    InvalidName,
}

/// <summary>Stable text codes for <see cref="RejectionReason"/>.</summary>
public static class RejectionReasons
{
    /// <summary>The code written to quarantine records and reports, e.g. <c>too-many-pixels</c>.</summary>
    public static string Code(this RejectionReason reason) => reason switch
    {
        RejectionReason.Empty => "empty",
        RejectionReason.FileTooLarge => "file-too-large",
        RejectionReason.UnknownFormat => "unknown-format",
        RejectionReason.UnsupportedFormat => "unsupported-format",
        RejectionReason.TooManyPixels => "too-many-pixels",
        RejectionReason.TooSmall => "too-small",
        RejectionReason.Corrupt => "corrupt",
        RejectionReason.Unreadable => "unreadable",
        RejectionReason.InvalidName => "invalid-name",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    /// <summary>The reason for a code written by <see cref="Code"/>.</summary>
    public static RejectionReason Parse(string code)
    {
        foreach (var reason in Enum.GetValues<RejectionReason>())
        {
            if (reason.Code() == code)
            {
                return reason;
            }
        }
        throw new FormatException($"Unknown rejection code '{code}'.");
    }
}
