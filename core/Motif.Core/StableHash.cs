using System.Text;

namespace Motif.Core;

/// <summary>
/// A hash that never changes between runs, processes or .NET versions (string.GetHashCode is randomised per process),
/// for seeding random generators from names: FNV-1a, 32 bits (Fowler, Noll &amp; Vo; the parameters of
/// http://www.isthe.com/chongo/tech/comp/fnv/). Not for security: anyone can choose inputs that collide.
/// </summary>
public static class StableHash
{
    private const uint OffsetBasis = 2166136261;
    private const uint Prime = 16777619;

    /// <summary>FNV-1a of <paramref name="text"/>'s UTF-8 bytes.</summary>
    public static uint Fnv1a(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Fnv1a(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>FNV-1a of <paramref name="bytes"/>, continuing from <paramref name="hash"/> (the offset basis to start).</summary>
    public static uint Fnv1a(ReadOnlySpan<byte> bytes, uint hash = OffsetBasis)
    {
        foreach (var b in bytes)
        {
            hash = unchecked((hash ^ b) * Prime);
        }
        return hash;
    }
}
