using System.Diagnostics;
using System.Diagnostics.Metrics;
using Motif.Pipeline;

namespace Motif.Worker;

/// <summary>
/// The worker's traces and metrics, under the one name "Motif.Worker": an activity per signed batch (continuing the
/// trace of the upload that sent its first job, see <see cref="SignatureJob.TraceParent"/>), and counts and durations
/// of the signing loop. Exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
/// </summary>
public sealed class WorkerTelemetry : IDisposable
{
    public const string Name = "Motif.Worker";

    private readonly Meter _meter;
    private readonly Counter<long> _signed;
    private readonly Counter<long> _failed;
    private readonly Histogram<double> _batchDuration;
    private readonly Histogram<double> _embedDuration;
    private readonly Histogram<double> _queueWait;

    public WorkerTelemetry(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _meter = meters.Create(Name);
        _signed = _meter.CreateCounter<long>("motif.worker.images_signed", "{image}", "Images whose signature this worker computed and recorded.");
        _failed = _meter.CreateCounter<long>("motif.worker.jobs_failed", "{job}", "Jobs dead-lettered as poison (reason recorded in the catalog).");
        _batchDuration = _meter.CreateHistogram<double>("motif.worker.batch.duration", "s", "From a batch's turn to its completion: forward pass, shard, catalog, completions.");
        _embedDuration = _meter.CreateHistogram<double>("motif.worker.embed.duration", "s", "The forward pass of a batch.");
        _queueWait = _meter.CreateHistogram<double>("motif.worker.queue.wait", "s", "How long the oldest job of a batch waited in the queue.");
    }

    public ActivitySource Source { get; } = new(Name);

    public void Record(SignatureBatchReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (report.QueueIdle)
        {
            return;
        }
        _signed.Add(report.Result.Signed);
        _failed.Add(report.Result.Failed);
        _batchDuration.Record(report.SignTime.TotalSeconds);
        _embedDuration.Record(report.EmbedTime.TotalSeconds);
        _queueWait.Record(report.QueueWait.TotalSeconds);
    }

    public void Dispose()
    {
        Source.Dispose();
        _meter.Dispose();
    }
}
