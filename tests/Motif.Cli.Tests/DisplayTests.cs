namespace Motif.Cli.Tests;

public sealed class DisplayTests
{
    [Theory]
    [InlineData("plain name.jpg", "plain name.jpg")]
    [InlineData("Ça & ßüé — 東京.tif", "Ça & ßüé — 東京.tif")]
    [InlineData("a\nb", @"a\u{000A}b")]
    [InlineData("\u001b]0;owned\u0007", @"\u{001B}]0;owned\u{0007}")]
    [InlineData("x\u202Egpj.exe", @"x\u{202E}gpj.exe")]
    public void Safe_escapes_only_what_a_terminal_would_act_on(string input, string expected) =>
        Assert.Equal(expected, Display.Safe(input));
}
