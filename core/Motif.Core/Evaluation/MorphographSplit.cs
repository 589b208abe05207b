using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Motif.Core.Evaluation;

/// <summary>Where an image of the morphograph serves: training, validation (model selection, early stopping) or the
/// final test. The order is how far held out a part is: Train &lt; Validation &lt; Test.</summary>
public enum SplitPart
{
    /// <summary>Seen by training: its positive pairs make triplets.</summary>
    Train,
    /// <summary>Held out from training; used to choose epochs and models.</summary>
    Validation,
    /// <summary>Held out from everything but the final evaluation.</summary>
    Test,
}

/// <summary>The shares of components that go to each part; they must be finite, non-negative and sum to 1.</summary>
public sealed record SplitRatios(double Train, double Validation, double Test)
{
    /// <summary>The research's split: ≈ 2/3 train, 1/6 validation, 1/6 test (SEEDS.md, Replica: 4,513 / 1,460 / 1,311
    /// connections). The default.</summary>
    public static SplitRatios Research { get; } = new(2.0 / 3, 1.0 / 6, 1.0 / 6);

    /// <summary>Throws unless the ratios are a distribution.</summary>
    /// <exception cref="ArgumentException">A ratio is negative or not finite, or they do not sum to 1 (± 1e-9).</exception>
    public void Validate()
    {
        if (!(double.IsFinite(Train) && double.IsFinite(Validation) && double.IsFinite(Test)) || Train < 0 || Validation < 0 || Test < 0 ||
            Math.Abs(Train + Validation + Test - 1) > 1e-9)
        {
            throw new ArgumentException($"Split ratios must be non-negative and sum to 1; got {Train}, {Validation}, {Test}.");
        }
    }
}

/// <summary>An image whose part changed when the split was extended: a new edge joined its component to a more
/// held-out one. <paramref name="Component"/> is the merged component's smallest image id.</summary>
public sealed record SplitMove(string Image, SplitPart From, SplitPart To, string Component);

/// <summary>What <see cref="MorphographSplit.Extend"/> did: the new split, the images that moved (always towards
/// the more held-out part), and how many components were new (assigned by hash).</summary>
public sealed record SplitExtension(MorphographSplit Split, IReadOnlyList<SplitMove> Moves, int Components, int NewComponents);

/// <summary>
/// A <b>frozen</b> train / validation / test split of the morphograph's images by connected component of positive
/// edges, after DUPLICATE merging (<see cref="MorphographDuplicates"/>). The research split by component
/// (SEEDS.md, Replica) but recomputed it from scratch; Motif stores it and only ever extends it, so that a later
/// annotation never moves a test component into training.
/// </summary>
/// <remarks>
/// <para><b>Rules of <see cref="Extend"/>.</b> For each component of the merged positive graph, its members are the
/// images of its duplicate groups (every photograph, not only canonical ids, so any id a caller holds can be looked up):
/// <list type="number">
/// <item>If no member has a part yet, the component is <i>new</i> and gets the part that a hash of its smallest image id
/// selects: the first 8 bytes of SHA-256(UTF-8 of the id), big-endian, taken as a number u in [0, 1) (53 bits), give
/// Train when u &lt; train ratio, Validation when u &lt; train + validation ratio, Test otherwise. The assignment
/// depends on nothing but that id and the ratios: not on input order, not on the other components, not on earlier
/// imports. The ratios therefore hold in expectation over components, not exactly (and not over images or edges).</item>
/// <item>Otherwise the component takes the most held-out part among its members (Test over Validation over Train),
/// and every member gets it: a member new to the split joins its component's part (an annotation adding an image to a
/// test component puts it in test), and a member that had a less held-out part moves and is reported
/// (<see cref="SplitMove"/>). A held-out image never moves towards training; training images may move into a
/// held-out part — the model has seen them, which is a small optimism the caller can log, whereas the opposite would
/// train on test data.</item>
/// <item>Images that are in the stored split but in no component now (their edges were removed or retyped) keep their
/// part: once assigned, an image keeps it forever, and it comes back with it if it is connected again.</item>
/// </list>
/// Images with only non-positive edges (SIMILAR, NEGATIVE…), and duplicate groups connected to nothing else, are in no
/// component and get no part (<see cref="PartOf"/> is null): they are neither training pairs nor evaluation queries.</para>
/// <para><b>Storage.</b> <see cref="ToJson"/> writes a schema version, the ratios and each part's images in ordinal
/// order, indented with LF line ends: the same split gives the same bytes. <see cref="Parse"/> reads it back.</para>
/// </remarks>
public sealed class MorphographSplit
{
    /// <summary>The JSON layout's version; <see cref="Parse"/> refuses others.</summary>
    public const int SchemaVersion = 1;

    private readonly SortedDictionary<string, SplitPart> _parts;

    private MorphographSplit(SplitRatios ratios, SortedDictionary<string, SplitPart> parts) => (Ratios, _parts) = (ratios, parts);

    /// <summary>The ratios new components are assigned with; fixed when the split is created and stored with it.</summary>
    public SplitRatios Ratios { get; }

    /// <summary>Every image that has a part, in ordinal order of image id.</summary>
    public IReadOnlyDictionary<string, SplitPart> Parts => _parts;

    /// <summary>A split with no image yet; <see cref="Extend"/> it with a morphograph.</summary>
    public static MorphographSplit Empty(SplitRatios? ratios = null)
    {
        ratios ??= SplitRatios.Research;
        ratios.Validate();
        return new MorphographSplit(ratios, new SortedDictionary<string, SplitPart>(StringComparer.Ordinal));
    }

    /// <summary>The part of <paramref name="imageId"/>, or null when it has none (see the remarks).</summary>
    public SplitPart? PartOf(string imageId)
    {
        ArgumentNullException.ThrowIfNull(imageId);
        return _parts.TryGetValue(imageId, out var part) ? part : null;
    }

    /// <summary>The images of <paramref name="part"/>, in ordinal order.</summary>
    public IReadOnlyList<string> ImagesOf(SplitPart part) => [.. _parts.Where(p => p.Value == part).Select(p => p.Key)];

    /// <summary>The part a new component whose smallest image id is <paramref name="componentId"/> gets under
    /// <paramref name="ratios"/> (rule 1 of the remarks).</summary>
    public static SplitPart HashedPart(string componentId, SplitRatios ratios)
    {
        ArgumentNullException.ThrowIfNull(componentId);
        ArgumentNullException.ThrowIfNull(ratios);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(componentId), digest);
        var u = (BinaryPrimitives.ReadUInt64BigEndian(digest) >> 11) * (1.0 / (1UL << 53));
        return u < ratios.Train ? SplitPart.Train : u < ratios.Train + ratios.Validation ? SplitPart.Validation : SplitPart.Test;
    }

    /// <summary>This split extended to the components of <paramref name="duplicates"/>' merged morphograph, by the
    /// rules in the remarks. This split is not changed.</summary>
    public SplitExtension Extend(MorphographDuplicates duplicates)
    {
        ArgumentNullException.ThrowIfNull(duplicates);
        var parts = new SortedDictionary<string, SplitPart>(_parts, StringComparer.Ordinal);
        var moves = new List<SplitMove>();
        var components = duplicates.Merged.Components();
        var fresh = 0;
        foreach (var component in components)
        {
            // Members in ordinal order: the canonical ids are each group's smallest and the component is sorted, so
            // the first member is the component's smallest image id.
            var members = component.SelectMany(duplicates.Members).Order(StringComparer.Ordinal).ToArray();
            SplitPart? held = null;
            foreach (var image in members)
            {
                if (_parts.TryGetValue(image, out var part) && (held is null || part > held))
                {
                    held = part;
                }
            }
            if (held is null)
            {
                fresh++;
            }
            var target = held ?? HashedPart(members[0], Ratios);
            foreach (var image in members)
            {
                if (_parts.TryGetValue(image, out var before) && before != target)
                {
                    moves.Add(new SplitMove(image, before, target, members[0]));
                }
                parts[image] = target;
            }
        }
        return new SplitExtension(new MorphographSplit(Ratios, parts), moves, components.Count, fresh);
    }

    /// <summary>The split as JSON (UTF-8): stable layout and order, so equal splits give equal bytes.</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, NewLine = "\n" }))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", SchemaVersion);
            json.WriteStartObject("ratios");
            json.WriteNumber("train", Ratios.Train);
            json.WriteNumber("validation", Ratios.Validation);
            json.WriteNumber("test", Ratios.Test);
            json.WriteEndObject();
            foreach (var part in Enum.GetValues<SplitPart>())
            {
                json.WriteStartArray(NameOf(part));
                foreach (var image in ImagesOf(part))
                {
                    json.WriteStringValue(image);
                }
                json.WriteEndArray();
            }
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>Reads a split written by <see cref="ToJson"/>.</summary>
    /// <exception cref="FormatException">Not such a split: not JSON, another schema version, invalid ratios, a part
    /// missing, or an image in two parts.</exception>
    public static MorphographSplit Parse(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            using var document = JsonDocument.Parse(utf8Json.ToArray());
            var root = document.RootElement;
            var version = root.GetProperty("schemaVersion").GetInt32();
            if (version != SchemaVersion)
            {
                throw new FormatException($"The split's schema version is {version}; this Motif reads version {SchemaVersion}.");
            }
            var r = root.GetProperty("ratios");
            var ratios = new SplitRatios(r.GetProperty("train").GetDouble(), r.GetProperty("validation").GetDouble(), r.GetProperty("test").GetDouble());
            ratios.Validate();
            var parts = new SortedDictionary<string, SplitPart>(StringComparer.Ordinal);
            foreach (var part in Enum.GetValues<SplitPart>())
            {
                foreach (var image in root.GetProperty(NameOf(part)).EnumerateArray())
                {
                    var id = image.GetString();
                    if (string.IsNullOrEmpty(id) || !parts.TryAdd(id, part))
                    {
                        throw new FormatException($"The split names the image '{id}' {(string.IsNullOrEmpty(id) ? "empty" : "in two parts")}.");
                    }
                }
            }
            return new MorphographSplit(ratios, parts);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            throw new FormatException($"Not a morphograph split: {e.Message}", e);
        }
    }

    /// <summary>The part's name in JSON and reports: train, validation, test.</summary>
    public static string NameOf(SplitPart part) => part switch
    {
        SplitPart.Train => "train",
        SplitPart.Validation => "validation",
        SplitPart.Test => "test",
        _ => throw new ArgumentOutOfRangeException(nameof(part), part, null),
    };
}
