using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Motif.Core;
using Motif.Imaging;
using Motif.Pipeline;
using Motif.Pipeline.Composition;
using Motif.Storage;

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
/// <para><b>Bounded read.</b> The blob's length is read from its properties first and an oversized blob is rejected
/// without reading it; the content stream is then read to at most <see cref="Imaging.ValidationLimits.MaxBytes"/> + 1
/// bytes, in case the blob grew in between.</para>
/// </remarks>
public sealed class IngestImage(IngestService ingest, [FromKeyedServices(MotifPipeline.Uploads)] IBlobStore uploads, ILogger<IngestImage> logger)
{
    /// <summary>Takes in the upload <paramref name="name"/> (the blob name inside the uploads container) read from <paramref name="content"/>.</summary>
    /// <returns>What intake did; <see cref="IngestOutcome.Rejected"/> also for a refused name, <see cref="IngestOutcome.Unchanged"/> for a blob already gone.</returns>
    [Function(nameof(IngestImage))]
    public async Task<IngestOutcome> RunAsync(
        [BlobTrigger("uploads/{name}", Source = BlobTriggerSource.EventGrid, Connection = "MotifStorage")] Stream content,
        string name,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var imageId = UploadName.ToImageId(name, out var problem);
        if (imageId is null)
        {
            await ingest.RefuseNameAsync(name ?? string.Empty, problem, cancellationToken).ConfigureAwait(false);
            return IngestOutcome.Rejected;
        }

        var properties = await uploads.GetPropertiesAsync(imageId, cancellationToken).ConfigureAwait(false);
        if (properties is null)
        {
            logger.LogInformation("Upload {ImageId} was deleted before intake", imageId);
            return IngestOutcome.Unchanged;
        }
        return await ingest.IngestAsync(imageId, new Upload(properties, content), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The triggering blob: its ETag is the stamp, its length is checked before a byte is read.</summary>
    private sealed class Upload(BlobProperties properties, Stream content) : IntakeSource
    {
        public override string Stamp => properties.ETag;

        public override async Task<IntakeRead> ReadAsync(ValidationLimits limits, CancellationToken cancellationToken)
        {
            var limit = limits.MaxBytes;
            if (properties.ContentLength > limit)
            {
                return TooLarge(properties.ContentLength, limit);
            }
            var bytes = await ReadAtMostAsync(content, limit + 1, cancellationToken).ConfigureAwait(false);
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
