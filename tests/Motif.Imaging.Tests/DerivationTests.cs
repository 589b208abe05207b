using Motif.Imaging.Derivations;
using Motif.Imaging.Libvips;
using Motif.Testing;

namespace Motif.Imaging.Tests;

public sealed class DerivationTests
{
    private const int Width = 240;
    private const int Height = 160;

    // The fixture scene: red ramps left → right, green top → bottom, an 8-pixel blue checker. PNG, so the only JPEG
    // loss in a comparison is the derivation's own.
    private static readonly byte[] Scene = ImageFixtures.Png(Width, Height);
    private static readonly byte[] Host = ImageFixtures.Encode(ImageFixtures.Solid(300, 200, 20, 200, 20), 300, 200, 3, ".png");
    private static readonly string[] Hosts = ["a.jpg", "b.jpg", "c.jpg"];

    private static (int Width, int Height, int Bands, byte[] Pixels) Decode(byte[] image) => LibvipsGate.Run(() =>
    {
        using var decoded = NetVips.Image.NewFromBuffer(image);
        return (decoded.Width, decoded.Height, decoded.Bands, decoded.WriteToMemory<byte>());
    });

    private static byte[] At((int Width, int Height, int Bands, byte[] Pixels) image, int x, int y) =>
        image.Pixels.AsSpan((y * image.Width + x) * image.Bands, image.Bands).ToArray();

    /// <summary>The first derivation of each kind among image "a.jpg"'s indices under seed 7.</summary>
    private static Dictionary<string, Derivation> OneOfEachKind()
    {
        var found = new Dictionary<string, Derivation>();
        for (var i = 0; i < 500 && found.Count < DerivationSampler.AllKinds.Count; i++)
        {
            var d = DerivationSampler.Sample(7, "a.jpg", i, Hosts, DerivationSampler.AllKinds);
            found.TryAdd(d.Kind, d);
        }
        return found;
    }

    [Fact]
    public void The_same_seed_image_and_index_give_the_same_derivation_and_bytes_for_every_kind()
    {
        var kinds = OneOfEachKind();
        Assert.Equal(DerivationSampler.AllKinds.Order(), kinds.Keys.Order());
        foreach (var (kind, derivation) in kinds)
        {
            var again = DerivationSampler.Sample(7, "a.jpg", Array.IndexOf([.. Enumerable.Range(0, 500).Select(i => DerivationSampler.Sample(7, "a.jpg", i, Hosts, DerivationSampler.AllKinds))], derivation), Hosts, DerivationSampler.AllKinds);
            Assert.Equal(derivation, again);
            var first = DerivationRenderer.Render(Scene, derivation, Host);
            Assert.True(first.AsSpan().SequenceEqual(DerivationRenderer.Render(Scene, derivation, Host)), $"{kind} gave other bytes the second time");
            Assert.False(first.AsSpan().SequenceEqual(ImageVariants.Crop(Scene, RelativeArea.Whole)), $"{kind} left the image as it was");
        }
    }

    [Fact]
    public void Seed_image_and_index_each_change_the_draw()
    {
        var draws = Enumerable.Range(0, 40).Select(i => DerivationSampler.Sample(7, "a.jpg", i, Hosts)).ToArray();
        Assert.True(draws.Select(d => d.Kind).Distinct().Count() >= 7);
        Assert.Contains(Enumerable.Range(0, 40), i => DerivationSampler.Sample(8, "a.jpg", i, Hosts) != draws[i]);
        Assert.Contains(Enumerable.Range(0, 40), i => DerivationSampler.Sample(7, "b.jpg", i, Hosts) != draws[i]);
    }

    [Fact]
    public void A_list_of_kinds_draws_only_those_and_every_one_of_them_and_the_full_list_draws_as_the_plain_overload()
    {
        var hard = Enumerable.Range(0, 300).Select(i => DerivationSampler.Sample(3, "a.jpg", i, Hosts, DerivationSampler.HardKinds)).ToArray();
        Assert.Equal(DerivationSampler.HardKinds.Order(), hard.Select(d => d.Kind).Distinct().Order());
        Assert.DoesNotContain(Enumerable.Range(0, 300), i => DerivationSampler.Sample(3, "a.jpg", i, null, DerivationSampler.HardKinds) is PastedMotif);
        Assert.All(Enumerable.Range(0, 100), i => Assert.Equal(DerivationSampler.Sample(3, "a.jpg", i, Hosts), DerivationSampler.Sample(3, "a.jpg", i, Hosts, DerivationSampler.Kinds)));
        Assert.Throws<ArgumentException>(() => DerivationSampler.Sample(3, "a.jpg", 0, null, ["pasted"]));
        Assert.Throws<ArgumentException>(() => DerivationSampler.Sample(3, "a.jpg", 0, Hosts, ["sculpture"]));
    }

    [Fact]
    public void Without_another_image_there_is_no_pasted_motif_and_an_image_never_hosts_itself()
    {
        Assert.DoesNotContain(Enumerable.Range(0, 300), i => DerivationSampler.Sample(1, "a.jpg", i) is PastedMotif);
        Assert.DoesNotContain(Enumerable.Range(0, 300), i => DerivationSampler.Sample(1, "a.jpg", i, ["a.jpg"]) is PastedMotif);
        var hosts = Enumerable.Range(0, 300).Select(i => DerivationSampler.Sample(1, "a.jpg", i, Hosts)).OfType<PastedMotif>().Select(p => p.Host).ToArray();
        Assert.NotEmpty(hosts);
        Assert.DoesNotContain("a.jpg", hosts);
    }

    [Fact]
    public void Mirror_swaps_left_and_right()
    {
        var original = Decode(ImageVariants.Crop(Scene, RelativeArea.Whole, 100));
        var mirrored = Decode(DerivationRenderer.Render(Scene, new MirrorCopy(), quality: 100));

        Assert.Equal((Width, Height), (mirrored.Width, mirrored.Height));
        long difference = 0;
        for (var y = 0; y < Height; y++)
        {
            for (var x = 0; x < Width; x++)
            {
                var (a, b) = (At(mirrored, x, y), At(original, Width - 1 - x, y));
                difference += Math.Abs(a[0] - b[0]) + Math.Abs(a[1] - b[1]) + Math.Abs(a[2] - b[2]);
            }
        }
        Assert.True(difference / (3.0 * Width * Height) < 2, $"mean difference {difference / (3.0 * Width * Height)}");
        Assert.True(At(mirrored, 2, 80)[0] > 230 && At(mirrored, Width - 3, 80)[0] < 25, "the red ramp runs the other way");
    }

    [Fact]
    public void Greyscale_has_equal_channels()
    {
        var grey = Decode(DerivationRenderer.Render(Scene, new GreyscaleCopy()));

        Assert.Equal(3, grey.Bands);
        for (var i = 0; i < grey.Pixels.Length; i += 3)
        {
            Assert.True(Math.Abs(grey.Pixels[i] - grey.Pixels[i + 1]) <= 2 && Math.Abs(grey.Pixels[i + 1] - grey.Pixels[i + 2]) <= 2, $"pixel {i / 3} is coloured");
        }
    }

    [Fact]
    public void Monochrome_runs_from_the_dark_to_the_light_print_colour()
    {
        var sepia = Decode(DerivationRenderer.Render(Scene, new MonochromeCopy((44, 30, 16), (250, 236, 200)), quality: 100));

        // Sepia everywhere: red ≥ green ≥ blue (with JPEG's rounding).
        for (var i = 0; i < sepia.Pixels.Length; i += 3)
        {
            Assert.True(sepia.Pixels[i] + 3 >= sepia.Pixels[i + 1] && sepia.Pixels[i + 1] + 3 >= sepia.Pixels[i + 2], $"pixel {i / 3} is not sepia");
        }
    }

    [Fact]
    public void Detail_is_the_sub_region()
    {
        var detail = Decode(DerivationRenderer.Render(Scene, new Detail(new RelativeArea(0.5, 0.25, 0.5, 0.5)), quality: 100));

        Assert.Equal((120, 80), (detail.Width, detail.Height));
        // Its left edge is the scene's middle: red about 128, green (a quarter down) about 64.
        Assert.InRange(At(detail, 0, 0)[0], 120, 136);
        Assert.InRange(At(detail, 0, 0)[1], 56, 72);
    }

    [Fact]
    public void A_reproduction_is_its_detail_then_its_change_and_takes_only_the_four_changes()
    {
        var area = new RelativeArea(0.5, 0.25, 0.5, 0.5);
        var sepia = new MonochromeCopy((44, 30, 16), (250, 236, 200));
        var detail = ImageVariants.Crop(Scene, area, 95);

        var reproduced = DerivationRenderer.Render(Scene, new ReproducedDetail(area, sepia));
        Assert.True(reproduced.AsSpan().SequenceEqual(DerivationRenderer.Render(detail, sepia)), "not the detail, then the print tone");
        Assert.Equal((120, 80), (Decode(reproduced).Width, Decode(reproduced).Height));
        var tilted = Decode(DerivationRenderer.Render(Scene, new ReproducedDetail(area, new Tilt(8))));
        Assert.True(tilted.Width < 120 && tilted.Height < 80, $"{tilted.Width} x {tilted.Height}");
        var engraved = DerivationRenderer.Render(Scene, new ReproducedDetail(area, new EngravedCopy(1.6, 1.0)));
        Assert.True(engraved.AsSpan().SequenceEqual(ImageVariants.Engraving(detail, 1.6, 1.0)), "not the detail, then the engraving");
        // An engraving is one band; the model still gets its three channels, as from a stored greyscale image.
        var spec = PreprocessSpec.ImageNet(32);
        DerivationRenderer.RenderModelInput(Scene, new ReproducedDetail(area, new EngravedCopy(1.6, 1.0)), spec, new float[spec.ValuesPerImage]);

        Assert.Equal("reproduction", Assert.Throws<ArgumentException>(() => DerivationRenderer.Render(Scene, new ReproducedDetail(area, new MirrorCopy()))).ParamName);
        Assert.Throws<ArgumentException>(() => DerivationRenderer.Render(Scene, new ReproducedDetail(area, new ReproducedDetail(area, sepia))));
    }

    [Fact]
    public void Reproductions_are_drawn_only_from_all_kinds_and_take_a_detail_of_45_to_85_percent_and_each_of_the_four_changes()
    {
        var drawn = Enumerable.Range(0, 600).Select(i => DerivationSampler.Sample(5, "a.jpg", i, Hosts, DerivationSampler.AllKinds)).OfType<ReproducedDetail>().ToArray();
        // Only where asked for: the default mix is single steps.
        Assert.DoesNotContain(Enumerable.Range(0, 600), i => DerivationSampler.Sample(5, "a.jpg", i, Hosts) is ReproducedDetail);

        Assert.Equal(["engraving", "monochrome", "photograph", "tilt"], drawn.Select(r => r.Then.Kind).Distinct().Order());
        // Each change about a quarter of the time, not merely once (a Random shared with the kind's draw gave 60 % tilts).
        Assert.All(drawn.GroupBy(r => r.Then.Kind), g => Assert.True(g.Count() >= drawn.Length / 8, $"{g.Key}: {g.Count()} of {drawn.Length}"));
        Assert.All(drawn, r =>
        {
            Assert.InRange(r.Area.Width, 0.45, 0.85);
            Assert.InRange(r.Area.Height, 0.45, 0.85);
            Assert.InRange(r.Area.Left + r.Area.Width, 0, 1);
            Assert.InRange(r.Area.Top + r.Area.Height, 0, 1);
        });
        Assert.All(drawn.Select(r => r.Then).OfType<EngravedCopy>(), e =>
        {
            Assert.InRange(e.Contrast, 1.2, 2.0);
            Assert.InRange(e.EdgeWeight, 0.5, 1.5);
        });
    }

    [Fact]
    public void Photograph_gamma_above_one_darkens_and_gains_cast_a_colour()
    {
        var neutral = new ColourTriple(1, 1, 1);
        var zero = new ColourTriple(0, 0, 0);
        var mid = ImageFixtures.Encode(ImageFixtures.Solid(32, 32, 128, 128, 128), 32, 32, 3, ".png");

        var darker = At(Decode(DerivationRenderer.Render(mid, new PhotographicCopy(1.4, 1, neutral, zero), quality: 100)), 16, 16);
        var warm = At(Decode(DerivationRenderer.Render(mid, new PhotographicCopy(1, 1, new ColourTriple(1.2, 1, 0.8), zero), quality: 100)), 16, 16);

        // (128/255)^1.4 × 255 = 97.
        Assert.InRange(darker[0], 95, 99);
        Assert.True(warm[0] > 145 && warm[2] < 110, $"[{string.Join(", ", warm)}]");
    }

    [Fact]
    public void Tilt_turns_and_crops_away_the_corners()
    {
        var tilted = Decode(DerivationRenderer.Render(Scene, new Tilt(8)));

        Assert.True(tilted.Width < Width && tilted.Height < Height);
    }

    [Fact]
    public void Perspective_keeps_the_size_and_samples_the_moved_corners()
    {
        var flat = Decode(DerivationRenderer.Render(Scene, new PerspectiveCopy([0, 0, 0, 0, 0, 0, 0, 0]), quality: 100));
        var slanted = Decode(DerivationRenderer.Render(Scene, new PerspectiveCopy([0.25, 0.25, 0, 0, 0, 0, 0, 0]), quality: 100));
        var original = Decode(ImageVariants.Crop(Scene, RelativeArea.Whole, 100));

        Assert.Equal((Width, Height), (slanted.Width, slanted.Height));
        Assert.Equal(At(original, 100, 100)[0], At(flat, 100, 100)[0], 3.0);
        // The top-left corner now shows the source point a quarter in: red ≈ 0.25 × 255, green ≈ 0.25 × 255.
        Assert.InRange(At(slanted, 0, 0)[0], 54, 74);
        Assert.InRange(At(slanted, 0, 0)[1], 54, 74);
    }

    [Fact]
    public void The_projective_map_takes_each_corner_where_it_is_told()
    {
        (double X, double Y)[] from = [(0, 0), (10, 0), (10, 5), (0, 5)];
        (double X, double Y)[] to = [(1, 1), (9, 0.5), (10, 5), (0.5, 4)];
        var h = ImageVariants.Homography(from, to);
        for (var i = 0; i < 4; i++)
        {
            var (x, y) = from[i];
            var w = h[6] * x + h[7] * y + h[8];
            Assert.Equal(to[i].X, (h[0] * x + h[1] * y + h[2]) / w, 9);
            Assert.Equal(to[i].Y, (h[3] * x + h[4] * y + h[5]) / w, 9);
        }
    }

    [Fact]
    public void Damage_stains_and_tears_where_it_is_told()
    {
        var damaged = Decode(DerivationRenderer.Render(Scene,
            new DamagedCopy([new Blotch(0.25, 0.5, 0.2)], (40, 35, 30), 1, [new TearPoint(0.6, 0), new TearPoint(0.6, 1)], 0.05), quality: 100));

        var stain = At(damaged, 60, 80);
        Assert.True(stain[0] < 60 && stain[1] < 55 && stain[2] < 50, $"stain [{string.Join(", ", stain)}]");
        var paper = At(damaged, 143, 40);
        Assert.True(paper.All(v => v > 220), $"tear [{string.Join(", ", paper)}]");
    }

    [Fact]
    public void A_noise_patch_changes_its_area_only_and_follows_its_seed()
    {
        var area = new RelativeArea(0.5, 0.5, 0.25, 0.25);
        var original = Decode(ImageVariants.Crop(Scene, RelativeArea.Whole));
        var patched = Decode(DerivationRenderer.Render(Scene, new NoisePatchCopy(area, 3)));

        Assert.Equal(At(original, 20, 20)[0], At(patched, 20, 20)[0], 4.0);
        var inside = Enumerable.Range(125, 50).Sum(x => Math.Abs(At(original, x, 100)[0] - At(patched, x, 100)[0])) / 50.0;
        Assert.True(inside > 30, $"mean difference inside the patch {inside}");
        Assert.False(DerivationRenderer.Render(Scene, new NoisePatchCopy(area, 3)).AsSpan().SequenceEqual(DerivationRenderer.Render(Scene, new NoisePatchCopy(area, 4))));
    }

    [Fact]
    public void A_pasted_motif_has_the_hosts_size_and_needs_its_host()
    {
        var pasted = new PastedMotif(new RelativeArea(0, 0, 1, 1), "host.png", 0.5, 0, 0);

        var result = Decode(DerivationRenderer.Render(Scene, pasted, Host));

        Assert.Equal((300, 200), (result.Width, result.Height));
        Assert.True(At(result, 290, 190)[1] > 180, "the host's green shows beyond the motif");
        Assert.True(At(result, 140, 90)[1] > 150 && At(result, 2, 2)[1] < 40, "the motif's green ramp is in the top-left quarter");
        Assert.Throws<ArgumentException>(() => DerivationRenderer.Render(Scene, pasted));
    }

    [Fact]
    public void The_model_input_is_the_preprocessed_copy()
    {
        var spec = PreprocessSpec.ImageNet(32);
        var derivation = new MirrorCopy();
        var direct = new float[spec.ValuesPerImage];
        var expected = new float[spec.ValuesPerImage];

        DerivationRenderer.RenderModelInput(Scene, derivation, spec, direct);
        ImageCodec.Preprocess(DerivationRenderer.Render(Scene, derivation), spec, expected);

        Assert.Equal(expected, direct);
    }

    [Fact]
    public void Out_of_range_parameters_are_refused_naming_them()
    {
        Assert.Equal("insets", Assert.Throws<ArgumentException>(() => ImageVariants.Perspective(Scene, [0.5, 0, 0, 0, 0, 0, 0, 0])).ParamName);
        Assert.Equal("gamma", Assert.Throws<ArgumentException>(() => ImageVariants.Photograph(Scene, double.NaN, 1, [1, 1, 1], [0, 0, 0])).ParamName);
        Assert.Equal("blotches", Assert.Throws<ArgumentException>(() => ImageVariants.Damage(Scene, [new Blotch(2, 0, 0.1)], (0, 0, 0), 1, [], 0)).ParamName);
        Assert.Equal("tear", Assert.Throws<ArgumentException>(() => ImageVariants.Damage(Scene, [], (0, 0, 0), 1, [new TearPoint(0, 0)], 0.01)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => DerivationSampler.Sample(1, "a", -1));
    }
}
