using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Motif.Core.Signatures;
using Motif.Imaging;
using Motif.Imaging.LocalFeatures;
using Motif.Storage.Blobs;

namespace Motif.Pipeline;

/// <summary>What the local-feature check did in one graph update.</summary>
/// <param name="Matcher">The matcher's version.</param>
/// <param name="Extracted">Images whose features were found this update (the others' were stored).</param>
/// <param name="Compared">Pairs matched this update (the others' verdicts were stored).</param>
/// <param name="Judged">Pairs of the graph whose images both have features enough to be judged.</param>
/// <param name="Refuted">Judged pairs with fewer inliers than the matcher verifies: left out of the graph.</param>
/// <param name="Time">Loading and finding features, and matching.</param>
public sealed record LocalFeatureCheckReport(string Matcher, int Extracted, int Compared, int Judged, int Refuted, TimeSpan Time);

/// <summary>
/// The verdicts of an <see cref="ILocalFeatureMatcher"/> on the pairs of a graph of images: for every image its count of
/// features, and for every pair whose images both have at least <see cref="VerifiedInliers"/> features, how many
/// matches agree on one transform. <see cref="Apply"/> leaves out a judged pair below that count: two images that
/// global signatures find alike, and whose local features say share no region.
/// </summary>
/// <remarks>
/// <para><b>Why a filter, not a distance.</b> Global signatures find a copy's neighbourhood; they do not tell a copy of
/// a detail from the neighbouring tiles of the same photograph, whose texture is the same (on the tiles benchmark the
/// nearest image is the partner for 4 queries in 10). Local features that agree on a similarity transform do: a
/// wrong neighbour rarely shares 8 geometrically consistent matches. A pair's distance stays the one search and
/// evaluation rank with; only pairs that the check refutes leave the graph, so OPTICS, the map and the neighbours API
/// see the pairs that remain. An image with fewer features than the threshold (a flat or tiny image) cannot be
/// verified, so its pairs are left to the signatures alone.</para>
/// <para><b>Stored by content.</b> Features and verdicts depend on the images' contents and the matcher, never on the
/// model or the radius: features are blobs per content hash (<see cref="CollectionBlobs.LocalFeatures"/>), and the
/// verdicts are kept with the graph (<see cref="NeighbourGraphStore"/>) by content hash, so an update matches only the
/// pairs it has not judged before.</para>
/// </remarks>
public sealed class LocalFeatureCheck
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static ReadOnlySpan<byte> Magic => "MOTIFLF1"u8;

    private readonly Dictionary<string, int> _features;
    private readonly Dictionary<(string, string), int> _inliers;

    private LocalFeatureCheck(string version, int verifiedInliers, Dictionary<string, int> features, Dictionary<(string, string), int> inliers) =>
        (Version, VerifiedInliers, _features, _inliers) = (version, verifiedInliers, features, inliers);

    /// <summary>The matcher's version the verdicts are from.</summary>
    public string Version { get; }

    /// <summary>The inliers that verify a pair.</summary>
    public int VerifiedInliers { get; }

    /// <summary>The graph of images <paramref name="rows"/> without the pairs these verdicts refute.</summary>
    /// <exception cref="InvalidDataException">An image has no feature count, or a pair the check judges no verdict: the
    /// verdicts are not those of this graph.</exception>
    public NeighbourGraph Apply(IReadOnlyList<GraphRow> rows, NeighbourGraph images) =>
        images.Where((i, j, _) => !Judges(rows[i].ContentHash, rows[j].ContentHash) ||
            (_inliers.TryGetValue(Key(rows[i].ContentHash, rows[j].ContentHash), out var inliers)
                ? inliers >= VerifiedInliers
                : throw new InvalidDataException($"No local-feature verdict for the pair {rows[i].ImageId} and {rows[j].ImageId}.")));

    /// <summary>The content hashes of each pair (i, j), i &lt; j, of the graph.</summary>
    private static IEnumerable<(string A, string B)> Pairs(IReadOnlyList<GraphRow> rows, NeighbourGraph images)
    {
        for (var i = 0; i < images.Count; i++)
        {
            foreach (var j in images.NeighboursOf(i).ToArray().Where(j => j > i))
            {
                yield return (rows[i].ContentHash, rows[j].ContentHash);
            }
        }
    }

    private bool Judges(string a, string b) => Features(a) >= VerifiedInliers && Features(b) >= VerifiedInliers;

    private int Features(string hash) =>
        _features.TryGetValue(hash, out var count) ? count : throw new InvalidDataException($"No local-feature count for the content {hash}.");

    private static (string, string) Key(string a, string b) => string.CompareOrdinal(a, b) <= 0 ? (a, b) : (b, a);

    /// <summary>
    /// The verdicts on the pairs of <paramref name="images"/> (rows <paramref name="rows"/>): those of
    /// <paramref name="stored"/> where it has them under the same matcher version, the others found now. Features come
    /// from their blobs, or else from the images' derivatives (and are stored then).
    /// </summary>
    internal static async Task<(LocalFeatureCheck Check, LocalFeatureCheckReport Report)> UpdateAsync(IBlobStore blobs, ILocalFeatureMatcher matcher,
        IReadOnlyList<GraphRow> rows, NeighbourGraph images, LocalFeatureCheck? stored, int threads, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var reuse = stored is not null && stored.Version == matcher.Version && stored.VerifiedInliers == matcher.VerifiedInliers;
        var features = new Dictionary<string, int>(StringComparer.Ordinal);
        var sets = new ConcurrentDictionary<string, LocalFeatureSet>(StringComparer.Ordinal);
        var unknown = new List<string>();
        foreach (var hash in rows.Select(r => r.ContentHash).Distinct(StringComparer.Ordinal))
        {
            if (reuse && stored!._features.TryGetValue(hash, out var count))
            {
                features[hash] = count;
            }
            else
            {
                unknown.Add(hash);
            }
        }
        var extracted = await LoadAllAsync(blobs, matcher, unknown, sets, threads, cancellationToken).ConfigureAwait(false);
        foreach (var hash in unknown)
        {
            features[hash] = sets[hash].Count;
        }

        var inliers = new Dictionary<(string, string), int>();
        var pending = new List<(string A, string B)>();
        // Every judged pair of the graph, by its key (two rows of one content share a key): what the report counts.
        var judged = new List<(string, string)>();
        var check = new LocalFeatureCheck(matcher.Version, matcher.VerifiedInliers, features, inliers);
        foreach (var (a, b) in Pairs(rows, images).Where(p => check.Judges(p.A, p.B)))
        {
            var key = Key(a, b);
            judged.Add(key);
            if (inliers.ContainsKey(key))
            {
                continue;   // two rows of one content: one verdict
            }
            if (reuse && stored!._inliers.TryGetValue(key, out var known))
            {
                inliers[key] = known;
            }
            else
            {
                inliers[key] = -1;
                pending.Add(key);
            }
        }
        extracted += await LoadAllAsync(blobs, matcher, [.. pending.SelectMany(p => new[] { p.A, p.B }).Distinct(StringComparer.Ordinal).Where(h => !sets.ContainsKey(h))],
            sets, threads, cancellationToken).ConfigureAwait(false);
        var counts = new int[pending.Count];
        Parallel.For(0, pending.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads), CancellationToken = cancellationToken },
            k => counts[k] = matcher.Inliers(sets[pending[k].A], sets[pending[k].B]));
        for (var k = 0; k < pending.Count; k++)
        {
            inliers[pending[k]] = counts[k];
        }
        var refuted = judged.Count(key => inliers[key] < check.VerifiedInliers);
        return (check, new LocalFeatureCheckReport(matcher.Version, extracted, pending.Count, judged.Count, refuted, clock.Elapsed));
    }

    /// <summary>The features of <paramref name="hashes"/> into <paramref name="sets"/>, <paramref name="threads"/> images at a
    /// time (SIFT is mostly one thread's work: two images at once took half the time per image on 2 cores, with the same
    /// features); returns how many were found now rather than read.</summary>
    private static async Task<int> LoadAllAsync(IBlobStore blobs, ILocalFeatureMatcher matcher, IReadOnlyList<string> hashes,
        ConcurrentDictionary<string, LocalFeatureSet> sets, int threads, CancellationToken cancellationToken)
    {
        var found = 0;
        await Parallel.ForEachAsync(hashes, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads), CancellationToken = cancellationToken },
            async (hash, token) =>
            {
                var (set, extracted) = await LoadAsync(blobs, matcher, hash, token).ConfigureAwait(false);
                sets[hash] = set;
                if (extracted)
                {
                    Interlocked.Increment(ref found);
                }
            }).ConfigureAwait(false);
        return found;
    }

    /// <summary>An image's features from their blob, or else found in its derivative and stored (then
    /// <c>Found</c> is true). An image without a derivative, or whose derivative no longer decodes, has none.</summary>
    private static async Task<(LocalFeatureSet Set, bool Found)> LoadAsync(IBlobStore blobs, ILocalFeatureMatcher matcher, string hash,
        CancellationToken cancellationToken)
    {
        var name = CollectionBlobs.LocalFeatures(matcher.Version, hash);
        try
        {
            var (bytes, _) = await blobs.ReadAllAsync(name, cancellationToken).ConfigureAwait(false);
            return (LocalFeatureSet.Decode(bytes), false);
        }
        catch (Exception e) when (e is BlobStoreException { ErrorCode: BlobErrorCode.BlobNotFound } or InvalidDataException)
        {
            // Absent, or damaged: found again from the derivative, which is the source of truth.
        }
        LocalFeatureSet set;
        try
        {
            var (derivative, _) = await blobs.ReadAllAsync(CollectionBlobs.Derivative(hash), cancellationToken).ConfigureAwait(false);
            set = matcher.Extract(ImageCodec.Grey(derivative, matcher.ImageSide));
        }
        catch (Exception e) when (e is BlobStoreException { ErrorCode: BlobErrorCode.BlobNotFound } or ImageRejectedException)
        {
            set = LocalFeatureSet.Empty;
        }
        await blobs.PutAsync(name, new MemoryStream(set.Encode(), writable: false), new BlobPutOptions { ContentType = "application/octet-stream" },
            cancellationToken).ConfigureAwait(false);
        return (set, true);
    }

    /// <summary>Appends the verdicts on <paramref name="rows"/>' images: "MOTIFLF1", a JSON header (the version, the
    /// threshold, the content hashes and their feature counts) after its int32 length, the count of pairs (int32), then
    /// each pair as two indices into the hashes and its inliers (int32 each), little-endian.</summary>
    internal void WriteTo(Stream stream, IReadOnlyList<GraphRow> rows)
    {
        var hashes = rows.Select(r => r.ContentHash).Distinct(StringComparer.Ordinal).ToArray();
        var index = hashes.Select((h, k) => (h, k)).ToDictionary(p => p.h, p => p.k, StringComparer.Ordinal);
        var header = JsonSerializer.SerializeToUtf8Bytes(new Header(Version, VerifiedInliers, hashes, [.. hashes.Select(h => _features[h])]), Json);
        var pairs = _inliers.Where(p => index.ContainsKey(p.Key.Item1) && index.ContainsKey(p.Key.Item2)).ToArray();
        var bytes = new byte[Magic.Length + 4 + header.Length + 4 + 12 * pairs.Length];
        Magic.CopyTo(bytes);
        var at = Magic.Length;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), header.Length);
        header.CopyTo(bytes, at + 4);
        at += 4 + header.Length;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), pairs.Length);
        at += 4;
        foreach (var ((a, b), count) in pairs)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), index[a]);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at + 4), index[b]);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at + 8), count);
            at += 12;
        }
        stream.Write(bytes);
    }

    /// <summary>The verdicts <see cref="WriteTo"/> wrote, or null when <paramref name="bytes"/> is empty (a graph kept
    /// without the check).</summary>
    /// <exception cref="InvalidDataException">The bytes are not such verdicts.</exception>
    internal static LocalFeatureCheck? ReadFrom(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return null;
        }
        if (bytes.Length < Magic.Length + 8 || !bytes[..Magic.Length].SequenceEqual(Magic))
        {
            throw new InvalidDataException("The graph's local-feature verdicts have no MOTIFLF1 header.");
        }
        var at = Magic.Length;
        var headerLength = BinaryPrimitives.ReadInt32LittleEndian(bytes[at..]);
        if (headerLength < 0 || headerLength > bytes.Length - at - 8)
        {
            throw new InvalidDataException("The local-feature verdicts' header length is out of range.");
        }
        Header? header;
        try
        {
            header = JsonSerializer.Deserialize<Header>(bytes.Slice(at + 4, headerLength), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException("The local-feature verdicts' header is not valid JSON.", e);
        }
        if (header is not { Version: not null, Hashes: not null, Features: not null } || header.Hashes.Length != header.Features.Length ||
            header.Hashes.Any(h => h is null))
        {
            throw new InvalidDataException("The local-feature verdicts' header is incomplete.");
        }
        at += 4 + headerLength;
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes[at..]);
        at += 4;
        if (count < 0 || bytes.Length - at != 12L * count)
        {
            throw new InvalidDataException("The local-feature verdicts' pairs do not fill the section.");
        }
        var features = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var k = 0; k < header.Hashes.Length; k++)
        {
            features[header.Hashes[k]] = header.Features[k];
        }
        var inliers = new Dictionary<(string, string), int>(count);
        for (var k = 0; k < count; k++, at += 12)
        {
            var (a, b) = (BinaryPrimitives.ReadInt32LittleEndian(bytes[at..]), BinaryPrimitives.ReadInt32LittleEndian(bytes[(at + 4)..]));
            if ((uint)a >= (uint)header.Hashes.Length || (uint)b >= (uint)header.Hashes.Length)
            {
                throw new InvalidDataException("A local-feature verdict names an image the section does not hold.");
            }
            inliers[Key(header.Hashes[a], header.Hashes[b])] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(at + 8)..]);
        }
        return new LocalFeatureCheck(header.Version, header.VerifiedInliers, features, inliers);
    }

    private sealed record Header(string Version, int VerifiedInliers, string[] Hashes, int[] Features);
}
