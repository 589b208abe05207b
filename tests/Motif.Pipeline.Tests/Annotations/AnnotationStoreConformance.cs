using System.Text;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Motif.Core.Annotations;
using Motif.Core.Clustering;
using Motif.Core.Manifests;
using Motif.Core.Signatures;
using Motif.Pipeline.Annotations;
using Motif.Storage.Azure.Blobs;
using Motif.Storage.Azure.Catalog;
using Motif.Storage.Azure.Tests;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Tests;
using Motif.Testing;

namespace Motif.Pipeline.Tests.Annotations;

/// <summary>
/// What the annotation store and the annotation service must do on any blob store and catalog. One class per storage:
/// the local folder with SQLite (embedded) and Azure Blob + Table Storage on Azurite run the same facts.
/// </summary>
public abstract class AnnotationStoreConformance
{
    /// <summary>A fresh, empty blob store and catalog.</summary>
    protected abstract Task<(IBlobStore Blobs, IImageCatalog Catalog)> CreateAsync();

    private IBlobStore _blobs = null!;
    private IImageCatalog _catalog = null!;

    /// <summary>img-0 … img-7 accepted, "bad.jpg" rejected.</summary>
    private async Task<BlobAnnotationStore> StoreAsync()
    {
        (_blobs, _catalog) = await CreateAsync();
        foreach (var id in Enumerable.Range(0, 8).Select(i => $"img-{i}"))
        {
            await _catalog.PutImageAsync(new ImageRecord(id, "s", new string('a', 64), 10, ImageStatus.Accepted, null, null, "jpeg", 4, 4, DateTimeOffset.UnixEpoch));
        }
        await _catalog.PutImageAsync(new ImageRecord("bad.jpg", "s", null, 10, ImageStatus.Rejected, "corrupt", "broken", null, 0, 0, DateTimeOffset.UnixEpoch));
        return new BlobAnnotationStore(_blobs, _catalog);
    }

    private static AnnotationDraft Confirm(params string[] images) => new("ada", AnnotationLabel.Confirm, images) { ClusterId = "c1", RunId = "run-1", ModelVersion = "m" };

    private static async Task<AnnotationRefusal> RefusedAsync(Func<Task> append) =>
        (await Assert.ThrowsAsync<AnnotationRefusedException>(append)).Refusal;

    private async Task<string[]> StoredNamesAsync()
    {
        var names = new List<string>();
        await foreach (var blob in _blobs.ListAllAsync(CollectionBlobs.Annotations))
        {
            names.Add($"{blob.Name} {blob.ETag}");
        }
        return [.. names];
    }

    [Fact]
    public async Task An_appended_annotation_reads_back_whole_and_the_history_lists_in_time_order()
    {
        var store = await StoreAsync();
        var draft = Confirm("img-1", "img-0") with { Note = "Same putto, mirrored\nin the engraving. Zoë" };

        var first = await store.AppendAsync(draft);
        var second = await store.AppendAsync(new AnnotationDraft("Bob", AnnotationLabel.WrongMember, ["img-2"]) { ClusterId = "c2", Others = ["img-3", "img-4"] });

        Assert.True(AnnotationIds.IsValid(first.Id));
        Assert.True(string.CompareOrdinal(first.Id, second.Id) < 0);
        var read = await store.GetAsync(first.Id);
        Assert.NotNull(read);
        Assert.Equal((first.Id, first.CreatedAt, "ada", AnnotationLabel.Confirm, "c1", "run-1", "m", draft.Note), (read.Id, read.CreatedAt, read.Annotator, read.Label, read.ClusterId, read.Draft.RunId, read.Draft.ModelVersion, read.Draft.Note));
        Assert.Equal(["img-1", "img-0"], read.Images);
        Assert.Equal([first.Id, second.Id], (await store.ListAsync()).Select(a => a.Id));
        Assert.Equal(["img-3", "img-4"], (await store.ListAsync("c2")).Single().Draft.Others);
        Assert.Empty(await store.ListAsync("c9"));
    }

    [Fact]
    public async Task A_clusters_history_reads_only_that_clusters_annotations()
    {
        var store = await StoreAsync();
        var ours = await store.AppendAsync(Confirm("img-0", "img-1"));
        for (var i = 0; i < 3; i++)
        {
            await store.AppendAsync(Confirm("img-2", "img-3") with { ClusterId = $"c{i + 2}" });
        }
        var undo = await store.AppendAsync(new AnnotationDraft("ada", AnnotationLabel.Undo, []) { Undoes = ours.Id });
        var counting = new CountingBlobStore(_blobs);
        var listing = new BlobAnnotationStore(counting, _catalog);

        Assert.Equal([ours.Id, undo.Id], (await listing.ListAsync("c1")).Select(a => a.Id));
        Assert.Equal(2, counting.Downloads);
        Assert.Equal(5, (await listing.ListAsync()).Count);
    }

    [Fact]
    public async Task Undo_withdraws_once_is_itself_stored_and_never_rewrites_what_was_there()
    {
        var store = await StoreAsync();
        var confirm = await store.AppendAsync(Confirm("img-0", "img-1"));
        var kept = await store.AppendAsync(Confirm("img-2", "img-3") with { Label = AnnotationLabel.Similar, ClusterId = "c2" });
        var before = await StoredNamesAsync();

        var undo = await store.AppendAsync(new AnnotationDraft("bob", AnnotationLabel.Undo, []) { Undoes = confirm.Id });

        Assert.Equal(("c1", "run-1"), (undo.ClusterId, undo.Draft.RunId));
        Assert.Equal(AnnotationRefusal.AlreadyUndone, await RefusedAsync(() => store.AppendAsync(new AnnotationDraft("ada", AnnotationLabel.Undo, []) { Undoes = confirm.Id })));
        Assert.Equal(AnnotationRefusal.AlreadyUndone, await RefusedAsync(() => store.AppendAsync(new AnnotationDraft("ada", AnnotationLabel.Undo, []) { Undoes = undo.Id })));
        Assert.Equal(AnnotationRefusal.UnknownAnnotation, await RefusedAsync(() => store.AppendAsync(new AnnotationDraft("ada", AnnotationLabel.Undo, []) { Undoes = AnnotationIds.New(DateTimeOffset.UnixEpoch) })));
        var history = await store.ListAsync();
        Assert.Equal([confirm.Id, kept.Id, undo.Id], history.Select(a => a.Id));
        Assert.Equal([kept.Id], AnnotationLog.Effective(history).Select(a => a.Id));
        Assert.Equal([confirm.Id, undo.Id], (await store.ListAsync("c1")).Select(a => a.Id));
        // Append-only: the blobs that were there are still there, each at the version first written.
        Assert.Equal(before, (await StoredNamesAsync()).Take(before.Length));
        Assert.Equal(3, (await StoredNamesAsync()).Length);
    }

    [Fact]
    public async Task Unknown_rejected_and_hostile_input_is_refused_and_nothing_is_stored()
    {
        var store = await StoreAsync();

        Assert.Equal(AnnotationRefusal.UnknownImage, await RefusedAsync(() => store.AppendAsync(Confirm("img-0", "img-99"))));
        Assert.Equal(AnnotationRefusal.UnknownImage, await RefusedAsync(() => store.AppendAsync(Confirm("img-0", "bad.jpg"))));
        Assert.Equal(AnnotationRefusal.Invalid, await RefusedAsync(() => store.AppendAsync(Confirm("img-0", "img-1") with { Annotator = "ada\u001b[2J" })));
        Assert.Equal(AnnotationRefusal.Invalid, await RefusedAsync(() => store.AppendAsync(Confirm("img-0", "img-1") with { Note = "\u202Egnp.exe" })));
        Assert.Equal(AnnotationRefusal.Invalid, await RefusedAsync(() => store.AppendAsync(Confirm())));
        Assert.Equal(AnnotationRefusal.TooLarge, await RefusedAsync(() => store.AppendAsync(Confirm([.. Enumerable.Range(0, AnnotationRules.MaxImages + 1).Select(i => $"img-{i}")]))));
        // A wrong member among many others: checked against one listing of the catalog, not one read per id.
        var others = Enumerable.Range(1, 7).Select(i => $"img-{i}").Concat(Enumerable.Range(0, 40).Select(i => $"gone-{i}")).ToArray();
        var e = await Assert.ThrowsAsync<AnnotationRefusedException>(() =>
            store.AppendAsync(new AnnotationDraft("ada", AnnotationLabel.WrongMember, ["img-0"]) { ClusterId = "c1", Others = others }));
        Assert.Equal(AnnotationRefusal.UnknownImage, e.Refusal);
        Assert.Contains("gone-0", e.Message);

        Assert.Empty(await StoredNamesAsync());
        Assert.Null(await store.GetAsync("../../etc/passwd"));
        Assert.Null(await store.GetAsync(AnnotationIds.New(DateTimeOffset.UnixEpoch)));
    }

    [Fact]
    public async Task A_stored_annotation_changed_by_hand_is_reported_not_skipped()
    {
        var store = await StoreAsync();
        var annotation = await store.AppendAsync(Confirm("img-0", "img-1"));
        var name = CollectionBlobs.Annotation(annotation.Id);
        var text = Encoding.UTF8.GetString(await _blobs.ReadAllBytesAsync(name)).Replace("\"ada\"", "\"ada\\u001b[31m\"", StringComparison.Ordinal);
        await _blobs.PutAsync(name, new MemoryStream(Encoding.UTF8.GetBytes(text)));

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => store.ListAsync());
        Assert.Contains(annotation.Id, e.Message);
        Assert.DoesNotContain(e.Message, c => char.IsControl(c));
    }

    /// <summary>img-0 … img-7: three pairs of near-duplicates (clusters) and two loners, as the manifest tests make it.</summary>
    private async Task<ClusterManifest> PublishAsync()
    {
        float[] x = [1, 0, 0, 0, 0.99f, 0.05f, 0, 0, 0, 1, 0, 0, 0.05f, 0.99f, 0, 0, 0, 0, 1, 0, 0, 0.05f, 0.99f, 0, 0, 0, 0, 1, -1, 0, 0, 0];
        var ids = Enumerable.Range(0, 8).Select(i => $"img-{i}").ToArray();
        var optics = Optics.Order(NeighbourGraph.Build(x, 4, 0.13), 2);
        var labels = Optics.ExtractXi(optics, 0.05).Labels;
        var parameters = new ClusteringParameters(0.13, 2, Extraction.Xi, 0.05, null, true, null);
        var manifest = ClusterManifest.Create(new ManifestRun("run-7", DateTimeOffset.UnixEpoch, "model-v", parameters), ids, x, 4, optics, labels, null);
        await new ManifestPublisher(_blobs).PublishAsync(manifest, null);
        return manifest;
    }

    [Fact]
    public async Task The_service_annotates_clusters_of_the_latest_manifest_only_and_records_its_run_model_and_the_rest_of_a_cluster()
    {
        var store = await StoreAsync();
        var service = new AnnotationService(store, new ReclusterService(_blobs, _catalog));
        Assert.Equal(AnnotationRefusal.UnknownCluster, await RefusedAsync(() => service.AnnotateAsync("ada", "c1", AnnotationLabel.Confirm, ["img-0", "img-1"])));

        var manifest = await PublishAsync();
        var cluster = manifest.Clusters.First(c => c.Members.Count == 2);
        var members = cluster.Members.Select(m => m.ImageId).ToArray();
        var outsider = manifest.Images.First(i => i.ClusterId != cluster.Id).ImageId;

        var confirm = await service.AnnotateAsync("ada", cluster.Id, AnnotationLabel.Confirm, members);
        var wrong = await service.AnnotateAsync("ada", cluster.Id, AnnotationLabel.WrongMember, [members[1]], "not the same print");

        Assert.Equal(("run-7", "model-v"), (confirm.Draft.RunId, confirm.Draft.ModelVersion));
        Assert.Equal([members[0]], wrong.Draft.Others);
        Assert.Equal(AnnotationRefusal.UnknownCluster, await RefusedAsync(() => service.AnnotateAsync("ada", "no-such-cluster", AnnotationLabel.Confirm, members)));
        Assert.Equal(AnnotationRefusal.NotInCluster, await RefusedAsync(() => service.AnnotateAsync("ada", cluster.Id, AnnotationLabel.Confirm, [members[0], outsider])));
        Assert.Equal(AnnotationRefusal.UnknownImage, await RefusedAsync(() => service.AnnotateAsync("ada", cluster.Id, AnnotationLabel.Confirm, [members[0], "img-99"])));
        Assert.Equal(AnnotationRefusal.Invalid, await RefusedAsync(() => service.AnnotateAsync("ada", cluster.Id, AnnotationLabel.WrongMember, members)));
        Assert.Equal(AnnotationRefusal.Invalid, await RefusedAsync(() => service.AnnotateAsync("ada", cluster.Id, AnnotationLabel.Undo, members)));
        var undo = await service.UndoAsync("bob", confirm.Id);
        Assert.Equal([confirm.Id, wrong.Id, undo.Id], (await service.ListAsync(cluster.Id)).Select(a => a.Id));
    }
}

/// <summary>The suite on a local folder and SQLite: what <c>motif annotate</c> uses embedded.</summary>
public sealed class LocalAnnotationStoreConformance : AnnotationStoreConformance, IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly List<IDisposable> _owned = [];

    protected override Task<(IBlobStore Blobs, IImageCatalog Catalog)> CreateAsync()
    {
        var blobs = new LocalFolderBlobStore(_folder.Combine("blobs"));
        var catalog = new SqliteImageCatalog(_folder.Combine("catalog.db"));
        _owned.Add(blobs);
        _owned.Add(catalog);
        return Task.FromResult<(IBlobStore, IImageCatalog)>((blobs, catalog));
    }

    public void Dispose()
    {
        _owned.ForEach(o => o.Dispose());
        _folder.Dispose();
    }
}

/// <summary>The suite on Azure Blob and Table Storage (Azurite): what the Functions app and <c>motif dev</c> use.</summary>
public sealed class AzureAnnotationStoreConformance : AnnotationStoreConformance
{
    protected override async Task<(IBlobStore Blobs, IImageCatalog Catalog)> CreateAsync()
    {
        var azurite = await SharedAzurite.GetAsync();
        var blobs = new AzureBlobStore(new BlobContainerClient(azurite.ConnectionString, SharedAzurite.UniqueName("notes")));
        await blobs.CreateContainerIfNotExistsAsync();
        var catalog = new TableImageCatalog(new TableClient(azurite.ConnectionString, SharedAzurite.UniqueName("notes")));
        await catalog.CreateTableIfNotExistsAsync();
        return (blobs, catalog);
    }
}
