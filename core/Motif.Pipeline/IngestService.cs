using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Motif.Core;
using Motif.Imaging;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Queues;

namespace Motif.Pipeline;

/// <summary>Options of <see cref="IngestService"/>.</summary>
public sealed record IngestOptions
{
    /// <summary>The model whose signatures are wanted: an image already signed under it is not queued again.</summary>
    public required string ModelVersion { get; init; }

    /// <summary>Long side of the working derivative that signatures are computed from (it must exceed the model's resize side).</summary>
    public int DerivativeSide { get; init; } = DefaultDerivativeSide;

    /// <summary>The <see cref="DerivativeSide"/> that <c>motif run</c> uses, and that viewers may assume.</summary>
    public const int DefaultDerivativeSide = 1024;

    /// <summary>Long side of the thumbnail that viewers show.</summary>
    public int ThumbnailSide { get; init; } = 256;

    public ValidationLimits Limits { get; init; } = ValidationLimits.Default;

    /// <summary>
    /// Which versions' signatures an upload asks for while model versions roll out (<see cref="Models.RolloutIntake"/>),
    /// in a deployment whose worker signs the versions jobs name; null: one unversioned job, for <see cref="ModelVersion"/>
    /// (<c>motif run</c>, which signs missing signatures of the version it runs with itself).
    /// </summary>
    public Models.RolloutIntake? Rollout { get; init; }
}

/// <summary>What intake did with one image.</summary>
public enum IngestOutcome
{
    /// <summary>Seen before with the same source stamp or the same content: nothing was redone.</summary>
    Unchanged,

    /// <summary>Valid: derivative and thumbnail stored, catalogued, signature job queued unless already signed.</summary>
    Accepted,

    /// <summary>Refused: the bytes and a record with the reason are in quarantine, the catalog has the reason.</summary>
    Rejected,
}

/// <summary>
/// Intake of one image (the IngestImage Function, and <c>motif run</c> for each file): validate with libvips,
/// store a derivative and a thumbnail, record the outcome in the catalog and queue the signature job; or put the
/// image in quarantine with its reason. Idempotent: the same content under the same id is a no-op, and blobs are
/// named by content hash and written create-only, so a retried or concurrent intake cannot corrupt anything.
/// </summary>
/// <remarks>
/// The order of writes is what makes a crash harmless: blobs first (content-addressed, so a leftover is reused),
/// then the catalog record, then the job. A crash between the last two leaves an accepted image without a queued
/// job; <see cref="SignatureService.EnqueueMissingAsync"/> finds those from the catalog.
/// The record, accepted or rejected, carries the trace id of the current activity (when it is W3C), as the job carries
/// its traceparent: the job's copy ends with the worker's batch, while the record is what reclustering reads, so the
/// record is how the upload's trace reaches its manifest entry. An unchanged image keeps the trace of the upload that
/// brought its content.
/// </remarks>
public sealed class IngestService(IBlobStore blobs, IImageCatalog catalog, IWorkQueue signatureJobs, IngestOptions options, TimeProvider? time = null, ILogger<IngestService>? logger = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _logger = logger ?? NullLogger<IngestService>.Instance;

    /// <summary>The limits intake validates with (query-by-image validates with them too).</summary>
    public ValidationLimits Limits => options.Limits;

    /// <summary>
    /// Takes in <paramref name="source"/> as the image <paramref name="imageId"/>: nothing is read when the catalog
    /// already holds the outcome for the source's stamp (a rerun over an unchanged folder, a duplicate event); otherwise
    /// the bytes are read within the limits and taken in, or the image is rejected with the reason they could not be read.
    /// </summary>
    /// <remarks>The image is looked up once, here, and the record found is what the rest decides on: a second lookup
    /// would cost a catalog round trip per upload and could not see anything this one does not.</remarks>
    public async Task<IngestOutcome> IngestAsync(string imageId, IntakeSource source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(imageId);
        ArgumentNullException.ThrowIfNull(source);
        var previous = await catalog.GetImageAsync(imageId, cancellationToken).ConfigureAwait(false);
        if (previous is not null && previous.SourceStamp == source.Stamp)
        {
            return IngestOutcome.Unchanged;
        }
        var read = await source.ReadAsync(options.Limits, cancellationToken).ConfigureAwait(false);
        return read.Refusal is { } reason
            ? await RejectUnreadableAsync(imageId, source.Stamp, read.ByteLength, reason, read.Message!, cancellationToken).ConfigureAwait(false)
            : await IngestAsync(imageId, source.Stamp, previous, read.Bytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Validates and takes in the bytes of <paramref name="imageId"/>.</summary>
    public async Task<IngestOutcome> IngestAsync(string imageId, string? sourceStamp, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(imageId);
        var previous = await catalog.GetImageAsync(imageId, cancellationToken).ConfigureAwait(false);
        return await IngestAsync(imageId, sourceStamp, previous, bytes, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IngestOutcome> IngestAsync(string imageId, string? sourceStamp, ImageRecord? previous, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        var hash = ContentHash.Of(bytes.Span).Hex;
        if (previous is not null && previous.ContentHash == hash)
        {
            if (previous.SourceStamp != sourceStamp)
            {
                await catalog.PutImageAsync(previous with { SourceStamp = sourceStamp }, cancellationToken).ConfigureAwait(false);
            }
            return IngestOutcome.Unchanged;
        }

        var validation = ImageCodec.Validate(bytes.Span, options.Limits);
        if (validation is ValidationResult.Rejected rejected)
        {
            await QuarantineAsync(imageId, sourceStamp, bytes, hash, rejected.Reason, rejected.Message, cancellationToken).ConfigureAwait(false);
            return IngestOutcome.Rejected;
        }
        var info = ((ValidationResult.Accepted)validation).Info;
        byte[] derivative, thumbnail;
        try
        {
            derivative = ImageCodec.Derivative(bytes.Span, options.DerivativeSide, quality: 90, options.Limits);
            thumbnail = ImageCodec.Derivative(derivative, options.ThumbnailSide, quality: 80, options.Limits);
        }
        catch (ImageRejectedException e)
        {
            await QuarantineAsync(imageId, sourceStamp, bytes, hash, e.Reason, e.Message, cancellationToken).ConfigureAwait(false);
            return IngestOutcome.Rejected;
        }
        await PutOnceAsync(CollectionBlobs.Derivative(hash), derivative, "image/jpeg", cancellationToken).ConfigureAwait(false);
        await PutOnceAsync(CollectionBlobs.Thumbnail(hash), thumbnail, "image/jpeg", cancellationToken).ConfigureAwait(false);
        await catalog.PutImageAsync(new ImageRecord(imageId, sourceStamp, hash, bytes.Length, ImageStatus.Accepted, null, null,
            info.Format.Code(), info.DisplayWidth, info.DisplayHeight, _time.GetUtcNow()) { TraceId = CurrentTrace.TraceId }, cancellationToken).ConfigureAwait(false);
        // After the catalog record: see RolloutIntake for why the pointer is read only now.
        var wanted = options.Rollout is { } rollout
            ? await rollout.SignaturesAsync(cancellationToken).ConfigureAwait(false)
            : [new Models.IntakeSignature(null, options.ModelVersion)];
        foreach (var (modelVersion, signatureVersion) in wanted)
        {
            if (await catalog.GetSignatureAsync(signatureVersion, hash, cancellationToken).ConfigureAwait(false) is null)
            {
                var job = modelVersion is null ? SignatureJob.For(imageId, hash) : SignatureJob.For(imageId, hash, modelVersion);
                await signatureJobs.SendAsync(job.ToMessage(), cancellationToken).ConfigureAwait(false);
            }
        }
        return IngestOutcome.Accepted;
    }

    /// <summary>
    /// Records an image whose bytes could not be read at all (a link, a file over the byte limit, an I/O error):
    /// it is rejected with <paramref name="reason"/> and a quarantine record without bytes. (The same stamp again never
    /// gets here: <see cref="IngestAsync(string, IntakeSource, CancellationToken)"/> finds it current first.)
    /// </summary>
    private async Task<IngestOutcome> RejectUnreadableAsync(string imageId, string? sourceStamp, long byteLength, RejectionReason reason, string message, CancellationToken cancellationToken)
    {
        await WriteQuarantineRecordAsync(imageId, null, byteLength, reason, message, cancellationToken).ConfigureAwait(false);
        await catalog.PutImageAsync(new ImageRecord(imageId, sourceStamp, null, byteLength, ImageStatus.Rejected, reason.Code(), message, null, 0, 0, _time.GetUtcNow())
            { TraceId = CurrentTrace.TraceId }, cancellationToken).ConfigureAwait(false);
        return IngestOutcome.Rejected;
    }

    /// <summary>
    /// Records an upload whose name cannot be an image id (control characters, a <c>..</c> segment, too long, no
    /// collection): nothing is read and nothing enters the catalog, whose keys are image ids; a quarantine record
    /// under the SHA-256 of the raw name says why, so the museum can find out what happened to the file.
    /// </summary>
    public Task RefuseNameAsync(string rawName, string message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rawName);
        ArgumentNullException.ThrowIfNull(message);
        _logger.LogWarning("Refused an upload name ({Message})", message);
        return WriteQuarantineRecordAsync(rawName, null, 0, RejectionReason.InvalidName, message, cancellationToken);
    }

    /// <summary>
    /// Deletes derivatives and thumbnails whose content no catalogued image has any more (its files were removed or
    /// changed) and that are older than <paramref name="minimumAge"/>: a younger one may belong to an intake that has
    /// written its blobs but not yet its catalog record. Returns how many blobs were deleted.
    /// </summary>
    public async Task<int> SweepOrphanDerivativesAsync(TimeSpan minimumAge, CancellationToken cancellationToken = default)
    {
        var live = (await catalog.ListImagesAsync(cancellationToken).ConfigureAwait(false))
            .Where(i => i.Status == ImageStatus.Accepted && i.ContentHash is not null)
            .SelectMany(i => new[] { CollectionBlobs.Derivative(i.ContentHash!), CollectionBlobs.Thumbnail(i.ContentHash!) })
            .ToHashSet(StringComparer.Ordinal);
        var cutoff = _time.GetUtcNow() - minimumAge;
        return await CollectionBlobs.DeleteUnreferencedAsync(blobs, "derivatives/", live, cutoff, cancellationToken).ConfigureAwait(false)
             + await CollectionBlobs.DeleteUnreferencedAsync(blobs, "thumbnails/", live, cutoff, cancellationToken).ConfigureAwait(false);
    }

    private async Task QuarantineAsync(string imageId, string? sourceStamp, ReadOnlyMemory<byte> bytes, string hash, RejectionReason reason, string message, CancellationToken cancellationToken)
    {
        _logger.LogInformation("Quarantined {ImageId}: {Reason} ({Message})", imageId, reason.Code(), message);
        await PutAsync(CollectionBlobs.Quarantine(imageId) + hash, bytes, "application/octet-stream", null, cancellationToken).ConfigureAwait(false);
        await WriteQuarantineRecordAsync(imageId, hash, bytes.Length, reason, message, cancellationToken).ConfigureAwait(false);
        await catalog.PutImageAsync(new ImageRecord(imageId, sourceStamp, hash, bytes.Length, ImageStatus.Rejected, reason.Code(), message, null, 0, 0, _time.GetUtcNow())
            { TraceId = CurrentTrace.TraceId }, cancellationToken).ConfigureAwait(false);
    }

    private Task WriteQuarantineRecordAsync(string imageId, string? hash, long byteLength, RejectionReason reason, string message, CancellationToken cancellationToken)
    {
        var record = JsonSerializer.SerializeToUtf8Bytes(new QuarantineRecord(imageId, hash, byteLength, reason.Code(), message, _time.GetUtcNow()), Json);
        return PutAsync(CollectionBlobs.Quarantine(imageId) + "record.json", record, "application/json", null, cancellationToken);
    }

    /// <summary>Content-addressed blobs are written once; an existing one (from a crashed or concurrent intake) is the same bytes.</summary>
    private async Task PutOnceAsync(string name, ReadOnlyMemory<byte> bytes, string contentType, CancellationToken cancellationToken)
    {
        try
        {
            await PutAsync(name, bytes, contentType, BlobConditions.CreateOnly, cancellationToken).ConfigureAwait(false);
        }
        catch (BlobStoreException e) when (e.IsConditionFailure)
        {
            // Already there: same name, same content.
        }
    }

    private Task<BlobProperties> PutAsync(string name, ReadOnlyMemory<byte> bytes, string contentType, BlobConditions? conditions, CancellationToken cancellationToken) =>
        blobs.PutAsync(name, new MemoryStream(bytes.ToArray(), writable: false), new BlobPutOptions { ContentType = contentType, Conditions = conditions }, cancellationToken);
}

/// <summary>The quarantine record of a rejected image (<c>quarantine/{key}/record.json</c>); the bytes, when any were read, sit beside it named by their content hash.</summary>
public sealed record QuarantineRecord(string ImageId, string? ContentHash, long ByteLength, string Reason, string Message, DateTimeOffset RejectedAt);
