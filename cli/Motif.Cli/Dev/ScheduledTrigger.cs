using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using NCrontab;

namespace Motif.Cli.Dev;

/// <summary>
/// <c>motif dev</c>'s stand-in for a timer trigger: the same six-field CRON expression (with seconds, as the Functions
/// timer reads it, NCrontab) in UTC, plus runs on demand — what the real host's <c>POST /admin/functions/{name}</c>
/// does. Runs never overlap: a tick that comes while a run is going is skipped, as the host skips it.
/// </summary>
internal sealed class ScheduledTrigger(string schedule, Func<CancellationToken, Task<object?>> run, ILogger logger, TimeProvider? time = null)
{
    private readonly CrontabSchedule _schedule = Parse(schedule);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Channel<TaskCompletionSource<object?>> _demands = Channel.CreateUnbounded<TaskCompletionSource<object?>>();

    /// <summary>The schedule, or an ArgumentException that says what is wrong with it.</summary>
    public static CrontabSchedule Parse(string schedule)
    {
        try
        {
            return CrontabSchedule.Parse(schedule, new CrontabSchedule.ParseOptions { IncludingSeconds = true });
        }
        catch (CrontabException e)
        {
            throw new ArgumentException($"'{schedule}' is not a six-field CRON schedule (second minute hour day month weekday): {e.Message}", nameof(schedule));
        }
    }

    public DateTime NextOccurrence => _schedule.GetNextOccurrence(_time.GetUtcNow().UtcDateTime);

    /// <summary>Asks for a run now; completes with the run's result when it has finished (faulted if it failed).</summary>
    public Task<object?> RunNowAsync()
    {
        var done = new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _demands.Writer.TryWrite(done);
        return done.Task;
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var due = NextOccurrence - _time.GetUtcNow().UtcDateTime;
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var tick = Task.Delay(due > TimeSpan.Zero ? due : TimeSpan.Zero, _time, wait.Token);
            var demand = _demands.Reader.WaitToReadAsync(wait.Token).AsTask();
            await Task.WhenAny(tick, demand);
            await wait.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
            var waiting = new List<TaskCompletionSource<object?>>();
            while (_demands.Reader.TryRead(out var d))
            {
                waiting.Add(d);
            }
            try
            {
                var result = await run(cancellationToken);
                waiting.ForEach(w => w.TrySetResult(result));
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                logger.LogError("The scheduled run failed: {Message}", e.Message);
                waiting.ForEach(w => w.TrySetException(e));
            }
        }
    }
}
