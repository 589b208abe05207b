namespace Motif.Core.Tests;

public sealed class HostileTextTests
{
    [Theory]
    [InlineData("museum/plain name.jpg", -1)]
    [InlineData("caf\u00e9/\U0001F3A8.png", -1)]          // a surrogate pair is one character
    [InlineData("evil\u0000.jpg", 4)]                     // control
    [InlineData("\u202Egpj.exe", 0)]                      // bidi override (format)
    [InlineData("zero\u200Bwidth", 4)]                    // zero-width space (format)
    [InlineData("line\u2028sep", 4)]                      // line separator
    public void The_first_refused_character_is_found_and_pairs_pass(string text, int expected) =>
        Assert.Equal(expected, HostileText.FirstUnsafe(text));

    [Fact]
    public void An_unpaired_surrogate_is_refused()
    {
        // Built in code: an attribute's string argument is stored as UTF-8, where an unpaired surrogate becomes U+FFFD.
        Assert.Equal(4, HostileText.FirstUnsafe("half" + (char)0xD83C + ".png"));
        Assert.Equal(0, HostileText.FirstUnsafe((char)0xDC00 + "low"));
        Assert.Equal(3, HostileText.FirstUnsafe("end" + (char)0xD83C));
    }

    [Fact]
    public void An_extra_character_can_be_refused_too()
    {
        Assert.Equal(-1, HostileText.FirstUnsafe("a\\b"));
        Assert.Equal(1, HostileText.FirstUnsafe("a\\b", alsoRefused: '\\'));
    }
}
