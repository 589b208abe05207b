using Spectre.Console;

namespace Motif.Cli.Tests;

public sealed class CommandConsoleTests
{
    [Fact]
    public void Tables_markup_and_progress_are_plain_text_when_the_output_is_not_the_terminal()
    {
        using var output = new StringWriter();
        var console = CommandConsole.For(output);

        var table = new Table().AddColumn("cluster").AddColumn("size");
        table.AddRow("C1", "12");
        console.Write(table);
        console.MarkupLine("[red bold]signatures[/] done");
        console.Progress().Start(context => context.AddTask("intake").Increment(100));

        var text = output.ToString();
        Assert.DoesNotContain("\u001b", text, StringComparison.Ordinal);   // no ANSI escape: no colour, no cursor movement
        Assert.Contains("C1", text, StringComparison.Ordinal);
        Assert.Contains("signatures done", text, StringComparison.Ordinal);
        Assert.Equal(200, console.Profile.Width);   // a pipe has no width: tables are not wrapped at 80 columns
    }
}
