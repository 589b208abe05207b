using Motif.Core;
using Motif.Imaging;
using Motif.Storage.Blobs;

namespace Motif.Cli.Dev;

/// <summary>What an upload did: files sent, files already there unchanged, and files that could not be sent, with why.</summary>
internal sealed record UploadReport(int Uploaded, int Unchanged, IReadOnlyList<IntakeItem> Refused);

/// <summary>
/// Uploads a folder into the uploads container the way a museum's digital team would: <c>{collection}/{relative path}</c>,
/// several files at once, and resumable — a file whose blob already carries its source stamp (length and modification
/// time, in the blob's metadata) is not sent again, so an interrupted upload is simply run again.
/// </summary>
/// <remarks>
/// Nothing is skipped silently: a link, a file over the byte limit, an unreadable file or a name the store refuses is
/// reported with its reason; the rest still go up. Whether an image is valid is not decided here: that is IngestImage's
/// job, which quarantines a bad upload with its reason.
/// </remarks>
internal static class CollectionUpload
{
    public const string SourceStampMetadata = "motifsource";

    /// <summary>Letters, digits, '.', '_' and '-', up to 64 characters: a collection is one segment of every blob name below it.</summary>
    public static bool IsValidCollection(string collection) =>
        collection.Length is > 0 and <= 64 && collection is not "." and not ".." && collection.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    public static async Task<UploadReport> UploadAsync(IBlobStore uploads, DirectoryInfo folder, string collection, int parallelism,
        ValidationLimits limits, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uploads);
        if (!IsValidCollection(collection))
        {
            throw new ArgumentException($"'{collection}' is not a collection name: use letters, digits, '.', '_' and '-' (at most 64).", nameof(collection));
        }
        var present = await ListStampsAsync(uploads, collection + "/", cancellationToken);
        var files = FolderIntake.List(folder);
        int uploaded = 0, unchanged = 0;
        var refused = new System.Collections.Concurrent.ConcurrentBag<IntakeItem>();
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken }, async (file, ct) =>
        {
            var name = $"{collection}/{file.Path}";
            var stamp = file.Status?.Kind == UnixFileKind.Regular ? file.Stamp : null;
            if (!BlobName.IsValid(name))
            {
                refused.Add(new IntakeItem(file.Path, 0, null, null, RejectionReason.Unreadable, "The store refuses this name (control characters, '\\' or ':', '..' segments or too long)."));
            }
            else if (stamp is not null && present.TryGetValue(name, out var current) && current == stamp)
            {
                Interlocked.Increment(ref unchanged);
            }
            else
            {
                var (bytes, problem) = await FolderIntake.ReadAsync(file, limits, ct);
                if (problem is not null)
                {
                    refused.Add(problem);
                }
                else
                {
                    await uploads.PutAsync(name, new MemoryStream(bytes!, writable: false), new BlobPutOptions
                    {
                        Metadata = new Dictionary<string, string> { [SourceStampMetadata] = stamp! },
                    }, ct);
                    Interlocked.Increment(ref uploaded);
                }
            }
            progress?.Report(1);
        });
        return new UploadReport(uploaded, unchanged, [.. refused.OrderBy(r => r.Path, StringComparer.Ordinal)]);
    }

    private static async Task<Dictionary<string, string>> ListStampsAsync(IBlobStore uploads, string prefix, CancellationToken cancellationToken)
    {
        var stamps = new Dictionary<string, string>(StringComparer.Ordinal);
        await foreach (var blob in uploads.ListAllAsync(prefix, cancellationToken))
        {
            if (blob.Metadata.TryGetValue(SourceStampMetadata, out var stamp))
            {
                stamps[blob.Name] = stamp;
            }
        }
        return stamps;
    }
}
