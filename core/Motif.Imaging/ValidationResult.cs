using Motif.Core;

namespace Motif.Imaging;

/// <summary>The outcome of <see cref="ImageCodec.Validate"/>: accepted with its header, or rejected with a reason.</summary>
public abstract record ValidationResult
{
    private ValidationResult()
    {
    }

    /// <summary>The whole image decoded without error and is within the limits.</summary>
    public sealed record Accepted(ImageInfo Info) : ValidationResult;

    /// <summary>Refused; <paramref name="Message"/> says why in words (the decoder's own when it failed).</summary>
    public sealed record Rejected(RejectionReason Reason, string Message) : ValidationResult;
}

/// <summary>Thrown by <see cref="ImageCodec"/> operations other than Validate when an image cannot be used.</summary>
public sealed class ImageRejectedException(RejectionReason reason, string message) : Exception(message)
{
    public RejectionReason Reason { get; } = reason;
}
