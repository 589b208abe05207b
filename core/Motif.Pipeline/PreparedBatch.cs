using System.Diagnostics;
using Motif.Storage;

namespace Motif.Pipeline;

/// <summary>
/// A batch of signature jobs between its two halves: received, looked up, downloaded and preprocessed, waiting for
/// its forward pass. <see cref="Ready"/> lists the jobs still to sign, their inputs packed in that order in
/// <see cref="Inputs"/>; the rest of <see cref="Messages"/> were settled while preparing.
/// </summary>
internal sealed class PreparedBatch(IReadOnlyList<ReceivedMessage> messages, DateTimeOffset receivedAt)
{
    private readonly List<ActivityLink> _links = [];
    private ActivityContext _parent;

    /// <summary>What a receive that found the queue empty hands over: the idle report.</summary>
    public static PreparedBatch Empty { get; } = new([], default);

    public IReadOnlyList<ReceivedMessage> Messages { get; } = messages;

    public List<(ReceivedMessage Message, SignatureJob Job)> Ready { get; } = [];

    /// <summary><see cref="SigningRun.Commits"/> before this batch's catalog lookups: later commits may be unseen by them.</summary>
    public int SeenCommits { get; set; }

    public float[] Inputs { get; set; } = [];

    public int AlreadySigned { get; set; }

    public int Failed { get; set; }

    /// <summary>How long the oldest job of the batch waited in the queue.</summary>
    public TimeSpan QueueWait { get; } = messages.Count == 0 ? TimeSpan.Zero : receivedAt - messages.Min(m => m.EnqueuedAt);

    public TimeSpan PrepareTime { get; set; }

    /// <summary>Notes the trace a job was sent in: the batch's activity continues the first and links every one.</summary>
    public void Trace(SignatureJob job)
    {
        if (job.TraceParent is { } traceParent && ActivityContext.TryParse(traceParent, null, isRemote: true, out var context))
        {
            if (_links.Count == 0)
            {
                _parent = context;
            }
            _links.Add(new ActivityLink(context));
        }
    }

    /// <summary>The batch's activity in <paramref name="source"/>, child of the first job's trace; null when nobody listens.</summary>
    public Activity? StartActivity(ActivitySource? source) =>
        source?.StartActivity("sign batch", ActivityKind.Consumer, _parent, links: _links);
}

/// <summary>
/// What one signing loop's consumer remembers of its own recent commits, for the producer's lookups that may have
/// missed them: a batch prepared while the one before it was being signed looked its contents up before that commit.
/// </summary>
internal sealed class SigningRun(HeldMessages held)
{
    /// <summary>Commits remembered: more than the batches that can be prepared ahead (the channel holds at most a few).</summary>
    private const int Remembered = 16;

    private readonly Queue<(int Serial, HashSet<string> Contents)> _recent = new();
    private int _commits;

    public HeldMessages Held { get; } = held;

    /// <summary>How many batches this run has recorded in the catalog.</summary>
    public int Commits => Volatile.Read(ref _commits);

    /// <summary>Remembers the contents of a batch just recorded in the catalog (consumer only).</summary>
    public void Committed(IEnumerable<string> contents)
    {
        var serial = Interlocked.Increment(ref _commits);
        _recent.Enqueue((serial, new HashSet<string>(contents, StringComparer.Ordinal)));
        if (_recent.Count > Remembered)
        {
            _recent.Dequeue();
        }
    }

    /// <summary>
    /// Whether this run committed <paramref name="contentHash"/> after <paramref name="seenCommits"/>; null when those
    /// commits are no longer remembered (then ask the catalog).
    /// </summary>
    public bool? CommittedSince(int seenCommits, string contentHash)
    {
        if (_recent.Count > 0 && _recent.Peek().Serial > seenCommits + 1)
        {
            return null;
        }
        return _recent.Any(c => c.Serial > seenCommits && c.Contents.Contains(contentHash));
    }
}
