using System.Diagnostics;
using Motif.Imaging;
using Motif.Storage.Queues;

namespace Motif.Pipeline;

/// <summary>
/// A batch of signature jobs through its three stages: received, looked up, downloaded and preprocessed (the producer);
/// its turn on the consumer, the forward pass; then its commit, overlapped with the next batch's turn. Until its turn
/// <see cref="Ready"/> lists the jobs still to sign, their inputs packed in that order in <see cref="Inputs"/>; after it,
/// the jobs embedded, their rows in that order in <see cref="Signatures"/>. The rest of <see cref="Messages"/> were
/// settled on the way, except the <see cref="Riders"/>, which wait for the commit before this one.
/// </summary>
internal sealed class PreparedBatch(IReadOnlyList<ReceivedMessage> messages, DateTimeOffset receivedAt)
{
    private readonly List<ActivityLink> _links = [];
    private ActivityContext _parent;

    /// <summary>What a receive that found the queue empty hands over: the idle report.</summary>
    public static PreparedBatch Empty { get; } = new([], default);

    public IReadOnlyList<ReceivedMessage> Messages { get; } = messages;

    /// <summary>The network that signs the batch (one per forward pass; jobs naming other model versions are in other
    /// batches). Set for every batch but <see cref="Empty"/>.</summary>
    public ISignatureEmbedder Embedder { get; init; } = null!;

    public List<(ReceivedMessage Message, SignatureJob Job)> Ready { get; } = [];

    /// <summary><see cref="SigningRun.Commits"/> before this batch's catalog lookups: later commits may be unseen by them.</summary>
    public int SeenCommits { get; set; }

    public float[] Inputs { get; set; } = [];

    public int AlreadySigned { get; set; }

    public int Failed { get; set; }

    /// <summary>How long the oldest job of the batch waited in the queue.</summary>
    public TimeSpan QueueWait { get; } = messages.Count == 0 ? TimeSpan.Zero : receivedAt - messages.Min(m => m.EnqueuedAt);

    public TimeSpan PrepareTime { get; set; }

    /// <summary>Jobs whose content the previous batch's commit, under way at this batch's turn, records: completed by this batch's commit.</summary>
    public List<ReceivedMessage> Riders { get; } = [];

    /// <summary>The rows of <see cref="Ready"/>'s signatures, once the forward pass has run.</summary>
    public float[] Signatures { get; set; } = [];

    /// <summary>The contents of <see cref="Ready"/> as <see cref="SigningRun.Key(ISignatureEmbedder, string)"/> keys: what this batch's commit records.</summary>
    public IReadOnlySet<string> Contents => new HashSet<string>(Ready.Select(r => SigningRun.Key(Embedder, r.Job.ContentHash)), StringComparer.Ordinal);

    /// <summary>When its turn began (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long TurnStarted { get; set; }

    /// <summary>How long the consumer waited for this batch after it was ready for one.</summary>
    public TimeSpan InputWait { get; set; }

    public TimeSpan EmbedTime { get; set; }

    /// <summary>The batch's activity, started at its turn and ended with its commit.</summary>
    public Activity? Activity { get; set; }

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
internal sealed class SigningRun(HeldMessages held, bool decodeBesideForwardPass)
{
    /// <summary>What the run remembers a content by: its signature version and hash, since one loop may sign the same
    /// content under two model versions (a rollout's job and an upload's) and neither settles the other.</summary>
    public static string Key(ISignatureEmbedder embedder, string contentHash) => Key(embedder.ModelVersion, contentHash);

    /// <inheritdoc cref="Key(ISignatureEmbedder, string)"/>
    public static string Key(string version, string contentHash) => version + "\n" + contentHash;

    /// <summary>Commits remembered: more than the batches that can be prepared ahead (the channel holds at most a few).</summary>
    private const int Remembered = 16;

    private readonly Queue<(int Serial, HashSet<string> Contents)> _recent = new();
    // Commits are recorded by the commit task while the consumer checks the next batch: both under this lock.
    private readonly Lock _gate = new();
    private int _commits;

    public HeldMessages Held { get; } = held;

    /// <summary>
    /// Taken by a batch's decoding and by a forward pass: one at a time when they take turns for the CPU's cores
    /// (<see cref="SignatureServiceOptions.DecodeBesideForwardPass"/> false), never a wait otherwise.
    /// </summary>
    public SemaphoreSlim Cores { get; } = new(decodeBesideForwardPass ? int.MaxValue : 1);

    // The contents of the batches prepared lately, newest last: only the producer (the receive loop) reads and writes it.
    private readonly Queue<HashSet<string>> _prepared = new();

    /// <summary>Remembers a prepared batch's contents, for <see cref="RecentlyPrepared"/> (the last <see cref="Remembered"/> batches).</summary>
    public void Prepared(IReadOnlySet<string> contents)
    {
        _prepared.Enqueue(new HashSet<string>(contents, StringComparer.Ordinal));
        if (_prepared.Count > Remembered)
        {
            _prepared.Dequeue();
        }
    }

    /// <summary>Whether a batch prepared lately holds <paramref name="contentHash"/>: a job for it will be settled without
    /// a forward pass, so it does not count towards filling a batch.</summary>
    public bool RecentlyPrepared(string contentHash) => _prepared.Any(c => c.Contains(contentHash));

    /// <summary>How many batches this run has recorded in the catalog.</summary>
    public int Commits => Volatile.Read(ref _commits);

    /// <summary>Remembers the contents of a batch just recorded in the catalog (commits run one at a time).</summary>
    public void Committed(IEnumerable<string> contents)
    {
        var recorded = new HashSet<string>(contents, StringComparer.Ordinal);
        lock (_gate)
        {
            // The serial is published after the contents: a lookup that reads it afterwards finds them remembered.
            _recent.Enqueue((_commits + 1, recorded));
            if (_recent.Count > Remembered)
            {
                _recent.Dequeue();
            }
            Volatile.Write(ref _commits, _commits + 1);
        }
    }

    /// <summary>
    /// Whether this run committed <paramref name="contentHash"/> after <paramref name="seenCommits"/>; null when those
    /// commits are no longer remembered (then ask the catalog).
    /// </summary>
    public bool? CommittedSince(int seenCommits, string contentHash)
    {
        lock (_gate)
        {
            if (_recent.Count > 0 && _recent.Peek().Serial > seenCommits + 1)
            {
                return null;
            }
            return _recent.Any(c => c.Serial > seenCommits && c.Contents.Contains(contentHash));
        }
    }
}
