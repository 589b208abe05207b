using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Motif.Cli;

namespace Motif.Bench;

/// <summary>
/// What fine-tuning buys on a collection Motif was not trained on (issue 11's benchmark): <c>motif train</c> (cpu
/// recipe, ResNet-50, no labels) on sample collection A, then the pretrained backbone (the anchor) and the fine-tuned
/// one scored on sample collection B, which shares no photograph with A (the other half of the source,
/// <see cref="SampleBases"/>, and another seed). Optionally a third row: the same training given A's morphograph; and a
/// fourth (<c>--itself yes</c>): the training without labels on B itself, as a museum runs it on its own collection,
/// which is not a held-out result and not the goal's.
/// Both collections are <c>motif sample --layout tiles</c> by default (<see cref="SampleLayout.Tiles"/>): a hundred-odd
/// tiles of a half's photos, each beside one reproduction of a detail, like the issue's trial of paintings and
/// reproductions of their details; neighbouring tiles are the hard negatives. On the easier families layout the
/// pretrained network already scores mAP 0.86, which leaves no room for the goal of +0.15.
/// </summary>
/// <remarks>
/// <para>Everything runs through <c>./motif</c>, as a user would: <c>sample</c>, <c>run</c> (intake, signatures,
/// radius, OPTICS with the product's defaults), <c>train --save</c>, <c>morphograph import</c>, <c>evaluate --split
/// all</c>. Both samples' morphographs are moved out of their folders before <c>motif run</c>, which would otherwise
/// import them: the training on A has no labels, and B's radius is calibrated without labels (the way a museum's first
/// run is). B's ground truth is imported only after its run, for scoring: mAP, R@1 and R@10 over every image of B with
/// a partner, and cluster precision and recall per component of the manifest that run published.</para>
/// <para><b>Size.</b> scikit-image's folder has 15 usable photos, 8 in half a and 7 in half b. Tiles: A is 60 tiles
/// (120 images), B 101 tiles (202 images, 101 POSITIVE pairs). Without labels a sixth of A is held out for validation
/// and a sixth for test, four hard copies each (about 90 queries each): validation mAP 0.640 at epoch 0, so it does not
/// saturate as the families' 27 images did (0.969 at every epoch). By default the training runs 4 epochs with 3
/// negatives per pair (30 steps an epoch): measured at 402 s of CPU, 1,655 s of wall on this machine under a load of
/// 20-30 from other builds. Families (<c>--layout families</c>): A is 6 families and a distractor (27 images), B 5
/// families and a distractor (30 images); <c>--families N</c> shrinks A only.</para>
/// <para><b>Recipes tried</b> (2026-11-30, tiles, 4 epochs, --negatives 3; anchor mAP 0.198, R@1 0.089 in every run):
/// single derivations 0.182; with reproductions of a detail (<c>--reproduced-details</c>) 0.185; that and
/// <c>--freeze-stages 3</c> 0.201, R@1 0.109 (524 s of CPU; single derivations with it, 0.183); and <c>--margin 0.05</c> 0.198. None near the goal.</para>
/// <para><b>The learned signature projection</b> (<c>SignatureProjection</c>: power 0.5 and learned whitening, fitted by
/// training on the best network from 6 synthetic copies of each training image of A, kept only when A's validation
/// improves; on by default since 2026-11-30, <c>--no-whiten</c> turns it off). Each row one bench run, anchor from the same run:
/// <code>
/// | recipe (tiles, --negatives 3)          | mAP   | R@1   | R@10  | Δ mAP  | cluster P / R (radius)  | A's val mAP            | train CPU s |
/// | pretrained ResNet-50 (anchor, both)    | 0.198 | 0.089 | 0.411 | 0      | 0.041 / 0.401 (0.424)   |                        |             |
/// | 4 epochs + projection (the default)    | 0.263 | 0.158 | 0.505 | +0.065 | 0.098 / 0.381 (0.680)   | 0.640 → 0.657 (ep 2) → 0.727 projected, α 0.5 | 465 |
/// | --epochs 0: projection only            | 0.270 | 0.163 | 0.530 | +0.072 | 0.143 / 0.342 (0.677)   | 0.640 → 0.718 projected, α 0.5 | 93 |
/// | --epochs 0, fitted at 224 px, α and λ chosen on A's validation | 0.234 | 0.124 | 0.505 | +0.036 | 0.056 / 0.441 (0.756) | 0.640 (160 px); 0.652 at 224 → 0.740 projected, α 1, λ 0.01 | 227 |
/// | --epochs 0, fitted at 224 px, α 0.5 and λ 0.1 fixed (a trial build, not the product) | 0.273 | 0.168 | 0.530 | +0.075 | 0.113 / 0.386 (0.693) | 0.652 at 224 → 0.725 projected | 162 |
/// </code>
/// The trial row (2026-11-30, its own run, anchor 0.198) separates the two changes of the row above it: the 224 px fit
/// is as good as the 160 px one (+0.075 against +0.072), so the drop to +0.036 is the held-out choice of α and λ.
/// The product's defaults as the bench runs them (4 epochs, then the projection as now fitted; its own run, anchor
/// 0.198): epoch 2 best (validation 0.657), projection α 1, λ 0.01 (0.674 at 224 px → 0.747): 0.242 (+0.044), R@1
/// 0.134, R@10 0.500, clusters P 0.063 / R 0.450 at 0.738; 558 s of training CPU.
/// The last row (2026-11-30, its own run, anchor 0.198 again) fits, chooses and tests at the signing size and chooses
/// the ridge among 0.01, 0.1 and 1 with α on A's held-out copies: A's validation picks α 1 and λ 0.01 (0.740, above the
/// 0.718 of the 160 px fit at α 0.5, λ 0.1), and that choice transfers worse to B: +0.036 where the fixed λ 0.1 and
/// α 0.5 gave +0.072. A's synthetic copies reward a weak ridge that whitens exactly their own nuisance directions; the
/// lead's choice by B's scores is therefore not recovered by held-out copies (and the two changes are confounded in
/// this one run). 474 pairs, six candidates fitted in 9.0 s; embedding at 224 px for the fit 60.6 s; training CPU
/// 93 → 227 s, wall 132 s.
/// The fit itself: 474 pairs, both powers, 7.8 s and 10.6 s. The projection carries the gain (the same 4 epochs alone
/// scored 0.182); fitted on the sample's real reproductions of A instead of synthetic copies the lead measured 0.283
/// offline, so the synthetic copies are still short of what a museum's reproductions teach. Still short of +0.15, and
/// the clusters of the P/R goal.</para>
/// <para><b>GeM pooling</b> (<c>TrainingRunOptions.PoolingPower</c>, 3 by default since 2026-11-30: the trained version
/// pools layer4 by a generalized mean where the pretrained one takes the mean). Each row its own run, 2026-11-30, anchor
/// 0.198 / R@1 0.089 / R@10 0.411 / P 0.041 / R 0.401 at 0.424 in every run, all choices on A (α and λ on A's validation):
/// <code>
/// | recipe (tiles, 4 epochs, --negatives 3)      | mAP   | R@1   | R@10  | Δ mAP  | cluster P / R (radius) | A's val mAP (best epoch) → projected | train CPU s |
/// | --pooling-power 1: the mean, + projection    | 0.242 | 0.134 | 0.500 | +0.044 | 0.063 / 0.450 (0.738)  | 0.640 → 0.657 (2) → 0.747, α 1 λ 0.01 | 283 |
/// | GeM 3, --no-whiten                           | 0.247 | 0.144 | 0.460 | +0.049 | 0.060 / 0.223 (0.059)  | 0.644 → 0.656 (4)                     | 176 |
/// | GeM 3 + projection (the defaults)            | 0.289 | 0.183 | 0.525 | +0.091 | 0.129 / 0.396 (0.695)  | 0.644 → 0.656 (4) → 0.757, α 1 λ 0.01 | 258 |
/// | the same, --epochs 10 (the recipe's own)     | 0.289 | 0.183 | 0.525 | +0.091 | 0.129 / 0.396 (0.695)  | best epoch 4, stopped after 7         | 427 |
/// | GeM 3 + projection, --freeze-stages 3        | 0.290 | 0.193 | 0.525 | +0.092 | 0.110 / 0.366 (0.681)  | 0.644 → 0.688 (2) → 0.758, α 0.5 λ 0.01 | 357 |
/// | trial build: 12 copies per image for the projection (948 pairs) | 0.289 | 0.178 | 0.559 | +0.091 | 0.127 / 0.406 (0.782) | 0.644 → 0.656 (4) → 0.741, α 1 λ 0.1 | 319 |
/// | GeM + projection, --lr 1e-4                  | 0.280 | 0.188 | 0.505 | +0.082 | 0.135 / 0.411 (0.719)  | 0.644 (0) best; epochs 1-3 0.607-0.614 → 0.738, α 1 λ 1 | 225 |
/// | GeM + projection, --reproduced-details       | 0.288 | 0.183 | 0.520 | +0.090 | 0.126 / 0.406 (0.715)  | 0.644 → 0.645 (3) → 0.737, α 1 λ 0.01 | 267 |
/// | defaults trained on B itself (--itself yes; not held out) | 0.381 | 0.272 | 0.639 | +0.183 | 0.241 / 0.446 (0.877) | B's own copies: 0.473 → 0.589 (1) → 0.757, α 1 λ 0.1 | 440 |
/// </code>
/// The last row is how a museum runs <c>motif train</c>, on the collection it then searches (B's ground truth only
/// scores; 750 pairs from B's own images): +0.183, past the goal's +0.15, but the goal asks it of a collection the
/// training never saw, where the defaults stand at +0.091.
/// The mean row reproduces the earlier 0.242 to the digit. The projection alone on GeM (<c>--epochs 0</c>) in trial
/// builds: 0.286 with α 0.5 and λ 0.1 fixed, 0.282 with α and λ chosen (α 1, λ 0.01) on validation copies that also
/// included reproductions of a detail; with GeM the held-out choice costs about 0.004, not the 0.039 it cost on the mean.
/// Offline (numpy on <c>motif embed</c> signatures of B, pretrained ResNet-50 at 224 px, PCA whitening fitted on five
/// samples of A's half without pairs, ridge 0.1): mean 0.197 → 0.282 with power 0.5 and the whitening; GeM 3 0.248 →
/// 0.304; max 0.249 → 0.300; R-MAC's regions (max, 3 levels) 0.239 → 0.304; at 320 px every pooling lost 0.03-0.05;
/// the whitening fitted on B itself (no labels, not a transfer) 0.31-0.34.</para>
/// <para><b>The detail view</b> (<c>TrainingRunOptions.DetailView</c>, 0.75 by default since 2026-11-30: the trained
/// network also sees the centred window of 0.75 of each side of its input, resized back, and signs with the normalised sum
/// of the two views' unit signatures). 2026-11-30, anchor 0.198 / R@1 0.089 / R@10 0.411 / P 0.041 / R 0.401 at 0.424:
/// <code>
/// | recipe (tiles, 4 epochs, --negatives 3)      | mAP   | R@1   | R@10  | Δ mAP  | cluster P / R (radius) | A's val mAP (best epoch) → projected | train CPU s |
/// | --detail-view 0: GeM + projection (the last defaults) | 0.289 | 0.183 | 0.525 | +0.091 | 0.129 / 0.396 (0.695) | 0.644 → 0.656 (4) → 0.757, α 1 λ 0.01 | 258 |
/// | detail view 0.75 + GeM + projection (the defaults) | 0.324 | 0.233 | 0.540 | +0.126 | 0.181 / 0.450 (0.758) | 0.670 → 0.697 (4) → 0.768, α 1 λ 0.1 | 465 |
/// | trial build: the pretrained weights signed so (GeM, detail view), no epoch, no projection | 0.282 | 0.188 | 0.490 | +0.084 | 0.164 / 0.450 (0.316) | 0.670 | |
/// | the defaults given A's morphograph (--labelled yes; 43 curated pairs beside the synthetic ones) | 0.337 | 0.243 | 0.545 | +0.139 | 0.172 / 0.401 (0.661) | A's validation part: 0.806 → 0.810 (1) → 0.820, α 1 λ 0.1 | 574 |
/// | the defaults trained on B itself (--itself yes; not held out) | 0.433 | 0.337 | 0.644 | +0.235 | 0.290 / 0.520 (0.836) | B's own copies: 0.487 → 0.578 (1) → 0.787, α 1 λ 0.1 | 773 |
/// </code>
/// Of the defaults' +0.126, the signing recipe alone (GeM and the detail view on the pretrained weights) is +0.084; the
/// epochs and the projection add +0.042 on top. Offline (numpy on <c>motif embed</c> rows of the defaults' version, B's
/// images and 9 crops of each, two thirds of each side on a 3 × 3 grid): ranking by the best match between one image's
/// whole signature and the other's crops (several vectors per image) 0.513 where the single signature scores 0.322.</para>
/// <para><b>Signature details</b> (<c>TrainingRunOptions.DetailGrid</c>, 2 by default since 2026-12-01: the trained
/// version signs each image's whole and the four corner windows of its input, 0.65 of each side, enlarged back, and
/// images are compared by their nearest whole ↔ whole, whole ↔ detail or detail ↔ whole pair in search, evaluation, the
/// neighbour graph, OPTICS and the radius calibration). 2026-12-01, each row its own run, anchor 0.198 / R@1 0.089 /
/// R@10 0.411 / P 0.041 / R 0.401 at 0.424 in every run:
/// <code>
/// | recipe (tiles, 4 epochs, --negatives 3)      | mAP   | R@1   | R@10  | Δ mAP  | cluster P / R (radius) | A's val mAP (best epoch) → projected | train CPU s |
/// | --details 0 (the last defaults; the same figures to the digit) | 0.324 | 0.233 | 0.540 | +0.126 | 0.181 / 0.450 (0.758) | 0.670 → 0.697 (4) → 0.768, α 1 λ 0.1 | 470 |
/// | --details 2: the four corners (the defaults) | 0.498 | 0.416 | 0.653 | +0.300 | 0.412 / 0.500 (0.671) | 0.670 → 0.697 (4) → 0.768, α 1 λ 0.1 | 470 |
/// | --details 3: nine windows                    | 0.517 | 0.441 | 0.673 | +0.319 | 0.399 / 0.520 (0.640) | the same network and projection      | 460 |
/// | the defaults, --epochs 0: no epoch, the projection only | 0.493 | 0.411 | 0.668 | +0.295 | 0.374 / 0.485 (0.694) | 0.670 (0) → 0.748, α 1 λ 0.1 | 158 |
/// </code>
/// Validation during training scores whole signatures only, so the network, the projection and A's figures are those
/// of the detail view's row above for every grid. The <c>--epochs 0</c> row says where the gain is: the signing recipe
/// (GeM, the detail view, the details) and the projection fitted on synthetic copies give +0.295 with no epoch of
/// fine-tuning; the 4 epochs add +0.005. Nine windows add 0.019 over four for twice the detail passes.</para>
/// <para><b>The local-feature check</b> (since 2026-12-01: before OPTICS, <c>motif run</c> leaves out of the neighbour
/// graph each pair of images that both have 8 SIFT features or more and fewer than 8 RootSIFT matches agreeing on one
/// similarity transform, with the other image or its mirror image; <c>LocalFeatureCheck</c>). It changes no signature,
/// so mAP and R@k are as above; only the clusters change. 2026-12-01, one run, both rows in it:
/// <code>
/// | model on B                                   | radius | mAP   | R@1   | R@10  | cluster P / R before → with the check |
/// | pretrained ResNet-50 (anchor)                | 0.424  | 0.198 | 0.089 | 0.411 | 0.041 / 0.401 → 0.885 / 0.678 |
/// | the defaults (4 corner details, 4 epochs)    | 0.671  | 0.498 | 0.416 | 0.653 | 0.412 / 0.500 → 0.905 / 0.777 |
/// </code>
/// Offline on B (Python's OpenCV 4.6 on the same images, all 20,301 pairs): RootSIFT at contrast threshold 0.04, OpenCV's
/// default, finds fewer than 10 features in 71 of the 202 tiles and links pairs at precision 0.83 / recall 0.40; at
/// 0.005, 6 tiles and 0.915 / 0.743 (8 inliers). Full affine or homography fits, mutual-nearest matching, CLAHE, AKAZE
/// and ORB did no better.</para>
/// <para>The training's wall time and CPU time (user + system of <c>motif train</c> and its threads, read by bash's
/// <c>times</c>) are printed: the goal is 15 minutes of wall on this 2-core machine for the default size.</para>
/// </remarks>
internal static partial class TrainingBench
{
    private sealed record Scores(double Radius, double Map, double RecallAt1, double RecallAt10, double ClusterPrecision, double ClusterRecall);

    private sealed record Training(string Checkpoint, double WallSeconds, double CpuSeconds, string Table);

    public static void Run(string repository, BenchSettings settings)
    {
        var scratch = Directory.CreateTempSubdirectory("motif-bench-training-");
        try
        {
            var (a, aTruth, aImages) = Sample(scratch, "a", 2022, settings.Layout, settings.Families);
            // B is always its whole half: scoring costs two runs of signing, not training.
            var (b, bTruth, bImages) = Sample(scratch, "b", 7, settings.Layout, families: null);
            var pairs = File.ReadAllLines(bTruth).Length - 1;

            // Training collection: taken in without labels (its morphograph is outside the folder).
            Repository.RunMotif("run", a, "--out", Path.Combine(scratch.FullName, "ws-a"), "--threads", "2");
            var epochs = settings.Epochs.ToString(CultureInfo.InvariantCulture);
            var motif = Path.Combine(repository, "motif");
            var unlabelled = Train(motif, scratch, "ws-a", "no-labels.ckpt", ["--epochs", epochs, .. settings.TrainArguments]);
            Training? labelled = null;
            if (settings.Labelled)
            {
                // The same workspace, now given A's morphograph (split by component): a run of its own, keyed by the data version.
                labelled = Train(motif, scratch, "ws-a", "labelled.ckpt", ["--epochs", epochs, "--truth", aTruth, .. settings.TrainArguments]);
            }

            Training? itself = null;
            if (settings.Itself)
            {
                // B taken in and trained on without labels, as a museum trains on its own collection; its ground truth still only scores.
                Repository.RunMotif("run", b, "--out", Path.Combine(scratch.FullName, "ws-b-itself"), "--threads", "2");
                itself = Train(motif, scratch, "ws-b-itself", "itself.ckpt", ["--epochs", epochs, .. settings.TrainArguments]);
            }

            var pretrained = Score(scratch, b, bTruth, "ws-b-pretrained", ModelCatalog.PackagedResNet50);
            var fineTuned = Score(scratch, b, bTruth, "ws-b-no-labels", unlabelled.Checkpoint);
            var withLabels = labelled is null ? null : Score(scratch, b, bTruth, "ws-b-labelled", labelled.Checkpoint);
            var onItself = itself is null ? null : Score(scratch, b, bTruth, "ws-b-scored-itself", itself.Checkpoint);

            var c = CultureInfo.InvariantCulture;
            // Whole numbers only: no culture changes how they print.
            Console.WriteLine($"Training (cpu recipe, ResNet-50, up to {settings.Epochs} epochs{(settings.TrainArguments.Count > 0 ? ", " + string.Join(' ', settings.TrainArguments) : "")}) " +
                              $"on motif sample --layout {settings.Layout} A (half a of the source, seed 2022, {aImages} images), scored on motif sample B " +
                              $"(half b, seed 7, {bImages} images, {pairs} POSITIVE pairs; no photo in common with A; B's ground truth used only to score, " +
                              "after its unlabelled run)");
            Console.Write(unlabelled.Table);
            Console.WriteLine(string.Create(c, $"motif train without labels: wall {unlabelled.WallSeconds:0} s, CPU {unlabelled.CpuSeconds:0} s (user + system)"));
            if (labelled is not null)
            {
                Console.Write(labelled.Table);
                Console.WriteLine(string.Create(c, $"motif train with A's morphograph: wall {labelled.WallSeconds:0} s, CPU {labelled.CpuSeconds:0} s (user + system)"));
            }
            if (itself is not null)
            {
                Console.Write(itself.Table);
                Console.WriteLine(string.Create(c, $"motif train on B itself without labels: wall {itself.WallSeconds:0} s, CPU {itself.CpuSeconds:0} s (user + system)"));
            }
            Console.WriteLine("| model on B | radius | mAP | R@1 | R@10 | cluster P | cluster R | Δ mAP |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
            Row("pretrained ResNet-50 (anchor)", pretrained, pretrained);
            Row("fine-tuned on A, no labels", fineTuned, pretrained);
            if (withLabels is not null)
            {
                Row("fine-tuned on A, its morphograph", withLabels, pretrained);
            }
            if (onItself is not null)
            {
                Row("fine-tuned on B itself, no labels (not held out)", onItself, pretrained);
            }
            Console.WriteLine("(radius: calibrated without labels by motif run on B, OPTICS min_samples 2, xi 0.05; mAP and R@k over every image of B with a partner; " +
                              "cluster P/R: mean per component, latest manifest. Goal: fine-tuned mAP ≥ anchor + 0.15; clusters R ≥ 0.7 at P ≥ 0.9.)");
        }
        finally
        {
            // Two workspaces hold ResNet-50 checkpoints with Adam's state (about 220 MB each).
            scratch.Delete(recursive: true);
        }
    }

    private static void Row(string name, Scores s, Scores anchor) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {s.Radius:0.000} | {s.Map:0.000} | {s.RecallAt1:0.000} | {s.RecallAt10:0.000} | {s.ClusterPrecision:0.000} | {s.ClusterRecall:0.000} | {s.Map - anchor.Map:+0.000;-0.000;0.000} |"));

    /// <summary>Writes <c>motif sample</c> of one half of the source, and moves its morphograph out of the folder.</summary>
    private static (string Folder, string Truth, int Images) Sample(DirectoryInfo scratch, string half, int seed, string layout, int? families)
    {
        var folder = Path.Combine(scratch.FullName, $"sample-{half}");
        List<string> arguments = ["sample", folder, "--bases", half, "--seed", seed.ToString(CultureInfo.InvariantCulture), "--layout", layout];
        if (layout == "tiles")
        {
            families = null;
        }
        if (families is { } n)
        {
            arguments.AddRange(["--families", n.ToString(CultureInfo.InvariantCulture)]);
        }
        Repository.RunMotif([.. arguments]);
        var truth = Path.Combine(scratch.FullName, $"sample-{half}-morphograph.csv");
        File.Move(Path.Combine(folder, SampleCollection.MorphographFile), truth);
        return (folder, truth, File.ReadAllLines(Path.Combine(folder, SampleCollection.ImagesFile)).Length);
    }

    /// <summary><c>motif train --save</c> in a workspace, timed (wall, and CPU from bash's <c>times</c> for its child).</summary>
    private static Training Train(string motif, DirectoryInfo scratch, string workspace, string checkpoint, string[] arguments)
    {
        var saved = Path.Combine(scratch.FullName, checkpoint);
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        // `times` prints the shell's own and then its children's user and system time; the second line is motif's.
        foreach (var argument in (string[])["-c", "\"$@\"; code=$?; times >&2; exit $code", "bash", motif,
                     "train", "--out", Path.Combine(scratch.FullName, workspace), "--recipe", "cpu", "--save", saved, .. arguments])
        {
            start.ArgumentList.Add(argument);
        }
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start bash");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var wall = clock.Elapsed.TotalSeconds;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"motif train {string.Join(' ', arguments)} exited with {process.ExitCode}: {error.Result}");
        }
        var times = error.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var children = TimesLine().Match(times[^1]);
        if (!children.Success)
        {
            throw new InvalidOperationException($"bash's times printed '{times[^1]}'");
        }
        var cpu = Minutes(children.Groups[1]) + Minutes(children.Groups[2]);
        // The epochs' table and the test line, without the per-epoch progress lines printed before them.
        var table = string.Concat(output.Split('\n').SkipWhile(l => !l.StartsWith("epoch  steps", StringComparison.Ordinal))
            .TakeWhile(l => !l.StartsWith("Checkpoints", StringComparison.Ordinal)).Select(l => l + "\n"));
        return new Training(saved, wall, cpu, table);

        static double Minutes(Group group) =>
            double.Parse(group.Value.Split('m')[0], CultureInfo.InvariantCulture) * 60 + double.Parse(group.Value.Split('m')[1].TrimEnd('s'), CultureInfo.InvariantCulture);
    }

    /// <summary><c>motif run</c> on B without labels under <paramref name="model"/>, then B's ground truth imported and
    /// <c>motif evaluate --split all</c>.</summary>
    private static Scores Score(DirectoryInfo scratch, string collection, string truth, string workspace, string model)
    {
        var root = Path.Combine(scratch.FullName, workspace);
        var run = Repository.RunMotif("run", collection, "--out", root, "--model", model, "--threads", "2");
        Repository.RunMotif("morphograph", "import", truth, "--out", root);
        var evaluation = Repository.RunMotif("evaluate", "--out", root, "--split", "all", "--model", model);
        var clusters = ClustersLine().Match(evaluation);
        return new Scores(
            Number(RadiusLine().Match(run), "radius", run),
            Number(MetricLine("mAP").Match(evaluation), "mAP", evaluation),
            Number(MetricLine("R@1").Match(evaluation), "R@1", evaluation),
            Number(MetricLine("R@10").Match(evaluation), "R@10", evaluation),
            Number(clusters, "cluster precision", evaluation),
            clusters.Success ? double.Parse(clusters.Groups[2].Value, CultureInfo.InvariantCulture) : double.NaN);
    }

    private static double Number(Match match, string what, string text) =>
        match.Success && double.TryParse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new InvalidOperationException($"No {what} in:\n{text}");

    private static Regex MetricLine(string name) => new($@"^\s+{Regex.Escape(name)}\s+([0-9.]+)", RegexOptions.Multiline);

    [GeneratedRegex(@"^\s+radius \(max_eps\)\s+([0-9.]+)", RegexOptions.Multiline)]
    private static partial Regex RadiusLine();

    [GeneratedRegex(@"^clusters\s+precision\s+([0-9.]+)\s+recall\s+([0-9.]+)", RegexOptions.Multiline)]
    private static partial Regex ClustersLine();

    [GeneratedRegex(@"^\s*([0-9]+m[0-9.]+s)\s+([0-9]+m[0-9.]+s)\s*$")]
    private static partial Regex TimesLine();
}
