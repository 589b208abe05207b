using System.Text;

namespace Motif.Core.Tests;

public sealed class ContentHashTests
{
    [Fact]
    public void Hash_is_sha256_in_lowercase_hex()
    {
        // FIPS 180-2 test vector for "abc".
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ContentHash.Of("abc"u8).Hex);
    }

    [Fact]
    public async Task Stream_and_span_give_the_same_hash()
    {
        var bytes = Encoding.UTF8.GetBytes(new string('x', 100_000));

        var fromStream = await ContentHash.OfAsync(new MemoryStream(bytes));

        Assert.Equal(ContentHash.Of(bytes), fromStream);
    }

    [Fact]
    public void Parse_round_trips_and_refuses_anything_else()
    {
        var hash = ContentHash.Of([1, 2, 3]);

        Assert.Equal(hash, ContentHash.Parse(hash.ToString().ToUpperInvariant()));
        Assert.Throws<FormatException>(() => ContentHash.Parse("abc"));
        Assert.Throws<FormatException>(() => ContentHash.Parse(new string('g', 64)));
        Assert.Throws<FormatException>(() => ContentHash.Parse("../" + new string('a', 61)));
    }
}
