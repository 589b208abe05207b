using System.Collections.Concurrent;
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

    public List<(ReceivedMessage Message, SignatureJob Job, bool Recheck)> Ready { get; } = [];

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

/// <summary>The state one signing loop shares between its producer and its consumer.</summary>
internal sealed class SigningRun(HeldMessages held)
{
    public HeldMessages Held { get; } = held;

    /// <summary>Content hashes prepared but not yet committed, and the batch that signs each.</summary>
    public ConcurrentDictionary<string, PreparedBatch> InFlight { get; } = new(StringComparer.Ordinal);
}
