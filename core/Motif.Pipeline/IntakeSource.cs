using Motif.Core;
using Motif.Imaging;

namespace Motif.Pipeline;

/// <summary>
/// One file or upload as intake meets it, before reading it: a stamp that names the version (a file's length and
/// modification time, a blob's ETag) and a read bounded by the validation limits.
/// </summary>
/// <remarks>
/// <see cref="IngestService.IngestAsync(string, IntakeSource, CancellationToken)"/> looks the image up once, compares the
/// stamp, and reads only when the version is new: a rerun over an unchanged folder, or a duplicate BlobCreated event,
/// then costs one catalog read and no byte of the file.
/// </remarks>
public abstract class IntakeSource
{
    /// <summary>The version of the file or upload, known without reading it.</summary>
    public abstract string Stamp { get; }

    /// <summary>
    /// The bytes, or why they cannot be read (too large, a link, an I/O error). Never more than
    /// <see cref="ValidationLimits.MaxBytes"/> + 1 bytes are read, whatever length the source claimed.
    /// </summary>
    public abstract Task<IntakeRead> ReadAsync(ValidationLimits limits, CancellationToken cancellationToken);
}

/// <summary>What an <see cref="IntakeSource"/> gave: the bytes, or a refusal with its reason.</summary>
public sealed record IntakeRead
{
    private IntakeRead(ReadOnlyMemory<byte> bytes, long byteLength, RejectionReason? refusal, string? message)
    {
        Bytes = bytes;
        ByteLength = byteLength;
        Refusal = refusal;
        Message = message;
    }

    /// <summary>The content; empty when refused.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>The length read, or the length known when refused (what the quarantine record reports).</summary>
    public long ByteLength { get; }

    /// <summary>Null when read.</summary>
    public RejectionReason? Refusal { get; }

    /// <summary>Why it was refused, for the curator.</summary>
    public string? Message { get; }

    public static IntakeRead Of(ReadOnlyMemory<byte> bytes) => new(bytes, bytes.Length, null, null);

    public static IntakeRead Refused(RejectionReason reason, long byteLength, string message) =>
        new(ReadOnlyMemory<byte>.Empty, byteLength, reason, message ?? throw new ArgumentNullException(nameof(message)));
}
