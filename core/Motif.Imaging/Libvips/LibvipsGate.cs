namespace Motif.Imaging.Libvips;

/// <summary>
/// Runs libvips work so that every failure is noticed and carries the message of the call that caused it.
/// </summary>
internal static class LibvipsGate
{
    // libvips keeps ONE error buffer for the whole process (iofuncs/error.c appends under a global mutex), and
    // NetVips' VipsException reads it, then clears it, with no idea whose messages it holds: under concurrency a
    // failed call may report another thread's message, or an empty one that thread just cleared. Worse, a call
    // can return success after a failure: when a loader fails inside a tile, the tile cache (iofuncs/tilecache.c)
    // blacks the tile out, emits g_warning("error in tile %d x %d") and stops the pipeline, and vips_avg or a
    // thumbnail may then return over partly black pixels (a truncated JPEG 2000 averages 0.0 under fail_on=error).
    // And some decoders say why only in a warning: libvips' libpng glue turns "IHDR: CRC error" into g_warning and
    // fails with an empty buffer.
    //
    // So calls run concurrently under the read side of this lock, and a call that fails, or during which the
    // tile-failure count moved, is run again alone under the write side after clearing the buffer: that rerun's
    // outcome, error buffer and VIPS warnings are the verdict (another thread's tile failure only costs a
    // harmless rerun). libvips is deterministic for the same bytes and options, so the rerun fails the same way;
    // failures are rare (hostile input), so the success path keeps full parallelism.
    private static readonly ReaderWriterLockSlim Gate = new(LockRecursionPolicy.NoRecursion);

    /// <summary>Runs <paramref name="operation"/>; if it throws NetVips' VipsException or a tile failed while it ran,
    /// reruns it alone and throws <see cref="LibvipsException"/> with exactly that rerun's messages.</summary>
    internal static T Run<T>(Func<T> operation)
    {
        LibvipsRuntime.EnsureInitialised();
        Gate.EnterReadLock();
        try
        {
            var failuresBefore = LibvipsLog.TileFailures;
            var result = operation();
            if (LibvipsLog.TileFailures == failuresBefore)
            {
                return result;
            }
            Discard(result);
        }
        catch (NetVips.VipsException)
        {
            // unattributable: fall through to the exclusive rerun below
        }
        finally
        {
            Gate.ExitReadLock();
        }

        // Outside the read lock: ReaderWriterLockSlim cannot upgrade.
        Gate.EnterWriteLock();
        try
        {
            ErrorBuffer.Take();
            LibvipsLog.BeginCapture();
            var failuresBefore = LibvipsLog.TileFailures;
            T result;
            try
            {
                result = operation();
            }
            catch (NetVips.VipsException e)
            {
                throw new LibvipsException(ErrorBuffer.Reason(LibvipsLog.EndCapture(), e.Message));
            }
            if (LibvipsLog.TileFailures != failuresBefore)
            {
                Discard(result);
                throw new LibvipsException(ErrorBuffer.Reason(LibvipsLog.EndCapture(), ErrorBuffer.Take()));
            }
            return result;
        }
        finally
        {
            LibvipsLog.EndCapture();
            ErrorBuffer.Take();
            Gate.ExitWriteLock();
        }
    }

    // A result that will not be returned may own native memory (an image, rendered pixels): free it.
    private static void Discard<T>(T result) => (result as IDisposable)?.Dispose();
}

/// <summary>A libvips failure with the messages of the call that caused it (see <see cref="LibvipsGate"/>).</summary>
internal sealed class LibvipsException(string message) : Exception(message);
