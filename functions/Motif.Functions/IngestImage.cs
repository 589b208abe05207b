using Azure.Storage.Blobs;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Motif.Core;
using Motif.Imaging;
using Motif.Pipeline;
using Motif.Pipeline.Composition;
using Motif.Storage.Blobs;

namespace Motif.Functions;

/// <summary>
/// Intake of one upload: the blob <c>uploads/{collection}/{path}</c> becomes the image <c>{collection}/{path}</c>
/// through <see cref="IngestService"/> (validate, derivatives, catalog, signature job; or quarantine with the reason).
/// </summary>
/// <remarks>
/// <para><b>Trigger.</b> Event Grid source: Flex Consumption supports no other for blobs, and it does not poll.
/// The path is <c>uploads/{name}</c>, with the whole blob name bound to <c>name</c> and split here: a blob path
/// parameter matches greedily across slashes (<c>.*</c>), so <c>uploads/{collection}/{path}</c> would give
/// <c>collection</c> every segment but the last; <c>{*path}</c> is ASP.NET routing, not blob path syntax.</para>
/// <para><b>Outcomes.</b> A bad image is quarantined and the invocation succeeds: retrying cannot fix the bytes. A
/// hostile name is refused with a quarantine record and succeeds too. A storage failure throws, so the host retries
/// (host.json); intake is idempotent on the content hash, so a retry or a duplicate event adds nothing.</para>
/// <para><b>metadata.csv.</b> The blob <c>uploads/{collection}/metadata.csv</c> is the museum's metadata for that
/// collection, not an image: it is imported here (<see cref="MetadataStore"/>, its filenames relative to
/// <c>{collection}/</c>), replacing the collection's previous import, and never catalogued. Imported at its upload
/// rather than by the timer because the upload is when it changes, and the timer must stay a reader of the graph. Its
/// images may arrive before or after it: rows naming none are kept and counted in the log. A file refused whole (too
/// large, no filename column) is logged and the previous import stands; retrying cannot fix it, so the invocation
/// succeeds. A <c>metadata.csv</c> deeper in a collection is an ordinary upload (and rejected as no image).</para>
/// <para><b>One read of the upload.</b> The trigger binds a <see cref="BlobClient"/>, which costs no request (a
/// <see cref="Stream"/> would have the host start a GET before the function runs); the function reads the upload through
/// the uploads store in one GET, whose response carries the ETag of exactly the bytes it returns. (A HEAD for the ETag
/// beside the host's GET could pair one version's stamp with another's bytes, and a later upload would then look current.)
/// The length in the response headers is checked before the body is read, so an oversized upload is rejected
/// without reading it, and the body is read to at most <see cref="ValidationLimits.MaxBytes"/> + 1 bytes, whatever the
/// headers said. A duplicate event with the stamp already recorded closes the response without reading the body.</para>
/// </remarks>
public sealed class IngestImage(IngestService ingest, MetadataStore metadata, [FromKeyedServices(MotifPipeline.Uploads)] IBlobStore uploads, ILogger<IngestImage> logger)
{
    /// <summary>
    /// Takes in the upload <paramref name="name"/> (the blob name inside the uploads container). <paramref name="upload"/>
    /// is the trigger's handle on the same blob; it is not read (see the remarks).
    /// </summary>
    /// <returns>What intake did; <see cref="IngestOutcome.Rejected"/> also for a refused name or metadata file,
    /// <see cref="IngestOutcome.Unchanged"/> for a blob already gone, <see cref="IngestOutcome.Accepted"/> for an imported metadata file.</returns>
    [Function(nameof(IngestImage))]
    public async Task<IngestOutcome> RunAsync(
        [BlobTrigger("uploads/{name}", Source = BlobTriggerSource.EventGrid, Connection = "MotifStorage")] BlobClient upload,
        string name,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        var imageId = UploadName.ToImageId(name, out var problem);
        if (imageId is null)
        {
            await ingest.RefuseNameAsync(name ?? string.Empty, problem, cancellationToken).ConfigureAwait(false);
            return IngestOutcome.Rejected;
        }

        BlobDownload download;
        try
        {
            download = await uploads.GetAsync(imageId, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            logger.LogInformation("Upload {ImageId} was deleted before intake", imageId);
            return IngestOutcome.Unchanged;
        }
        await using (download.ConfigureAwait(false))
        {
            if (CollectionOfMetadata(imageId) is { } collection)
            {
                return await ImportMetadataAsync(collection, imageId, download.Content, download.Properties.ContentLength, cancellationToken).ConfigureAwait(false);
            }
            return await ingest.IngestAsync(imageId, new Upload(download), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The collection prefix (<c>{collection}/</c>) when <paramref name="imageId"/> is a collection's metadata.csv, else null.</summary>
    internal static string? CollectionOfMetadata(string imageId)
    {
        var slash = imageId.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && string.Equals(imageId[(slash + 1)..], Core.Metadata.MetadataCsv.FileName, StringComparison.Ordinal) ? imageId[..(slash + 1)] : null;
    }

    private async Task<IngestOutcome> ImportMetadataAsync(string collection, string name, Stream content, long length, CancellationToken cancellationToken)
    {
        const int limit = Core.Metadata.MetadataCsv.MaxBytes;
        if (length > limit)
        {
            logger.LogWarning("Metadata {Name} refused, the previous import stands: it has {Length:N0} bytes, at most {Limit:N0} are read", name, length, limit);
            return IngestOutcome.Rejected;
        }
        // Bounded again, in case the blob grew since its properties were read.
        if (await BoundedRead.ReadAtMostAsync(content, limit, cancellationToken).ConfigureAwait(false) is not { } bytes)
        {
            logger.LogWarning("Metadata {Name} refused, the previous import stands: it grew past {Limit:N0} bytes while it was read", name, limit);
            return IngestOutcome.Rejected;
        }
        try
        {
            var import = await metadata.ImportAsync(collection, bytes, file => collection + file, cancellationToken).ConfigureAwait(false);
            logger.LogInformation(
                "Metadata {Name}: {Imported} of {Records} rows imported, {Refused} refused, {Unknown} naming no catalogued image yet, {Changed} changed, ignored columns {Ignored}; first problems: {Problems}",
                name, import.Imported, import.Records, import.Refused.Count, import.Unknown.Count, import.Notes.Count, import.IgnoredColumns,
                string.Join(" | ", import.Refused.Concat(import.Unknown).Take(5).Select(p => $"line {p.Line}: {p.Message}")));
            return IngestOutcome.Accepted;
        }
        catch (FormatException e)
        {
            logger.LogWarning("Metadata {Name} refused, the previous import stands: {Reason}", name, e.Message);
            return IngestOutcome.Rejected;
        }
    }

    /// <summary>
    /// What the host binds to <see cref="RunAsync"/>'s trigger parameter, for a runner that stands in for it (<c>motif dev</c>,
    /// the tests): the client of the upload <paramref name="name"/> in the uploads container. Creating it costs no request.
    /// </summary>
    public static BlobClient TriggerHandle(IServiceProvider services, string name)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.GetRequiredService<BlobServiceClient>()
            .GetBlobContainerClient(services.GetRequiredService<MotifPipelineOptions>().UploadsContainer)
            .GetBlobClient(name);
    }

    /// <summary>The triggering blob: its ETag is the stamp, its length is checked before a byte is read.</summary>
    private sealed class Upload(BlobDownload download) : IntakeSource
    {
        public override string Stamp => download.Properties.ETag;

        public override async Task<IntakeRead> ReadAsync(ValidationLimits limits, CancellationToken cancellationToken)
        {
            var limit = limits.MaxBytes;
            if (download.Properties.ContentLength > limit)
            {
                return TooLarge(download.Properties.ContentLength, limit);
            }
            var bytes = await BoundedRead.ReadAtMostAsync(download.Content, limit, cancellationToken).ConfigureAwait(false);
            return bytes is null ? TooLarge(limit + 1, limit) : IntakeRead.Of(bytes);
        }

        private static IntakeRead TooLarge(long length, long limit) => IntakeRead.Refused(RejectionReason.FileTooLarge, length,
            $"The upload has {length:N0} bytes; at most {limit:N0} are accepted. It was not read.");
    }
}
