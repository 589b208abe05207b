using System.Security.Cryptography;
using System.Text;
using Motif.Core.Evaluation;
using Motif.Core.Training;
using Motif.Imaging;
using Motif.Imaging.Derivations;
using Motif.Pipeline.Annotations;

namespace Motif.Pipeline.Training;

/// <summary>Synthetic copies of held-out images, rendered once, with the row of the collection each was made from.</summary>
/// <param name="Inputs">The copies as model inputs, row-major.</param>
/// <param name="Originals">For each copy, its original's row in the training inputs.</param>
internal sealed record HeldOutCopies(float[] Inputs, int[] Originals)
{
    public int Count => Originals.Length;
}

/// <summary>
/// What <see cref="TrainingService"/> learns from besides a morphograph (issue 11, item 3): each epoch's triplets of
/// images and synthetic copies of them, rendered to the model's input, and, for a collection without labels, the
/// held-out copies that validation and the final test score.
/// </summary>
/// <remarks>
/// <para><b>Triplets.</b> <see cref="SyntheticTriplets"/> under the epoch's seed: with a ground truth, the curated
/// triplets of its training part and one synthetic pair per artwork outside its validation and test parts; without,
/// one synthetic pair per image of the training part below. Each pair, curated or synthetic, gets up to
/// <see cref="SyntheticTripletOptions.NegativesPerPair"/> hard negatives, so every pair weighs the same in the loss and
/// the shuffle mixes them: while curators have confirmed a few dozen pairs the collection's thousands of synthetic
/// pairs dominate, and curated pairs, which teach what no derivation imitates (another artist's version, a copy in
/// another medium), take a growing share as annotations accumulate. No weight to tune: the data decides.</para>
/// <para><b>Copies.</b> The key <see cref="DerivationKey"/>(epoch seed, k) names copy k of an image
/// (<see cref="DerivationSampler"/>, of the kinds given: the single steps, or with reproductions of a detail), rendered from its working derivative (<see cref="DerivationRenderer.RenderModelInput"/>);
/// a pasted motif's host is drawn from the training images only, so no held-out pixel trains. The same epoch seed gives
/// the same copies to the byte, which keeps a resumed run bit-exact. A copy that cannot be rendered (a derivative too
/// small for its derivation) drops its triplets. Copies are rendered in parallel: each is independent and deterministic.</para>
/// <para><b>Held out without labels.</b> Each image's part is <see cref="MorphographSplit.HashedPart"/> of its id under
/// the research's ratios (2/3, 1/6, 1/6), as a new component of a morphograph is assigned: fixed by the id alone, so
/// it never moves as the collection grows. Validation and test images are never anchors, positives, negatives or paste
/// hosts. Validation scores <see cref="HeldOutCopiesPerImage"/> synthetic copies of each validation image, of the
/// harder kinds (<see cref="DerivationSampler.HardKinds"/>; their own seed, the same every epoch), by
/// <see cref="CopyRetrieval"/> against the whole collection and the other images' copies: the mAP of copy → original,
/// with the mean margin to break ties; the test part likewise with another seed, once, for the best epoch. It measures what the training optimises on images it never saw, which is
/// the honest part; it does not measure a museum's real copies, which only labels can.</para>
/// </remarks>
internal sealed class SyntheticData
{
    private const int ValidationSalt = 0x5a11d;
    private const int TestSalt = 0x7e57;

    /// <summary>Copies of each held-out image that validation and test rank. One easy copy per image among a few dozen
    /// images is found first by any backbone (mAP 1.000 at epoch 0, so fine-tuning could never be chosen); four hard
    /// ones, each ranked against the collection and the other images' copies, leave room to improve and still cost
    /// little: about a sixth of the collection, four times, embedded once per epoch.</summary>
    internal const int HeldOutCopiesPerImage = 4;

    private readonly IReadOnlyList<string> _ids;
    private readonly IReadOnlyDictionary<string, byte[]> _derivatives;
    private readonly PreprocessSpec _spec;
    private readonly SyntheticTriplets _triplets;
    private readonly int[] _trainingRows;
    private readonly string[] _hosts;
    private readonly bool _labelled;
    private readonly IReadOnlyList<string> _kinds;

    public SyntheticData(GroundTruth? truth, IReadOnlyList<string> ids, IReadOnlyDictionary<string, byte[]> derivatives, PreprocessSpec spec,
        SyntheticTripletOptions options, int seed, IReadOnlyList<string> kinds)
    {
        (_ids, _derivatives, _spec, _labelled, _kinds) = (ids, derivatives, spec, truth is not null, kinds);
        if (truth is not null)
        {
            _triplets = new SyntheticTriplets(truth.Duplicates, truth.Split, options);
            _trainingRows = [.. Enumerable.Range(0, ids.Count).Where(r => truth.Split.PartOf(ids[r]) is not (SplitPart.Validation or SplitPart.Test))];
            Validation = Test = new HeldOutCopies([], []);
            var row = ids.Select((id, r) => (id, r)).ToDictionary(p => p.id, p => p.r, StringComparer.Ordinal);
            CuratedPairs = [.. new TripletMining(truth.Duplicates, truth.Split, new TripletMiningOptions(options.NegativesPerPair, options.NearestCandidates)).PositivePairs
                .Where(p => row.ContainsKey(p.Anchor) && row.ContainsKey(p.Positive))
                .Select(p => (row[p.Anchor], row[p.Positive]))];
        }
        else
        {
            _triplets = SyntheticTriplets.WithoutLabels(options);
            var parts = ids.Select(PartOf).ToArray();
            _trainingRows = [.. Enumerable.Range(0, ids.Count).Where(r => parts[r] == SplitPart.Train)];
            Validation = Render(Enumerable.Range(0, ids.Count).Where(r => parts[r] == SplitPart.Validation).ToArray(), unchecked(seed ^ ValidationSalt));
            Test = Render(Enumerable.Range(0, ids.Count).Where(r => parts[r] == SplitPart.Test).ToArray(), unchecked(seed ^ TestSalt));
        }
        _hosts = [.. _trainingRows.Select(r => ids[r])];
    }

    /// <summary>The curated POSITIVE pairs of the training part, as rows of the collection: the edges the epochs train on
    /// (<see cref="TripletMining.PositivePairs"/>: between artworks, both ends in the frozen split's training part, so
    /// never a validation or test component). None without a ground truth.</summary>
    public IReadOnlyList<(int First, int Second)> CuratedPairs { get; } = [];

    /// <summary>Validation's copies (none with a ground truth: its validation part is scored instead).</summary>
    public HeldOutCopies Validation { get; }

    /// <summary>The test's copies (none with a ground truth).</summary>
    public HeldOutCopies Test { get; }

    /// <summary>The part an image has in a collection without labels (see the remarks).</summary>
    public static SplitPart PartOf(string imageId) => MorphographSplit.HashedPart(imageId, SplitRatios.Research);

    /// <summary>The data version of a collection without labels: its images and their contents. Another image, or another
    /// file under the same name, is other data, and a rerun then starts a new run rather than resuming one.</summary>
    public static string DataVersion(IEnumerable<(string ImageId, string ContentHash)> images)
    {
        var text = new StringBuilder("unlabelled\n");
        foreach (var (id, hash) in images.OrderBy(i => i.ImageId, StringComparer.Ordinal))
        {
            text.Append(id).Append('\t').Append(hash).Append('\n');
        }
        return "unlabelled-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..32];
    }

    /// <summary>The epoch's triplets under <paramref name="signatures"/> (every image's, in id order) and the copies they
    /// name, by (image id, key).</summary>
    public (MinedTriplet[] Triplets, IReadOnlyDictionary<(string, DerivationKey), float[]> Copies) Epoch(float[] signatures, int seed,
        CancellationToken cancellationToken)
    {
        IReadOnlyList<MinedTriplet> mined;
        if (_labelled)
        {
            mined = _triplets.Epoch(signatures, _ids, seed);
        }
        else
        {
            // Only the training part is given: held-out images can then be neither anchors nor negatives.
            var dimension = signatures.Length / Math.Max(1, _ids.Count);
            var training = new float[_trainingRows.Length * dimension];
            for (var i = 0; i < _trainingRows.Length; i++)
            {
                signatures.AsSpan(_trainingRows[i] * dimension, dimension).CopyTo(training.AsSpan(i * dimension));
            }
            mined = _triplets.Epoch(training, _hosts, seed);
        }
        var wanted = mined.Where(t => t.Derivation is not null).Select(t => (t.Positive, t.Derivation!.Value)).Distinct().ToArray();
        var rendered = new float[wanted.Length][];
        Parallel.For(0, wanted.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken }, i =>
        {
            var (id, key) = wanted[i];
            rendered[i] = TryRender(id, DerivationSampler.Sample(key.Seed, id, key.Index, _hosts, _kinds)) ?? [];
        });
        var copies = new Dictionary<(string, DerivationKey), float[]>();
        for (var i = 0; i < wanted.Length; i++)
        {
            if (rendered[i].Length > 0)
            {
                copies[wanted[i]] = rendered[i];
            }
        }
        var triplets = mined.Where(t => t.Derivation is not { } key || copies.ContainsKey((t.Positive, key))).ToArray();
        return (triplets, copies);
    }

    /// <summary><paramref name="perImage"/> copies of each training image under <paramref name="seed"/>, of the run's kinds
    /// (the ones its epochs draw), pasted ones into training images only: the matching pairs a signature projection is
    /// fitted from. Never a held-out image, so validation and test still score images the fit never saw.</summary>
    public HeldOutCopies TrainingCopies(int seed, int perImage) => Render(_trainingRows, seed, perImage, _hosts, _kinds);

    /// <summary><see cref="HeldOutCopiesPerImage"/> copies of each of <paramref name="rows"/>, of the
    /// <see cref="DerivationSampler.HardKinds"/>, pasted ones into other held-out images only.</summary>
    private HeldOutCopies Render(int[] rows, int seed) =>
        Render(rows, seed, HeldOutCopiesPerImage, [.. rows.Select(r => _ids[r])], DerivationSampler.HardKinds);

    private HeldOutCopies Render(int[] rows, int seed, int perImage, IReadOnlyList<string> hosts, IReadOnlyList<string> kinds)
    {
        var copies = new float[rows.Length * perImage][];
        Parallel.For(0, copies.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var id = _ids[rows[i / perImage]];
            copies[i] = TryRender(id, DerivationSampler.Sample(seed, id, i % perImage, hosts, kinds)) ?? [];
        });
        var kept = Enumerable.Range(0, copies.Length).Where(i => copies[i].Length > 0).ToArray();
        var inputs = new float[kept.Length * _spec.ValuesPerImage];
        for (var k = 0; k < kept.Length; k++)
        {
            copies[kept[k]].CopyTo(inputs, k * _spec.ValuesPerImage);
        }
        return new HeldOutCopies(inputs, [.. kept.Select(i => rows[i / perImage])]);
    }

    private float[]? TryRender(string id, Derivation derivation)
    {
        var input = new float[_spec.ValuesPerImage];
        try
        {
            var host = derivation is PastedMotif pasted ? _derivatives[pasted.Host] : [];
            DerivationRenderer.RenderModelInput(_derivatives[id], derivation, _spec, input, host);
            return input;
        }
        catch (Exception e) when (e is ArgumentException or ImageRejectedException)
        {
            return null;
        }
    }
}
