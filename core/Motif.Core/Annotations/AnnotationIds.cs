using System.Globalization;
using System.Security.Cryptography;

namespace Motif.Core.Annotations;

/// <summary>
/// Annotation ids: <c>yyyyMMddTHHmmssfffffffZ-xxxxxxxxxxxxxxxx</c>, the UTC time the store accepted the annotation
/// to 100 ns, then 64 random bits in lowercase hex. Ordinal order of ids is the order of their times, so a listing of
/// the blobs named by them (blob listings are in name order) is the annotations' history; the random part keeps two
/// annotations made in the same tick on two machines apart. Ids are fixed-alphabet ASCII: safe in blob names, URLs and
/// terminals.
/// </summary>
/// <remarks>Times come from each writer's clock: two annotations made within a clock skew of each other on two hosts
/// may list in either order. Nothing depends on their order but display and the earliest-undo rule of
/// <see cref="AnnotationLog"/>, which only needs an order all readers agree on, and ordinal order of ids is one.</remarks>
public static class AnnotationIds
{
    private const string TimeFormat = "yyyyMMdd'T'HHmmssfffffff'Z'";

    /// <summary>The length of every id.</summary>
    public const int Length = TimeLength + 1 + 16;

    private const int TimeLength = 23;

    /// <summary>A new id for an annotation accepted at <paramref name="time"/>.</summary>
    public static string New(DateTimeOffset time)
    {
        Span<byte> random = stackalloc byte[8];
        RandomNumberGenerator.Fill(random);
        return time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(random);
    }

    /// <summary>Whether <paramref name="id"/> has the form of an id (not whether such an annotation exists).</summary>
    public static bool IsValid(string? id) =>
        id is { Length: Length } && id[TimeLength] == '-' && id[(TimeLength + 1)..].All(char.IsAsciiHexDigitLower) &&
        DateTime.TryParseExact(id[..TimeLength], TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out _);
}
