using Microsoft.Extensions.Logging;

namespace Motif.Cli;

/// <summary>
/// Log messages as the command line prints its other diagnostics: one line each on the error writer, "motif: warning:
/// …", with no colour and with control characters escaped (a decoder's message can quote bytes of a hostile file).
/// </summary>
internal sealed class ErrorLog(TextWriter error) : ILoggerProvider, ILogger
{
    private readonly TextWriter _error = TextWriter.Synchronized(error);

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        var level = logLevel switch
        {
            LogLevel.Critical or LogLevel.Error => "error",
            LogLevel.Warning => "warning",
            _ => "note",
        };
        _error.WriteLine($"motif: {level}: {Display.Safe(formatter(state, exception))}");
    }

    public void Dispose()
    {
    }
}
