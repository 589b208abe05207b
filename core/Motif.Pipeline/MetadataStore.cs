using System.Text;
using System.Text.Json;
using Motif.Core.Metadata;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;

namespace Motif.Pipeline;

/// <summary>What importing one metadata CSV did. Every data record is accounted for: <see cref="Records"/> =
/// <see cref="Imported"/> + <c>Refused.Count</c>, and the <see cref="Unknown"/> ones are among the imported.</summary>
/// <param name="Scope">The id prefix the CSV's filenames were resolved under: "" for a folder, <c>{collection}/</c> for uploads.</param>
/// <param name="Records">Data records in the file.</param>
/// <param name="Imported">Records stored, each for one image id.</param>
/// <param name="Refused">Records not stored, with their line and reason (unusable filename, malformed quoting, a second row for one image).</param>
/// <param name="Unknown">Stored records naming an image the catalog does not hold (yet): listed, so a typo is seen.</param>
/// <param name="Notes">What was changed in stored records (a link dropped, a field cut, characters removed).</param>
/// <param name="IgnoredColumns">Header names not understood.</param>
public sealed record MetadataImport(
    string Scope,
    int Records,
    int Imported,
    IReadOnlyList<MetadataProblem> Refused,
    IReadOnlyList<MetadataProblem> Unknown,
    IReadOnlyList<MetadataProblem> Notes,
    IReadOnlyList<string> IgnoredColumns);

/// <summary>
/// The museums' metadata (<see cref="ImageMetadata"/>), one blob per imported CSV: <c>metadata/{key of scope}.json</c>,
/// mapping image ids to what the CSV says. Kept beside the catalog rather than in it, so that the catalog's records
/// and its conformance suite stay what intake needs, and a museum can replace its whole CSV in one write: an import
/// replaces the scope's blob whole (the last import wins; a row removed from the CSV is gone after the next import).
/// </summary>
/// <remarks>
/// Rows naming images not catalogued are stored too: in Azure the CSV and the images arrive as separate uploads in any
/// order, so an image uploaded after its CSV still finds its metadata. They are reported (<see cref="MetadataImport.Unknown"/>).
/// Readers read every scope's blob (<see cref="ReadAllAsync"/>): there is one per collection, a handful, not one per image.
/// </remarks>
public sealed class MetadataStore(IBlobStore blobs, IImageCatalog catalog, TimeProvider? time = null)
{
    /// <summary>The folder of the metadata blobs.</summary>
    public const string Folder = "metadata/";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The blob of a scope: named by a hash, never by uploaded text.</summary>
    public static string BlobName(string scope) => $"{Folder}{CollectionBlobs.KeyOf(scope)}.json";

    /// <summary>
    /// Reads <paramref name="csv"/> (UTF-8, at most <see cref="MetadataCsv.MaxBytes"/>), resolves each filename to an
    /// image id with <paramref name="imageIdOf"/> (the host's rule: a folder's escaping, or the collection prefix) and
    /// replaces the scope's blob with the rows kept.
    /// </summary>
    /// <exception cref="FormatException">The file is too large or has no usable header: nothing is stored, the previous import stands.</exception>
    public async Task<MetadataImport> ImportAsync(string scope, byte[] csv, Func<string, string> imageIdOf, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(csv);
        ArgumentNullException.ThrowIfNull(imageIdOf);
        if (csv.Length > MetadataCsv.MaxBytes)
        {
            throw new FormatException($"The {MetadataCsv.FileName} has {csv.Length:N0} bytes; at most {MetadataCsv.MaxBytes:N0} are read.");
        }
        // Invalid UTF-8 becomes U+FFFD: shown as such, never as another character.
        var sheet = MetadataCsv.Read(new StringReader(Encoding.UTF8.GetString(csv)));
        var known = (await catalog.ListImagesAsync(cancellationToken).ConfigureAwait(false)).Select(i => i.ImageId).ToHashSet(StringComparer.Ordinal);
        var images = new Dictionary<string, ImageMetadata>(StringComparer.Ordinal);
        var lines = new Dictionary<string, long>(StringComparer.Ordinal);
        var refused = sheet.Refused.ToList();
        var unknown = new List<MetadataProblem>();
        foreach (var row in sheet.Rows)
        {
            var id = imageIdOf(row.FileName);
            if (lines.TryGetValue(id, out var first))
            {
                refused.Add(new MetadataProblem(row.Line, $"A second row for the image of line {first}; the first is kept."));
                continue;
            }
            lines[id] = row.Line;
            images[id] = row.Metadata;
            if (!known.Contains(id))
            {
                unknown.Add(new MetadataProblem(row.Line, $"No catalogued image '{Core.Annotations.AnnotationRules.Printable(id)}' (yet): the row is kept for when it arrives."));
            }
        }
        var document = new MetadataDocument(scope, _time.GetUtcNow(), images);
        await blobs.PutAsync(BlobName(scope), new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(document, Json)),
            new BlobPutOptions { ContentType = "application/json" }, cancellationToken).ConfigureAwait(false);
        return new MetadataImport(scope, sheet.Records, images.Count, [.. refused.OrderBy(r => r.Line)], unknown, sheet.Notes, sheet.IgnoredColumns);
    }

    /// <summary>Forgets a scope's import (its CSV was removed). Returns whether there was one.</summary>
    public Task<bool> RemoveAsync(string scope, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scope);
        return blobs.DeleteAsync(BlobName(scope), cancellationToken: cancellationToken);
    }

    /// <summary>Every image's metadata, from every scope's blob; an id in two scopes (impossible with one scope per collection) keeps the first read.</summary>
    public async Task<IReadOnlyDictionary<string, ImageMetadata>> ReadAllAsync(CancellationToken cancellationToken = default)
    {
        var all = new Dictionary<string, ImageMetadata>(StringComparer.Ordinal);
        await foreach (var blob in blobs.ListAllAsync(Folder, cancellationToken).ConfigureAwait(false))
        {
            byte[] bytes;
            try
            {
                bytes = await blobs.ReadAllBytesAsync(blob.Name, cancellationToken).ConfigureAwait(false);
            }
            catch (BlobStoreException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
            {
                continue;   // replaced or removed between the listing and the read
            }
            var document = JsonSerializer.Deserialize<MetadataDocument>(bytes, Json);
            foreach (var (id, metadata) in document?.Images ?? [])
            {
                all.TryAdd(id, metadata);
            }
        }
        return all;
    }

    /// <summary>One scope's blob.</summary>
    private sealed record MetadataDocument(string Scope, DateTimeOffset ImportedAt, Dictionary<string, ImageMetadata> Images);
}
