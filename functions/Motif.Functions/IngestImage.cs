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
/// <para><b>One read of the upload.</b> The trigger binds a <see cref="BlobClient"/>, which costs no request (a
/// <see cref="Stream"/> would have the host start a GET before the function runs); the function reads the upload through
/// the uploads store in one GET, whose response carries the ETag of exactly the bytes it returns. (A HEAD for the ETag
/// beside the host's GET could pair one version's stamp with another's bytes, and a later upload would then look current.)
/// The length in the response headers is checked before the body is read, so an oversized upload is rejected
/// without reading it, and the body is read to at most <see cref="ValidationLimits.MaxBytes"/> + 1 bytes, whatever the
/// headers said. A duplicate event with the stamp already recorded closes the response without reading the body.</para>
/// </remarks>
public sealed class IngestImage(IngestService ingest, [FromKeyedServices(MotifPipeline.Uploads)] IBlobStore uploads, ILogger<IngestImage> logger)
{
    /// <summary>
    /// Takes in the upload <paramref name="name"/> (the blob name inside the uploads container). <paramref name="upload"/>
    /// is the trigger's handle on the same blob; it is not read (see the remarks).
    /// </summary>
    /// <returns>What intake did; <see cref="IngestOutcome.Rejected"/> also for a refused name, <see cref="IngestOutcome.Unchanged"/> for a blob already gone.</returns>
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
            return await ingest.IngestAsync(imageId, new Upload(download), cancellationToken).ConfigureAwait(false);
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
            var bytes = await ReadAtMostAsync(download.Content, limit + 1, cancellationToken).ConfigureAwait(false);
            return bytes.Length > limit ? TooLarge(bytes.Length, limit) : IntakeRead.Of(bytes);
        }

        private static IntakeRead TooLarge(long length, long limit) => IntakeRead.Refused(RejectionReason.FileTooLarge, length,
            $"The upload has {length:N0} bytes; at most {limit:N0} are accepted. It was not read.");

        /// <summary>Up to <paramref name="max"/> bytes of <paramref name="content"/>: a longer stream is cut, and the caller sees it by the length.</summary>
        private static async Task<byte[]> ReadAtMostAsync(Stream content, long max, CancellationToken cancellationToken)
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            while (buffer.Length < max)
            {
                var read = await content.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, max - buffer.Length)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }
                buffer.Write(chunk, 0, read);
            }
            return buffer.ToArray();
        }
    }
}
