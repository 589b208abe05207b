using System.Text;
using Motif.Core.Annotations;
using Motif.Core.Evaluation;
using Motif.Pipeline.Annotations;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Tests;

namespace Motif.Pipeline.Tests.Annotations;

/// <summary>The merged ground truth: imported CSV plus effective annotations, with the split frozen the first time
/// a component is used.</summary>
public sealed class GroundTruthTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly LocalFolderBlobStore _blobs;
    private readonly SqliteImageCatalog _catalog;
    private readonly BlobAnnotationStore _store;

    public GroundTruthTests()
    {
        _blobs = new LocalFolderBlobStore(_folder.Combine("blobs"));
        _catalog = new SqliteImageCatalog(_folder.Combine("catalog.db"));
        _store = new BlobAnnotationStore(_blobs, _catalog);
    }

    public void Dispose()
    {
        _blobs.Dispose();
        _catalog.Dispose();
        _folder.Dispose();
    }

    private async Task AcceptAsync(params string[] ids)
    {
        foreach (var id in ids)
        {
            await _catalog.PutImageAsync(new ImageRecord(id, "s", new string('a', 64), 1, ImageStatus.Accepted, null, null, "jpeg", 1, 1, DateTimeOffset.UnixEpoch));
        }
    }

    [Fact]
    public async Task Nothing_imported_and_nothing_annotated_is_no_ground_truth()
    {
        Assert.Null(await GroundTruth.LoadAsync(_blobs, _store));
        Assert.Null(await _blobs.GetPropertiesAsync(CollectionBlobs.MorphographSplit));
    }

    [Fact]
    public async Task Annotation_components_are_frozen_in_the_stored_split_and_a_test_component_never_moves_to_training()
    {
        await AcceptAsync("t1", "t2", "r1", "r2", "n1", "n2");
        await _blobs.PutAsync(CollectionBlobs.MorphographEdges, new MemoryStream(Encoding.UTF8.GetBytes("type,img1,img2\nPOSITIVE,t1,t2\nPOSITIVE,r1,r2\n")));
        var frozen = "{\"schemaVersion\": 1, \"ratios\": {\"train\": 0.5, \"validation\": 0.25, \"test\": 0.25}, \"train\": [\"r1\", \"r2\"], \"validation\": [], \"test\": [\"t1\", \"t2\"]}";
        await _blobs.PutAsync(CollectionBlobs.MorphographSplit, new MemoryStream(Encoding.UTF8.GetBytes(frozen)));

        await _store.AppendAsync(new AnnotationDraft("ada", AnnotationLabel.Confirm, ["n1", "n2"]) { ClusterId = "c1" });
        var first = await GroundTruth.LoadAsync(_blobs, _store);
        var stored = MorphographSplit.Parse(await _blobs.ReadAllBytesAsync(CollectionBlobs.MorphographSplit));
        var etag = (await _blobs.GetPropertiesAsync(CollectionBlobs.MorphographSplit))!.ETag;

        Assert.NotNull(first);
        Assert.Equal(1, first.Annotations);
        Assert.Equal(MorphographSplit.HashedPart("n1", stored.Ratios), stored.PartOf("n2"));
        Assert.Equal(stored.Parts, first.Split.Parts);
        // Loading again changes nothing, so nothing is written.
        var again = await GroundTruth.LoadAsync(_blobs, _store);
        Assert.Equal(etag, (await _blobs.GetPropertiesAsync(CollectionBlobs.MorphographSplit))!.ETag);
        Assert.Equal(first.DataVersion, again!.DataVersion);

        // A confirmation joining a training image to a test image: the training component moves to test, not back.
        var join = await _store.AppendAsync(new AnnotationDraft("ada", AnnotationLabel.Confirm, ["r2", "t1"]) { ClusterId = "c2" });
        var joined = await GroundTruth.LoadAsync(_blobs, _store);
        Assert.All(new[] { "r1", "r2", "t1", "t2" }, image => Assert.Equal(SplitPart.Test, joined!.Split.PartOf(image)));
        Assert.NotEqual(first.DataVersion, joined!.DataVersion);

        // Undone, the edge is gone but the images stay where they were frozen.
        await _store.AppendAsync(new AnnotationDraft("ada", AnnotationLabel.Undo, []) { Undoes = join.Id });
        var undone = await GroundTruth.LoadAsync(_blobs, _store);
        Assert.Equal(SplitPart.Test, undone!.Split.PartOf("r1"));
        Assert.DoesNotContain(undone.Morphograph.Edges, e => e.Uid == join.Id);
    }
}
