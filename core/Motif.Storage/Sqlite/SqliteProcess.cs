using System.Runtime.InteropServices;

namespace Motif.Storage.Sqlite;

/// <summary>
/// The one process-wide choice the embedded adapters make: which native SQLite every connection in the process uses.
/// </summary>
/// <remarks>
/// libvips loads its modules with RTLD_GLOBAL, and vips-openslide brings the system's libsqlite3 into the global symbol
/// scope; the bundled e_sqlite3 exports the same API names, so its own internal calls (e.g. sqlite3_aggregate_context
/// from COUNT(*)) then bind to the other library's code and crash on its structures. On Linux, when the system library
/// is present, the e_sqlite3 provider's imports are therefore resolved to it, so every caller in the process uses the
/// same SQLite. .NET allows one import resolver per assembly for the life of the process, so this is a process set-up,
/// not an option: hosts call it at start-up (the shared composition's MotifProcess does), and every
/// <see cref="SqliteDatabase"/> calls it before its first connection too, because opening a connection before it would
/// load the bundled library for good. Code that opens a raw <c>SqliteConnection</c> calls it first.
/// </remarks>
public static class SqliteProcess
{
    private static readonly Lazy<bool> Chosen = new(Choose, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Points the SQLite provider at the system library where there is one; idempotent and thread-safe.</summary>
    public static void UseOneSqlite() => _ = Chosen.Value;

    private static bool Choose()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(SQLitePCL.SQLite3Provider_e_sqlite3).Assembly, (name, _, _) =>
                name == "e_sqlite3" && NativeLibrary.TryLoad("libsqlite3.so.0", out var system) ? system : IntPtr.Zero);
            return true;
        }
        catch (InvalidOperationException)
        {
            // Someone registered a resolver for the provider already: theirs stands.
            return false;
        }
    }
}
