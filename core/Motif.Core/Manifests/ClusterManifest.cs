using CsvHelper;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Motif.Core.Clustering;
using Motif.Core.Signatures;

namespace Motif.Core.Manifests;

/// <summary>
/// The published result of one clustering run (schema: cluster-manifest.schema.json next to this file):
/// parameters, the identity of the input set, every cluster with its members in OPTICS order, and every
/// image's cluster. Cluster ids are stable across runs (<see cref="StableIds"/>), so curators' annotations,
/// which name a cluster id, stay attached to "the same" cluster after a rerun.
/// </summary>
public sealed record ClusterManifest
{
    /// <summary>Version of the document's shape; readers refuse other versions.</summary>
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string RunId { get; init; }
    /// <summary>The W3C trace id of the activity that published the run (<see cref="ManifestRun.TraceId"/>); absent from
    /// the JSON when the run was not traced. Optional and additive, so the schema version stays 1.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TraceId { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>The run this one was compared with (the latest manifest when it was computed), whose clusters each
    /// cluster's <see cref="ManifestCluster.Change"/> is relative to; absent for a first run. Optional and additive.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? PreviousRunId { get; init; }
    public required string ModelVersion { get; init; }
    public required ClusteringParameters Parameters { get; init; }
    /// <summary>SHA-256 of the image ids in row order, one per line: the same ids in another order are another
    /// input, because OPTICS breaks ties by row index.</summary>
    public required string InputSetHash { get; init; }
    public required ManifestCounts Counts { get; init; }
    /// <summary>Highest cluster number ever issued along this manifest's history: new ids continue after it,
    /// so an id that disappeared is never given to an unrelated cluster later.</summary>
    public required int LastClusterNumber { get; init; }
    public required IReadOnlyList<ManifestCluster> Clusters { get; init; }
    /// <summary>Every input image, in row order, with its cluster id or null for noise.</summary>
    public required IReadOnlyList<ManifestImage> Images { get; init; }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>
    /// Builds the manifest of a run. <paramref name="labels"/> are per row (−1 = noise), from
    /// <see cref="Optics.ExtractXi"/> or <see cref="Optics.ExtractDbscan"/>; <paramref name="signatures"/> are the
    /// rows that were clustered (N × <paramref name="dimension"/>), used for the medoids; <paramref name="imageIds"/>
    /// name the rows. <paramref name="previous"/> is the last published manifest, or null: each new cluster
    /// inherits the id of the previous cluster it overlaps most (Jaccard index of the image-id sets) when that
    /// overlap is ≥ <paramref name="jaccardThreshold"/>, one to one, best overlaps first; other clusters get new ids.
    /// <paramref name="imageTraceIds"/>, when given, are per row: the W3C trace id of each image's upload, or null
    /// where it was not traced (<see cref="ManifestImage.TraceId"/>).
    /// </summary>
    public static ClusterManifest Create(
        ManifestRun run,
        IReadOnlyList<string> imageIds,
        ReadOnlyMemory<float> signatures,
        int dimension,
        OpticsResult optics,
        IReadOnlyList<int> labels,
        ClusterManifest? previous,
        double jaccardThreshold = 0.5,
        IReadOnlyList<string?>? imageTraceIds = null)
    {
        ArgumentNullException.ThrowIfNull(imageIds);
        if (signatures.Length != imageIds.Count * dimension)
        {
            throw new ArgumentException("Image ids, signatures, OPTICS result and labels must describe the same rows.");
        }
        return Create(run, imageIds, optics, labels, previous, jaccardThreshold, imageTraceIds, rows => Medoid(signatures.Span, dimension, rows));
    }

    /// <summary>
    /// Builds the manifest of a run from the neighbour graph OPTICS ran over, without the signatures: what the
    /// Recluster timer has. Each cluster's medoid is then the member with the least summed <em>truncated</em> cosine
    /// distance to the other members, min(d(i, j), r) with r the graph's radius: a pair the graph does not hold is
    /// farther than r and counts as r. With every pair within r (always so for an infinite radius) this is the
    /// exact medoid of the signature overload; ties go to the member first in OPTICS order. <paramref name="imageTraceIds"/>
    /// are as in the signature overload.
    /// </summary>
    public static ClusterManifest Create(
        ManifestRun run,
        IReadOnlyList<string> imageIds,
        NeighbourGraph graph,
        OpticsResult optics,
        IReadOnlyList<int> labels,
        ClusterManifest? previous,
        double jaccardThreshold = 0.5,
        IReadOnlyList<string?>? imageTraceIds = null)
    {
        ArgumentNullException.ThrowIfNull(imageIds);
        ArgumentNullException.ThrowIfNull(graph);
        if (graph.Count != imageIds.Count)
        {
            throw new ArgumentException("Image ids, graph, OPTICS result and labels must describe the same rows.");
        }
        return Create(run, imageIds, optics, labels, previous, jaccardThreshold, imageTraceIds, rows => GraphMedoid(graph, rows));
    }

    private static ClusterManifest Create(
        ManifestRun run,
        IReadOnlyList<string> imageIds,
        OpticsResult optics,
        IReadOnlyList<int> labels,
        ClusterManifest? previous,
        double jaccardThreshold,
        IReadOnlyList<string?>? imageTraceIds,
        Func<int[], int> medoid)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(optics);
        ArgumentNullException.ThrowIfNull(labels);
        var n = imageIds.Count;
        if (optics.Ordering.Count != n || labels.Count != n)
        {
            throw new ArgumentException("Image ids, signatures, OPTICS result and labels must describe the same rows.");
        }
        if (imageIds.Distinct(StringComparer.Ordinal).Count() != n)
        {
            throw new ArgumentException("Image ids must be unique.", nameof(imageIds));
        }
        if (!(jaccardThreshold > 0 && jaccardThreshold <= 1))
        {
            // A threshold of 0 would let disjoint clusters inherit ids, which is what stable ids exist to prevent.
            throw new ArgumentOutOfRangeException(nameof(jaccardThreshold), jaccardThreshold, "The threshold is in (0, 1].");
        }
        if (imageTraceIds is not null && imageTraceIds.Count != n)
        {
            throw new ArgumentException("Image trace ids, when given, are one per row.", nameof(imageTraceIds));
        }
        // The schema promises W3C trace ids, so that a reader can look them up; a malformed one is the caller's bug.
        foreach (var traceId in (imageTraceIds ?? []).Append(run.TraceId))
        {
            if (traceId is not null && !IsTraceId(traceId))
            {
                throw new ArgumentException($"'{traceId}' is not a W3C trace id (32 lowercase hex digits, not all zero).");
            }
        }

        var position = new int[n];
        for (var p = 0; p < n; p++)
        {
            position[optics.Ordering[p]] = p;
        }
        var rowsByLabel = Enumerable.Range(0, n).Where(i => labels[i] >= 0).GroupBy(i => labels[i])
            .OrderBy(g => g.Key).Select(g => g.OrderBy(i => position[i]).ToArray()).ToArray();

        var ids = StableIds.Assign(rowsByLabel.Select(rows => rows.Select(i => imageIds[i]).ToHashSet(StringComparer.Ordinal)).ToArray(),
            previous, jaccardThreshold, out var lastNumber);

        var clusters = new List<ManifestCluster>(rowsByLabel.Length);
        var clusterOfRow = new string?[n];
        for (var c = 0; c < rowsByLabel.Length; c++)
        {
            var rows = rowsByLabel[c];
            foreach (var i in rows)
            {
                clusterOfRow[i] = ids[c];
            }
            clusters.Add(new ManifestCluster(
                ids[c],
                rows.Length,
                imageIds[medoid(rows)],
                [.. rows.Select(i => new ManifestMember(imageIds[i], position[i], Finite(optics.Reachability[i]), Finite(optics.CoreDistances[i])))]));
        }
        var noise = clusterOfRow.Count(c => c is null);
        var changes = ClusterChanges.Compare(clusters, previous);
        return new ClusterManifest
        {
            RunId = run.RunId,
            TraceId = run.TraceId,
            CreatedAt = run.CreatedAt,
            PreviousRunId = previous?.RunId,
            ModelVersion = run.ModelVersion,
            Parameters = run.Parameters,
            InputSetHash = run.InputSetHash ?? ContentHash.Of(Encoding.UTF8.GetBytes(string.Concat(imageIds.Select(id => id + "\n")))).Hex,
            Counts = new ManifestCounts(n, clusters.Count, noise),
            LastClusterNumber = lastNumber,
            Clusters = [.. clusters.OrderBy(c => c.Members[0].Order).Select(c => c with { Change = changes.GetValueOrDefault(c.Id) })],
            Images = [.. Enumerable.Range(0, n).Select(i => new ManifestImage(imageIds[i], clusterOfRow[i]) { TraceId = imageTraceIds?[i] })],
        };
    }

    /// <summary>The document as indented JSON (camelCase; undefined distances as null).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a document written by <see cref="ToJson"/>.</summary>
    /// <exception cref="FormatException">Not a manifest, or another schema version.</exception>
    public static ClusterManifest FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        ClusterManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ClusterManifest>(json, Json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"Not a cluster manifest: {e.Message}", e);
        }
        if (manifest is null || manifest.SchemaVersion != CurrentSchemaVersion)
        {
            throw new FormatException($"Expected a cluster manifest of schema version {CurrentSchemaVersion}, got {manifest?.SchemaVersion.ToString() ?? "null"}.");
        }
        return manifest;
    }

    /// <summary>
    /// One line per image, in row order: <c>image_id,cluster_id,order,reachability,core_distance</c> (RFC 4180;
    /// empty cluster for noise, empty distance where undefined; invariant culture, round-trip precision). An id that
    /// starts with <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, a tab or a carriage return is written with a single quote in
    /// front, so that a spreadsheet does not run it as a formula (<see cref="CsvField"/>).
    /// </summary>
    public string ToCsv()
    {
        var members = Clusters.SelectMany(c => c.Members.Select(m => (Cluster: c.Id, Member: m))).ToDictionary(x => x.Member.ImageId, StringComparer.Ordinal);
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var csv = CsvWriter.Create(text, CsvWriterOptions.Default, leaveOpen: true))
        {
            foreach (var name in new[] { "image_id", "cluster_id", "order", "reachability", "core_distance" })
            {
                csv.WriteField(name);
            }
            csv.EndRecord();
            foreach (var image in Images)
            {
                csv.WriteField(CsvField.Text(image.ImageId));
                csv.WriteField(image.ClusterId is null ? "" : CsvField.Text(image.ClusterId));
                var known = members.TryGetValue(image.ImageId, out var m);
                csv.WriteField(known ? m.Member.Order.ToString(CultureInfo.InvariantCulture) : "");
                csv.WriteField(known ? Format(m.Member.Reachability) : "");
                csv.WriteField(known ? Format(m.Member.CoreDistance) : "");
                csv.EndRecord();
            }
        }
        return text.ToString();

        static string Format(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";
    }

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;

    private static bool IsTraceId(string value) =>
        value.Length == 32 && value.All(char.IsAsciiHexDigitLower) && value.Any(c => c != '0');

    /// <summary>
    /// The medoid under cosine distance: Σⱼ d(i, j) = |C| − x̂ᵢ·Σⱼ x̂ⱼ for unit rows x̂, so the member minimising the
    /// summed distance is the one with the largest dot product with the sum of the normalised members —
    /// exact, and O(|C|·D) instead of O(|C|²·D). Among equal sums (up to rounding) the member first in OPTICS order wins.
    /// </summary>
    private static int GraphMedoid(NeighbourGraph graph, int[] rows)
    {
        // rows are in OPTICS order, so a strict improvement keeps the first of equal sums.
        var member = new Dictionary<int, int>(rows.Length);
        for (var r = 0; r < rows.Length; r++)
        {
            member[rows[r]] = r;
        }
        var best = 0;
        var bestSum = double.PositiveInfinity;
        for (var r = 0; r < rows.Length; r++)
        {
            var neighbours = graph.NeighboursOf(rows[r]);
            var distances = graph.DistancesOf(rows[r]);
            var sum = 0.0;
            var within = 0;
            for (var k = 0; k < neighbours.Length; k++)
            {
                if (member.ContainsKey(neighbours[k]))
                {
                    sum += distances[k];
                    within++;
                }
            }
            var missing = rows.Length - 1 - within;
            if (missing > 0)
            {
                sum += missing * graph.Radius;   // infinite radius: every pair is stored, so missing is 0
            }
            if (sum < bestSum)
            {
                (best, bestSum) = (r, sum);
            }
        }
        return rows[best];
    }

    private static int Medoid(ReadOnlySpan<float> signatures, int dimension, int[] rows)
    {
        var sum = new double[dimension];
        var inverseNorms = new double[rows.Length];
        for (var r = 0; r < rows.Length; r++)
        {
            var row = signatures.Slice(rows[r] * dimension, dimension);
            var squared = 0.0;
            foreach (var v in row)
            {
                squared += (double)v * v;
            }
            inverseNorms[r] = 1 / Math.Sqrt(squared);
            for (var k = 0; k < dimension; k++)
            {
                sum[k] += row[k] * inverseNorms[r];
            }
        }
        var best = 0;
        var bestScore = double.NegativeInfinity;
        for (var r = 0; r < rows.Length; r++)
        {
            var row = signatures.Slice(rows[r] * dimension, dimension);
            var score = 0.0;
            for (var k = 0; k < dimension; k++)
            {
                score += row[k] * sum[k];
            }
            score *= inverseNorms[r];
            if (score > bestScore)
            {
                (best, bestScore) = (r, score);
            }
        }
        return rows[best];
    }
}

/// <summary>What identifies a run, supplied by the caller (the timer Function or the CLI).</summary>
public sealed record ManifestRun(string RunId, DateTimeOffset CreatedAt, string ModelVersion, ClusteringParameters Parameters)
{
    /// <summary>
    /// What the run's input was, as the caller identifies it (the pipeline hashes image ids with their content
    /// hashes, so a changed file changes it); null: the SHA-256 of the image ids, one per line.
    /// </summary>
    public string? InputSetHash { get; init; }

    /// <summary>The W3C trace id (32 lowercase hex digits) of the activity that publishes the run; null when untraced.</summary>
    public string? TraceId { get; init; }
}

/// <summary>How labels were extracted from OPTICS.</summary>
public enum Extraction
{
    Xi,
    Dbscan,
}

/// <summary>The parameters of a run, as scikit-learn names them; the metric is always cosine.</summary>
public sealed record ClusteringParameters(
    double? MaxEps,
    double MinSamples,
    Extraction Extraction,
    double? Xi,
    double? MinClusterSize,
    bool PredecessorCorrection,
    double? Eps)
{
    public string Metric { get; init; } = "cosine";
}

public sealed record ManifestCounts(int Images, int Clusters, int Noise);

/// <summary>A cluster: its stable <c>Id</c> ("C" and a number), size, <c>Medoid</c> (image id of the member with the
/// least summed cosine distance to the others; from a neighbour graph, distances beyond its radius count as the radius)
/// and members in OPTICS order.</summary>
public sealed record ManifestCluster(string Id, int Size, string Medoid, IReadOnlyList<ManifestMember> Members)
{
    /// <summary>How it changed since <see cref="ClusterManifest.PreviousRunId"/> (<see cref="ClusterChanges"/>); absent
    /// from the JSON for a first run. Optional and additive, so the schema version stays 1.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ClusterChange? Change { get; init; }
}

/// <summary>A cluster member: its position in the OPTICS ordering, reachability and core distance (null where undefined, ∞).</summary>
public sealed record ManifestMember(string ImageId, int Order, double? Reachability, double? CoreDistance);

/// <summary>An input image and its cluster id, null for noise.</summary>
public sealed record ManifestImage(string ImageId, string? ClusterId)
{
    /// <summary>The W3C trace id of the activity that ingested the image's upload (its catalog record's); absent from
    /// the JSON when the upload was not traced.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TraceId { get; init; }
}
