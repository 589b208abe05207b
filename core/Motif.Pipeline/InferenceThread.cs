namespace Motif.Pipeline;

/// <summary>
/// One dedicated, long-running thread that runs the forward passes of a signing loop, one after another.
/// </summary>
/// <remarks>
/// libtorch gives each calling thread its own OpenMP team: forward passes issued from thread-pool threads would
/// build a team per thread (and oversubscribe the cores), and a blocking forward pass would hold a pool thread the
/// I/O of the next batch needs. A single thread of its own avoids both. Work is queued, never run concurrently; a
/// forward pass that has started runs to the end even when its caller is cancelled (the native call cannot be
/// interrupted, and the model must not be disposed under it), so <see cref="Dispose"/> waits for it.
/// </remarks>
public sealed class InferenceThread : IDisposable
{
    private readonly System.Collections.Concurrent.BlockingCollection<Action> _work = new(boundedCapacity: 4);
    private readonly Thread _thread;

    public InferenceThread(string name = "motif-inference")
    {
        _thread = new Thread(Run) { Name = name, IsBackground = true };
        _thread.Start();
    }

    /// <summary>Runs <paramref name="work"/> on the thread; cancellation only keeps work that has not started from starting.</summary>
    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        cancellationToken.ThrowIfCancellationRequested();
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            if (cancellationToken.IsCancellationRequested)
            {
                done.TrySetCanceled(cancellationToken);
                return;
            }
            try
            {
                done.TrySetResult(work());
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        }, CancellationToken.None);
        return done.Task;
    }

    /// <summary>Lets queued work finish, then ends the thread.</summary>
    public void Dispose()
    {
        if (!_work.IsAddingCompleted)
        {
            _work.CompleteAdding();
            _thread.Join();
            _work.Dispose();
        }
    }

    private void Run()
    {
        foreach (var work in _work.GetConsumingEnumerable())
        {
            work();
        }
    }
}
