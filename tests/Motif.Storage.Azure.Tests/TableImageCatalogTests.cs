using System.Text.RegularExpressions;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Motif.Storage.Azure.Catalog;
using Motif.Storage.Catalog;

namespace Motif.Storage.Azure.Tests;

/// <summary>
/// What <see cref="TableImageCatalog"/> promises beyond the port, seen in the requests it sends (recorded by a pipeline
/// policy, the SDK's own seam): no query is a table scan, listings page, a redelivered batch is cheap to ignore.
/// </summary>
public sealed partial class TableImageCatalogTests
{
    private static ImageRecord Accepted(string id, string hash) =>
        new(id, "stamp", hash, 100, ImageStatus.Accepted, null, null, "jpeg", 640, 480, DateTimeOffset.UnixEpoch);

    private static async Task<(TableImageCatalog Catalog, RecordingPolicy Requests)> CreateAsync(TableImageCatalogOptions? options = null)
    {
        var azurite = await SharedAzurite.GetAsync();
        var requests = new RecordingPolicy();
        var clientOptions = new TableClientOptions();
        clientOptions.AddPolicy(requests, HttpPipelinePosition.PerRetry);
        var catalog = new TableImageCatalog(new TableClient(azurite.ConnectionString, SharedAzurite.UniqueName("catalog"), clientOptions), options);
        await catalog.CreateTableIfNotExistsAsync();
        requests.Clear();
        return (catalog, requests);
    }

    [Fact]
    public async Task Every_request_is_a_point_read_a_partition_query_a_one_entity_write_or_a_one_partition_transaction()
    {
        var (catalog, requests) = await CreateAsync();
        await catalog.PutImageAsync(Accepted("a/b.jpg", "h1"));
        await catalog.PutImageAsync(Accepted("c#?.jpg", "h2"));
        await catalog.GetImageAsync("a/b.jpg");
        await catalog.AddSignaturesAsync([new("m/1", "h1", "shards/m/1/x.npy", 0)]);
        await catalog.AddSignaturesAsync([new("m/1", "h1", "shards/m/1/y.npy", 0)]);
        await catalog.RecordSignatureFailureAsync("m/1", "h2", "corrupt", "x");
        await catalog.GetSignatureAsync("m/1", "h1");
        await catalog.ListImagesAsync();
        await catalog.ListUnsignedAsync("m/1");
        await catalog.ListSignedAsync("m/1");
        await catalog.ListSignatureFailuresAsync("m/1");
        await catalog.ListReferencedShardsAsync();
        await catalog.RemoveImagesAsync(["a/b.jpg", "gone"]);
        await catalog.AddSignaturesAsync(Enumerable.Range(0, 250).Select(i => new SignatureLocation(i % 2 == 0 ? "m/1" : "m/2", $"h{i}", $"shard-{i % 7}", i)).ToArray());

        var kinds = requests.All.Select(Classify).ToList();

        Assert.All(kinds, kind => Assert.Contains(kind, new[] { "point read", "partition query", "transaction", "one-entity write" }));
        Assert.Contains("point read", kinds);
        Assert.Contains("partition query", kinds);
        Assert.Contains("transaction", kinds);
        Assert.All(requests.All.Where(r => Classify(r) == "partition query"), r => Assert.DoesNotContain(" or ", Filter(r.Uri)));
        // Azurite runs a transaction that spans partitions or holds more than 100 entities (Azure refuses both), so
        // the limits are checked on what was sent.
        Assert.All(requests.Transactions, t =>
        {
            Assert.InRange(t.Operations, 1, 100);
            Assert.Single(t.Partitions);
        });
        Assert.True(requests.Transactions.Count >= 5);
    }

    [Fact]
    public async Task A_listing_follows_continuation_tokens_page_by_page_in_every_image_partition()
    {
        var (catalog, requests) = await CreateAsync(new TableImageCatalogOptions { PageSize = 10 });
        var ids = Enumerable.Range(0, 400).Select(i => $"img-{i:D3}.jpg").ToArray();
        await Parallel.ForEachAsync(ids, async (id, token) => await catalog.PutImageAsync(Accepted(id, id), token));
        requests.Clear();

        Assert.Equal(ids, (await catalog.ListImagesAsync()).Select(i => i.ImageId));

        var perPartition = requests.All.Where(r => Classify(r) == "partition query").GroupBy(r => PartitionOf(Filter(r.Uri))).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(CatalogKeys.ImagePartitionCount, perPartition.Count);
        foreach (var partition in ids.GroupBy(CatalogKeys.ImagePartition))
        {
            // At least one request per page of 10; the service may end a page early, never make it larger.
            Assert.True(perPartition[partition.Key] >= (partition.Count() + 9) / 10, $"{partition.Key}: {partition.Count()} images in {perPartition[partition.Key]} requests");
        }
        Assert.Contains(requests.All, r => r.Uri.Query.Contains("NextRowKey", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_redelivered_batch_costs_one_refused_transaction_and_point_reads_not_a_retry_per_signature()
    {
        var (catalog, requests) = await CreateAsync();
        var job = Enumerable.Range(0, 99).Select(i => new SignatureLocation("m1", $"h{i:D2}", "shard-1", i)).ToArray();
        Assert.Equal(99, await catalog.AddSignaturesAsync(job));
        requests.Clear();

        Assert.Equal(0, await catalog.AddSignaturesAsync(job.Select(l => l with { Shard = "shard-2" }).ToArray()));

        Assert.Equal(1, requests.All.Count(r => Classify(r) == "transaction"));
        Assert.Equal(98, requests.All.Count(r => Classify(r) == "point read"));
        Assert.Equal(["shard-1"], await catalog.ListReferencedShardsAsync());
    }

    [Fact]
    public async Task Strings_a_property_cannot_hold_are_refused_and_an_overlong_message_is_cut()
    {
        var (catalog, _) = await CreateAsync();
        var longest = new string('i', CatalogEntities.MaxTextLength);

        await catalog.PutImageAsync(Accepted(longest, "h"));
        await catalog.PutImageAsync(Accepted("wordy.jpg", "h") with { Message = new string('m', 40_000) });

        Assert.Equal(longest, (await catalog.GetImageAsync(longest))!.ImageId);
        var message = (await catalog.GetImageAsync("wordy.jpg"))!.Message!;
        Assert.Equal(CatalogEntities.MaxTextLength, message.Length);
        Assert.EndsWith("m\u2026", message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => catalog.PutImageAsync(Accepted(longest + "i", "h")));
        await Assert.ThrowsAsync<ArgumentException>(() => catalog.AddSignaturesAsync([new("m1", longest + "h", "shard", 0)]));
        // Azurite stores a time before 1601; Azure refuses it, so the catalog does for both.
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => catalog.PutImageAsync(Accepted("old.jpg", "h") with { UpdatedAt = default }));
    }

    [Fact]
    public async Task A_missing_table_is_named_on_writes_and_queries_and_reads_as_empty_on_point_reads()
    {
        var azurite = await SharedAzurite.GetAsync();
        var catalog = new TableImageCatalog(new TableClient(azurite.ConnectionString, SharedAzurite.UniqueName("missing")));

        var write = await Assert.ThrowsAsync<InvalidOperationException>(() => catalog.PutImageAsync(Accepted("a.jpg", "h")));
        var query = await Assert.ThrowsAsync<InvalidOperationException>(() => catalog.ListImagesAsync());
        var transaction = await Assert.ThrowsAsync<InvalidOperationException>(() => catalog.AddSignaturesAsync([new("m1", "h", "shard", 0)]));

        Assert.All(new[] { write, query, transaction }, e => Assert.Contains(nameof(TableImageCatalog.CreateTableIfNotExistsAsync), e.Message, StringComparison.Ordinal));
        Assert.Null(await catalog.GetImageAsync("a.jpg"));
        Assert.Equal(0, await catalog.RemoveImagesAsync(["a.jpg"]));
    }

    // What a request is, from its method and URI alone.
    private static string Classify((string Method, Uri Uri) request)
    {
        var path = Uri.UnescapeDataString(request.Uri.AbsolutePath);
        return request.Method switch
        {
            "POST" when path.EndsWith("/$batch", StringComparison.Ordinal) => "transaction",
            "GET" when EntityPath().IsMatch(path) => "point read",
            "GET" when PartitionFilter().IsMatch(Filter(request.Uri)) => "partition query",
            "GET" => "table scan",
            "PUT" or "MERGE" or "PATCH" or "DELETE" when EntityPath().IsMatch(path) => "one-entity write",
            _ => $"other: {request.Method} {path}",
        };
    }

    private static string Filter(Uri uri) =>
        uri.Query.TrimStart('?').Split('&').Select(p => p.Split('=', 2)).Where(p => p[0] == "$filter").Select(p => Uri.UnescapeDataString(p[1])).SingleOrDefault() ?? "";

    private static string PartitionOf(string filter) => PartitionFilter().Match(filter).Groups[1].Value;

    [GeneratedRegex(@"\(PartitionKey='[^']*',RowKey='[^']*'\)$")]
    private static partial Regex EntityPath();

    [GeneratedRegex(@"^PartitionKey eq '([^']*)'( and .*)?$")]
    private static partial Regex PartitionFilter();

    /// <summary>Records the method and URI of every request the client sends (each retry too), and the partition of each operation of a transaction.</summary>
    private sealed partial class RecordingPolicy : HttpPipelineSynchronousPolicy
    {
        private readonly List<(string, Uri)> _requests = [];
        private readonly List<(int, IReadOnlySet<string>)> _transactions = [];

        public IReadOnlyList<(int Operations, IReadOnlySet<string> Partitions)> Transactions
        {
            get
            {
                lock (_requests)
                {
                    return _transactions.ToArray();
                }
            }
        }

        public IReadOnlyList<(string Method, Uri Uri)> All
        {
            get
            {
                lock (_requests)
                {
                    return _requests.ToArray();
                }
            }
        }

        public void Clear()
        {
            lock (_requests)
            {
                _requests.Clear();
                _transactions.Clear();
            }
        }

        public override void OnSendingRequest(HttpMessage message)
        {
            var request = message.Request;
            (int, IReadOnlySet<string>)? transaction = null;
            if (request.Uri.Path.EndsWith("/$batch", StringComparison.Ordinal) && request.Content is { } content)
            {
                // Each operation of the multipart body is a request line of its own and names its entity's partition:
                // in the JSON of an insert, in the URL of an upsert or a delete.
                using var body = new MemoryStream();
                content.WriteTo(body, CancellationToken.None);
                var text = System.Text.Encoding.UTF8.GetString(body.ToArray());
                transaction = (OperationLine().Count(text), OperationPartition().Matches(text)
                    .Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value).ToHashSet(StringComparer.Ordinal));
            }
            lock (_requests)
            {
                _requests.Add((request.Method.Method, request.Uri.ToUri()));
                if (transaction is { } t)
                {
                    _transactions.Add(t);
                }
            }
        }

        [GeneratedRegex(@"""PartitionKey"":""([^""]*)""|\(PartitionKey='([^']*)'")]
        private static partial Regex OperationPartition();

        [GeneratedRegex(@"^(POST|PUT|MERGE|PATCH|DELETE) https?://", RegexOptions.Multiline)]
        private static partial Regex OperationLine();
    }
}
