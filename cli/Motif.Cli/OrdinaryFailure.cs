using Microsoft.Data.Sqlite;

namespace Motif.Cli;

/// <summary>
/// The failures a user causes or can fix (a full or read-only disk, a path that is missing or not allowed, a folder
/// that cannot be listed), told apart from bugs, so that every command answers them with one line and exit code 2
/// instead of a stack trace. Commands describe the failures they can name better themselves (a missing workspace, a
/// busy lease, Azure settings); this is what catches the rest, for every command alike (<see cref="MotifCommands.InvokeAsync"/>).
/// </summary>
internal static class OrdinaryFailure
{
    // Linux errno values. .NET's Unix file APIs put the raw errno in IOException.HResult
    // (Interop.GetExceptionForIoErrno → Interop.GetIOException: new IOException(message, errno)).
    private const int ENOSPC = 28;
    private const int EROFS = 30;
    private const int EDQUOT = 122;

    /// <summary>One line saying what went wrong and what to do, or null when <paramref name="e"/> is not an ordinary failure.</summary>
    public static string? Describe(Exception e)
    {
        // A failure while unwinding (releasing the workspace lease on a full disk fails too) arrives wrapped or as the
        // inner exception of another: the first one we can name is the cause the user can act on.
        if (e is AggregateException aggregate)
        {
            return aggregate.Flatten().InnerExceptions.Select(Describe).FirstOrDefault(m => m is not null);
        }
        return DescribeOne(e) ?? (e.InnerException is { } inner ? Describe(inner) : null);
    }

    private static string? DescribeOne(Exception e) => e switch
    {
        IOException { HResult: ENOSPC or EDQUOT } =>
            $"The disk is full ({e.Message}): free some space and run the command again.",
        IOException { HResult: EROFS } =>
            $"Cannot write to a read-only file system ({e.Message}).",
        // .NET's message names the path: "Access to the path '…' is denied."
        UnauthorizedAccessException => e.Message,
        // FileNotFoundException, DirectoryNotFoundException, PathTooLongException and the rest: the environment, not
        // Motif (a folder that cannot be listed, a file removed while a command ran), and their messages name the path.
        IOException => e.Message,
        SqliteException { SqliteErrorCode: SQLitePCL.raw.SQLITE_FULL } =>
            "The disk holding the workspace's catalog (motif.db) is full: free some space and run the command again.",
        SqliteException { SqliteErrorCode: SQLitePCL.raw.SQLITE_READONLY } =>
            "The workspace's catalog (motif.db) is read-only: it must be writable, even to read it.",
        SqliteException { SqliteErrorCode: SQLitePCL.raw.SQLITE_CANTOPEN } =>
            "SQLite cannot open the workspace's catalog (motif.db) or the journal next to it.",
        _ => null,
    };
}
