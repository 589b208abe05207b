using Motif.Testing;
using System.Text.Json.Nodes;
using System.Text.Json;
using Json.Schema;
using Motif.Core.Clustering;
using Motif.Core.Manifests;
using Motif.Core.Signatures;

namespace Motif.Core.Tests.Manifests;

public sealed class ClusterManifestTests
{
    private static readonly ManifestRun Run = new("run-2026-11-22", new DateTimeOffset(2026, 11, 22, 3, 0, 0, TimeSpan.Zero), "resnet50-imagenet",
        new ClusteringParameters(0.13, 2, Extraction.Xi, 0.05, null, true, null));

    [Fact]
    public void A_run_becomes_a_manifest_with_members_in_optics_order_and_the_exact_medoid()
    {
        // Three angular groups on the circle and one stray point.
        double[] angles = [0.10, 0.12, 0.13, 0.17, 2.00, 2.02, 2.05, 4.0, 4.01, 5.5];
        var x = angles.SelectMany(a => new[] { (float)Math.Cos(a), (float)Math.Sin(a) }).ToArray();
        var ids = angles.Select((_, i) => $"img-{i}").ToArray();
        var optics = Optics.Order(NeighbourGraph.Build(x, 2, 0.13), 2);
        var labels = Optics.ExtractXi(optics, 0.05).Labels;

        var manifest = ClusterManifest.Create(Run, ids, x, 2, optics, labels, previous: null);

        Assert.Equal(new ManifestCounts(10, labels.Max() + 1, labels.Count(l => l < 0)), manifest.Counts);
        Assert.True(manifest.Counts.Clusters >= 2);
        Assert.Equal(ids, manifest.Images.Select(i => i.ImageId));
        foreach (var cluster in manifest.Clusters)
        {
            Assert.Equal(cluster.Size, cluster.Members.Count);
            Assert.Equal(cluster.Members.Select(m => m.Order).Order(), cluster.Members.Select(m => m.Order));
            Assert.All(cluster.Members, m => Assert.Equal(cluster.Id, manifest.Images.Single(i => i.ImageId == m.ImageId).ClusterId));
            // Brute force: the medoid's summed cosine distance is the least (a two-member cluster is a tie).
            var rows = cluster.Members.Select(m => Array.IndexOf(ids, m.ImageId)).ToArray();
            double Summed(int i) => rows.Sum(j => 1 - Math.Cos(angles[i] - angles[j]));
            Assert.Equal(rows.Min(Summed), Summed(Array.IndexOf(ids, cluster.Medoid)), 1e-9);
        }
        Assert.Equal(Enumerable.Range(1, manifest.Counts.Clusters).Select(k => $"C{k}").Order(), manifest.Clusters.Select(c => c.Id).Order());
        Assert.Equal(manifest.Counts.Clusters, manifest.LastClusterNumber);
        Assert.Matches("^[0-9a-f]{64}$", manifest.InputSetHash);
    }

    [Fact]
    public void From_the_graph_the_medoid_is_exact_when_every_pair_is_stored_and_truncated_at_the_radius_otherwise()
    {
        double[] angles = [0.10, 0.12, 0.13, 0.17, 0.30, 2.00, 2.02, 2.05, 4.0, 4.01, 5.5];
        var x = angles.SelectMany(a => new[] { (float)Math.Cos(a), (float)Math.Sin(a) }).ToArray();
        var ids = angles.Select((_, i) => $"img-{i}").ToArray();
        foreach (var radius in new[] { double.PositiveInfinity, 0.13, 0.002 })
        {
            var graph = NeighbourGraph.Build(x, 2, radius);
            var optics = Optics.Order(graph, 2);
            var labels = Optics.ExtractDbscan(optics, 0.01);
            var fromGraph = ClusterManifest.Create(Run, ids, graph, optics, labels, previous: null);
            var fromSignatures = ClusterManifest.Create(Run, ids, x, 2, optics, labels, previous: null);

            Assert.Equal(fromSignatures.Images, fromGraph.Images);
            Assert.True(fromGraph.Counts.Clusters >= 2);
            foreach (var cluster in fromGraph.Clusters)
            {
                // Brute force over the definition: Σ min(d, r), the first in OPTICS order among equal sums (up to rounding).
                var rows = cluster.Members.Select(m => Array.IndexOf(ids, m.ImageId)).ToArray();
                double Truncated(int i) => rows.Where(j => j != i).Sum(j => Math.Min(1 - Math.Cos(angles[i] - angles[j]), radius));
                Assert.Equal(rows.Min(Truncated), Truncated(Array.IndexOf(ids, cluster.Medoid)), 1e-9);
            }
            if (double.IsPositiveInfinity(radius))
            {
                Assert.Equal(fromSignatures.Clusters.Select(c => c.Medoid), fromGraph.Clusters.Select(c => c.Medoid));
            }
        }
    }

    [Fact]
    public void Json_round_trips_and_conforms_to_the_committed_schema()
    {
        var manifest = Sample(previous: null);
        var json = manifest.ToJson();

        Assert.Equal(json, ClusterManifest.FromJson(json).ToJson());
        Assert.Empty(SchemaErrors(JsonNode.Parse(json)!));

        // The validator does reject what the schema forbids, each where it is.
        var broken = JsonNode.Parse(json)!;
        broken["clusters"]![0]!["id"] = "cluster one";
        broken["counts"]!.AsObject().Remove("noise");
        broken["extra"] = 1;
        broken["createdAt"] = "last night";
        var errors = SchemaErrors(broken);
        Assert.Contains(errors, e => e.StartsWith("/clusters/0/id: pattern", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("/counts: required", StringComparison.Ordinal) && e.Contains("noise", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("/extra: ", StringComparison.Ordinal) || (e.StartsWith(": additionalProperties", StringComparison.Ordinal) && e.Contains("extra", StringComparison.Ordinal)));
        Assert.Contains(errors, e => e.StartsWith("/createdAt: format", StringComparison.Ordinal));
    }

    [Fact]
    public void Trace_ids_are_written_where_known_left_out_where_not_and_conform_to_the_schema()
    {
        const string runTrace = "0af7651916cd43dd8448eb211c80319c", uploadTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
        string[] ids = ["a", "b", "c"];
        float[] x = [1, 0, 1, 0.01f, 0, 1];
        var optics = Optics.Order(NeighbourGraph.Build(x, 2, 0.13), 2);
        var labels = Optics.ExtractXi(optics, 0.05).Labels;

        var manifest = ClusterManifest.Create(Run with { TraceId = runTrace }, ids, x, 2, optics, labels, previous: null,
            imageTraceIds: [uploadTrace, null, uploadTrace]);
        var json = manifest.ToJson();

        Assert.Equal(json, ClusterManifest.FromJson(json).ToJson());
        var node = JsonNode.Parse(json)!;
        Assert.Equal(runTrace, (string?)node["traceId"]);
        Assert.Equal([true, false, true], node["images"]!.AsArray().Select(i => i!.AsObject().ContainsKey("traceId")));
        Assert.Empty(SchemaErrors(node));
        // Without trace ids the document is what it was before they existed.
        Assert.DoesNotContain("traceId", ClusterManifest.Create(Run, ids, x, 2, optics, labels, previous: null).ToJson(), StringComparison.Ordinal);

        Assert.Throws<ArgumentException>(() => ClusterManifest.Create(Run, ids, x, 2, optics, labels, previous: null, imageTraceIds: [uploadTrace]));
        Assert.Throws<ArgumentException>(() => ClusterManifest.Create(Run with { TraceId = runTrace.ToUpperInvariant() }, ids, x, 2, optics, labels, previous: null));
        Assert.Throws<ArgumentException>(() => ClusterManifest.Create(Run, ids, x, 2, optics, labels, previous: null, imageTraceIds: [new string('0', 32), null, null]));
    }

    [Fact]
    public void Other_schema_versions_and_non_manifests_are_refused()
    {
        var json = JsonNode.Parse(Sample(previous: null).ToJson())!;
        json["schemaVersion"] = 2;

        Assert.Throws<FormatException>(() => ClusterManifest.FromJson(json.ToJsonString()));
        Assert.Throws<FormatException>(() => ClusterManifest.FromJson("[1, 2]"));
    }

    [Fact]
    public void Cluster_ids_follow_the_largest_jaccard_overlap_and_new_ids_are_never_reused()
    {
        // Previous run: C1 = {a b c d}, C2 = {e f g h}, C3 = {i j}.
        var previous = Manifest(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"], [0, 0, 0, 0, 1, 1, 1, 1, 2, 2], null);
        Assert.Equal(["C1", "C2", "C3"], previous.Clusters.Select(c => c.Id));

        // New run: {a b c d k} keeps C1 (4/5); C2 split into {e f g} (3/4, keeps C2) and {h x} (1/5, new);
        // C3 vanished; {y z} is new. New numbers continue after the previous run's last number.
        var next = Manifest(["a", "b", "c", "d", "k", "e", "f", "g", "h", "x", "y", "z", "i", "j"], [0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 3, -1, -1], previous);

        Assert.Equal("C1", Of(next, "a"));
        Assert.Equal("C2", Of(next, "e"));
        Assert.Equal("C4", Of(next, "h"));
        Assert.Equal("C5", Of(next, "y"));
        Assert.Null(Of(next, "i"));
        Assert.Equal(5, next.LastClusterNumber);

        // A merge: {a..h} overlaps C1 and C2 equally (4/8); the tie goes to the lower id, the other is retired.
        var merged = Manifest(["a", "b", "c", "d", "e", "f", "g", "h"], [0, 0, 0, 0, 0, 0, 0, 0], previous);
        Assert.Equal("C1", Of(merged, "a"));
        // Below the threshold nothing is inherited.
        var weak = Manifest(["a", "b", "p", "q", "r"], [0, 0, 0, 0, 0], previous);
        Assert.Equal("C4", Of(weak, "a"));
    }

    [Fact]
    public void Csv_has_one_quoted_line_per_image_and_empty_fields_for_noise()
    {
        var manifest = Manifest(["plain", "with,comma", "with \"quote\"", "alone"], [0, 0, 0, -1], null);

        var lines = manifest.ToCsv().Split("\r\n");

        Assert.Equal("image_id,cluster_id,order,reachability,core_distance", lines[0]);
        Assert.Equal("plain,C1,0,,0.25", lines[1]);
        Assert.Equal("\"with,comma\",C1,1,0.5,0.25", lines[2]);
        Assert.Equal("\"with \"\"quote\"\"\",C1,2,0.5,0.25", lines[3]);
        Assert.Equal("alone,,,,", lines[4]);
        Assert.Equal("", lines[5]);
        Assert.Equal(6, lines.Length);
    }

    [Fact]
    public void Csv_cells_that_start_a_formula_get_a_quote_in_front_and_ordinary_ids_stay_as_they_are()
    {
        // Uploaded names are hostile: a spreadsheet opening clusters.csv would run these as formulas.
        var manifest = Manifest(["=HYPERLINK(\"http://x\",\"y\").jpg", "+1.jpg", "-2.jpg", "@SUM(A1).jpg", "\tcmd.jpg", "\rcr.jpg",
            "=1,2.jpg", "a=b.jpg", "x-y.jpg", "'quoted.jpg"], [0, 0, 0, 0, 0, 0, 0, 0, 0, -1], null);

        var ids = manifest.ToCsv().Split("\r\n").Skip(1).SkipLast(1)
            .Select(l => l[..(l.EndsWith(",,,,", StringComparison.Ordinal) ? l.Length - 4 : l.LastIndexOf(",C1,", StringComparison.Ordinal))]).ToArray();

        Assert.Equal([
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\").jpg\"",   // prefixed, then quoted (it holds quotes and a comma)
            "'+1.jpg", "'-2.jpg", "'@SUM(A1).jpg", "'\tcmd.jpg",
            "\"'\rcr.jpg\"",                              // prefixed, then quoted for the carriage return
            "\"'=1,2.jpg\"",
            "a=b.jpg", "x-y.jpg", "'quoted.jpg",          // not at the start, or already text: unchanged
        ], ids);
    }

    [Fact]
    public void Iiif_export_is_a_collection_of_manifests_with_one_painted_canvas_per_image()
    {
        var manifest = Sample(previous: null);
        var baseUrl = new Uri("https://motif.example/runs/run-2026-11-22");
        IiifImage Resolve(string id) => new(new Uri($"https://img.example/{id}.jpg"), "image/jpeg", 640, 480);

        var collection = IiifExport.Collection(manifest, baseUrl);

        Assert.Equal(IiifExport.Context, (string?)collection["@context"]);
        Assert.Equal("Collection", (string?)collection["type"]);
        Assert.Equal("https://motif.example/runs/run-2026-11-22/collection.json", (string?)collection["id"]);
        AssertLanguageMap(collection["label"]);
        var items = collection["items"]!.AsArray();
        Assert.Equal(manifest.Clusters.Count, items.Count);
        var ids = new HashSet<string>();
        foreach (var (item, cluster) in items.Zip(manifest.Clusters))
        {
            Assert.Equal("Manifest", (string?)item!["type"]);
            Assert.Null(item["@context"]);
            var document = IiifExport.Manifest(manifest, cluster.Id, baseUrl, Resolve);
            Assert.Equal((string?)item["id"], (string?)document["id"]);
            Assert.Equal(IiifExport.Context, (string?)document["@context"]);
            Assert.Equal("Manifest", (string?)document["type"]);
            AssertLanguageMap(document["label"]);
            Assert.All(document["metadata"]!.AsArray(), m => { AssertLanguageMap(m!["label"]); AssertLanguageMap(m["value"]); });
            var canvases = document["items"]!.AsArray();
            Assert.Equal(cluster.Members.Select(m => m.ImageId), canvases.Select(c => c!["label"]!["none"]![0]!.GetValue<string>()));
            foreach (var canvas in canvases)
            {
                Assert.Equal("Canvas", (string?)canvas!["type"]);
                Assert.True(ids.Add((string)canvas["id"]!), "canvas ids are unique");
                Assert.Equal(640, (int)canvas["width"]!);
                Assert.Equal(480, (int)canvas["height"]!);
                var page = canvas["items"]!.AsArray().Single()!;
                Assert.Equal("AnnotationPage", (string?)page["type"]);
                var annotation = page["items"]!.AsArray().Single()!;
                Assert.Equal("Annotation", (string?)annotation["type"]);
                Assert.Equal("painting", (string?)annotation["motivation"]);
                Assert.Equal((string?)canvas["id"], (string?)annotation["target"]);
                Assert.Equal("Image", (string?)annotation["body"]!["type"]);
                Assert.StartsWith("https://img.example/", (string?)annotation["body"]!["id"]);
                Assert.True(Uri.IsWellFormedUriString((string?)annotation["id"], UriKind.Absolute));
            }
        }
        Assert.Throws<ArgumentException>(() => IiifExport.Manifest(manifest, "C999", baseUrl, Resolve));
        Assert.Throws<ArgumentException>(() => IiifExport.Collection(manifest, new Uri("file:///tmp/x")));
    }

    private static void AssertLanguageMap(JsonNode? node)
    {
        var map = Assert.IsType<JsonObject>(node);
        Assert.All(map, entry => Assert.All(entry.Value!.AsArray(), v => Assert.False(string.IsNullOrEmpty(v!.GetValue<string>()))));
        Assert.NotEmpty(map);
    }

    /// <summary>The committed schema (draft 2020-12), as a validator reads it.</summary>
    private static readonly JsonSchema ManifestSchema =
        JsonSchema.FromFile(Path.Combine(TestData.RepositoryRoot, "core", "Motif.Core", "Manifests", "cluster-manifest.schema.json"));

    /// <summary>Every way <paramref name="document"/> breaks the committed schema, as "instance location: message" (formats checked too).</summary>
    private static List<string> SchemaErrors(JsonNode document)
    {
        using var parsed = JsonDocument.Parse(document.ToJsonString());
        var results = ManifestSchema.Evaluate(parsed.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        return results.IsValid
            ? []
            : [.. (results.Details ?? [results]).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}"))];
    }

    [Fact]
    public void A_first_run_has_no_change_and_the_next_says_how_each_cluster_changed()
    {
        // Previous: C1 = {a,b,c}, C2 = {d,e,f}, C3 = {g,h}, C4 = {i,j,k,l}, C5 = {m,n}, C6 = {o,p,q,r}, C7 = {s,t}.
        string[] before = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t"];
        var first = Manifest(before, [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 5, 5, 6, 6], previous: null);
        Assert.All(first.Clusters, c => Assert.Null(c.Change));
        Assert.Null(first.PreviousRunId);
        Assert.DoesNotContain("\"change\"", first.ToJson(), StringComparison.Ordinal);
        var id = first.Clusters.ToDictionary(c => string.Concat(c.Members.Select(m => m.ImageId).Order()), c => c.Id);

        // Next: {a,b,c} unchanged; {d,e,f,u} grown; {i,j,k} shrunk; {g,h,m,n} merges two previous pairs; {v,w} new;
        // {o,p,q,x} has as many members as before but not the same ones; s and t become noise.
        string[] after = ["a", "b", "c", "d", "e", "f", "u", "i", "j", "k", "l", "g", "h", "m", "n", "v", "w", "o", "p", "q", "x", "r", "s", "t"];
        var next = Manifest(after, [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, -1, 3, 3, 3, 3, 4, 4, 5, 5, 5, 5, -1, -1, -1], first);
        Assert.Equal(first.RunId, next.PreviousRunId);
        ClusterChange ChangeOf(string member) => next.Clusters.Single(c => c.Members.Any(m => m.ImageId == member)).Change!;

        Assert.Equal((ClusterChangeKind.Unchanged, (int?)3, id["abc"]), (ChangeOf("a").Kind, ChangeOf("a").PreviousSize, Assert.Single(ChangeOf("a").From)));
        Assert.Equal((ClusterChangeKind.Grown, (int?)3), (ChangeOf("u").Kind, ChangeOf("u").PreviousSize));
        Assert.Equal((ClusterChangeKind.Shrunk, (int?)4), (ChangeOf("i").Kind, ChangeOf("i").PreviousSize));
        var merged = ChangeOf("g");
        Assert.Equal(ClusterChangeKind.Merged, merged.Kind);
        Assert.Equal(new[] { id["gh"], id["mn"] }.Order(StringComparer.Ordinal), merged.From.Order(StringComparer.Ordinal));
        Assert.Equal(merged.From[0], next.Clusters.Single(c => c.Members.Any(m => m.ImageId == "g")).Id);   // its own id first
        Assert.Equal((ClusterChangeKind.New, (int?)null, 0), (ChangeOf("v").Kind, ChangeOf("v").PreviousSize, ChangeOf("v").From.Count));
        Assert.Equal(ClusterChangeKind.Changed, ChangeOf("x").Kind);

        // Published with the manifest, valid against the schema, and read back.
        var node = JsonNode.Parse(next.ToJson())!;
        Assert.Empty(SchemaErrors(node));
        Assert.Equal("merged", (string?)node["clusters"]!.AsArray().Single(c => (string?)c!["id"] == next.Clusters.Single(k => k.Change!.Kind == ClusterChangeKind.Merged).Id)!["change"]!["kind"]);
        Assert.Equal(next.ToJson(), ClusterManifest.FromJson(next.ToJson()).ToJson());
    }

    [Fact]
    public void One_image_drifting_in_from_a_neighbour_is_growth_not_a_merger()
    {
        string[] before = ["a", "b", "c", "d", "e", "f"];
        var first = Manifest(before, [0, 0, 0, 1, 1, 1], previous: null);
        var next = Manifest(before, [0, 0, 0, 0, 1, 1], first);
        var grown = next.Clusters.Single(c => c.Size == 4).Change!;
        Assert.Equal(ClusterChangeKind.Grown, grown.Kind);
        Assert.Equal(2, grown.From.Count);
        Assert.Equal(ClusterChangeKind.Shrunk, next.Clusters.Single(c => c.Size == 2).Change!.Kind);
    }

    private static string? Of(ClusterManifest manifest, string image) => manifest.Images.Single(i => i.ImageId == image).ClusterId;

    private static ClusterManifest Sample(ClusterManifest? previous) =>
        Manifest(["a", "b", "c", "d", "e", "f"], [0, 0, 1, 1, 1, -1], previous);

    /// <summary>A manifest from given labels: ordering = rows, reachability 0.5 (∞ first), core 0.25 (∞ for noise).</summary>
    private static ClusterManifest Manifest(string[] ids, int[] labels, ClusterManifest? previous)
    {
        var n = ids.Length;
        var x = Enumerable.Range(0, n).SelectMany(i => new[] { 1f, i }).ToArray();
        var optics = new OpticsResult(2, 0.13, [.. Enumerable.Range(0, n)],
            [.. Enumerable.Range(0, n).Select(i => i == 0 ? double.PositiveInfinity : 0.5)],
            [.. labels.Select(l => l < 0 ? double.PositiveInfinity : 0.25)],
            [.. Enumerable.Range(0, n).Select(i => i - 1)]);
        return ClusterManifest.Create(Run, ids, x, 2, optics, labels, previous);
    }
}
