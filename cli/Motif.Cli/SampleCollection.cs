using System.Diagnostics;
using System.Text;
using Motif.Core;
using Motif.Imaging;

namespace Motif.Cli;

/// <summary>What <see cref="SampleCollection.Write"/> builds a collection from, and how.</summary>
/// <param name="Source">Folder of photographs (its top level only). Each usable one becomes a family's base, a
/// distractor or a scene; see <see cref="SampleCollection"/>.</param>
public sealed record SampleOptions(DirectoryInfo Source)
{
    /// <summary>Seeds every random choice: the same seed and source give byte-identical files.</summary>
    public int Seed { get; init; } = SampleCollection.DefaultSeed;

    /// <summary>Which of the source's usable photos the collection is built from: all of them, or one of two fixed,
    /// disjoint halves, so that a model trained on a sample of one half can be tested on a sample of the other.</summary>
    public SampleBases Bases { get; init; } = SampleBases.All;

    /// <summary>Most families written; null for as many as the source allows after reserving distractors and scenes.</summary>
    public int? Families { get; init; }

    /// <summary>Longest side of every written image (photos are shrunk to it, never enlarged).</summary>
    public int MaxSide { get; init; } = 1024;

    /// <summary>Images derived at once.</summary>
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>What an "artwork" is: a whole photo with several variants (the default), or a tile of a photo with one
    /// reproduction of a detail of it (see <see cref="SampleLayout.Tiles"/>).</summary>
    public SampleLayout Layout { get; init; } = SampleLayout.Families;

    /// <summary>In the <see cref="SampleLayout.Tiles"/> layout, the smallest side of a tile in pixels: a photo is cut
    /// into as many whole tiles of at least this side as fit, at most <see cref="SampleCollection.MaxTilesPerSide"/>
    /// each way.</summary>
    public int TileSide { get; init; } = SampleCollection.DefaultTileSide;
}

/// <summary>The layout of a sample collection (<see cref="SampleOptions.Layout"/>).</summary>
public enum SampleLayout
{
    /// <summary>Pattern families: a whole photo and 3–6 variants of it, among distractor photos (the default; easy for
    /// a pretrained network, since no two families look alike).</summary>
    Families,

    /// <summary>
    /// A hard collection like issue 11's trial (real paintings, each beside a reproduction derived from a detail of
    /// it): every usable photo is cut into non-overlapping tiles, each tile is an artwork, and beside it stands one
    /// reproduction: a detail of 50–80 % of each side of the tile, then recoloured, engraved or tilted. The nearest
    /// unrelated artwork is often a neighbouring tile of the same photo (the same sky, cloth or gravel), as a
    /// painter's own works resemble each other. No distractors or scenes; morphograph.csv holds one POSITIVE pair per
    /// tile.
    /// </summary>
    Tiles,
}

/// <summary>
/// Which photos of a source a sample uses (<see cref="SampleOptions.Bases"/>). The usable photos are sorted by name and
/// dealt alternately into half A (1st, 3rd, 5th…) and half B (2nd, 4th…): two halves of equal size (A has one more when
/// the count is odd) that share no photo, so a sample of half A and one of half B share no base, distractor or scene,
/// whatever their seeds. The halves are fixed for a given source folder; adding a photo to it can move others.
/// </summary>
public enum SampleBases
{
    /// <summary>Every usable photo (the default).</summary>
    All,

    /// <summary>The odd-numbered usable photos in name order.</summary>
    HalfA,

    /// <summary>The even-numbered usable photos in name order.</summary>
    HalfB,
}

/// <summary>What was written.</summary>
/// <param name="Directory">The collection's folder.</param>
/// <param name="Families">Pattern families (a base photo and its variants).</param>
/// <param name="FamilyImages">Images in all families, bases included.</param>
/// <param name="Distractors">Unrelated single photos.</param>
/// <param name="Scenes">Photos used only as backgrounds of "pasted" variants (not written on their own).</param>
/// <param name="Edges">POSITIVE pairs in morphograph.csv.</param>
/// <param name="SourceFiles">Files found in the source folder.</param>
/// <param name="Skipped">Source files not used, each with the reason.</param>
/// <param name="Elapsed">Time taken.</param>
public sealed record SampleSummary(
    string Directory, int Families, int FamilyImages, int Distractors, int Scenes, int Edges,
    int SourceFiles, IReadOnlyList<(string File, string Reason)> Skipped, TimeSpan Elapsed)
{
    /// <summary>Images written (family members and distractors).</summary>
    public int Images => FamilyImages + Distractors;
}

/// <summary>The collection cannot be written: a foreign non-empty output folder, or too few usable photos.</summary>
public sealed class SampleException(string message) : Exception(message);

/// <summary>
/// A reproducible sample collection with ground truth: "pattern families" (a base photograph and images derived
/// from it the way artworks get copied) among unrelated distractor photographs, plus the morphograph of the
/// POSITIVE connections, in the format of the EPFL Replica research (../shared/SEEDS.md).
/// </summary>
/// <remarks>
/// <para>Layout of the output folder (paths are stable for a given source, seed and family count):</para>
/// <code>
/// families/&lt;name&gt;/original.jpg     the base photograph (shrunk to MaxSide)
/// families/&lt;name&gt;/&lt;kind&gt;.jpg       one per variant kind drawn for the family (3–6 of VariantKinds)
/// distractors/&lt;name&gt;.jpg          unrelated photographs, no variants
/// morphograph.csv                  uid_connection,type,img1,img2: every pair within each family, POSITIVE
/// images.txt                       every image written, one path a line (the gallery, distractors included)
/// </code>
/// <para>Ground-truth image ids are the paths relative to the output folder, '/'-separated: exactly the row names
/// that <c>motif embed &lt;folder&gt;</c> writes. In morphograph.csv img1 &lt; img2 (ordinal), rows are ordered by
/// (img1, img2) and numbered p0001, p0002…; the names are reduced to [a-z0-9_-], so no field needs quoting.</para>
/// <para>Roles: the usable photos (decodable, shorter side ≥ <see cref="MinSourceSide"/>; from scikit-image's folder
/// also not one of its synthetic test patterns) are shuffled with the seed. The first become scenes, the next
/// distractors, the rest family bases. The "pasted" variant inserts its base, at 40–60 % of the size, into a
/// scene photo. Ground truth means "contains the pattern of the base", so a pasted variant also contains much of
/// its scene: that is why scenes are reserved photos that appear nowhere else in the collection, and the pasted
/// variant's only POSITIVE edges are to its own family.</para>
/// <para>Every family draws its choices from a generator seeded by (seed, family name), so a family's images do
/// not change when --families changes. libvips' JPEG encoding is deterministic, so a second run writes the same
/// bytes. Writing into a folder that holds a previous sample (it has morphograph.csv) overwrites it; images that
/// the previous run listed in images.txt and this run does not write are removed; nothing else is deleted.</para>
/// </remarks>
public static class SampleCollection
{
    public const int DefaultSeed = 2022;

    public const string MorphographFile = "morphograph.csv";

    public const string ImagesFile = "images.txt";

    /// <summary>Photos with a shorter side below this are not used (they would make poor artworks).</summary>
    public const int MinSourceSide = 256;

    /// <summary>Default smallest tile side of the <see cref="SampleLayout.Tiles"/> layout: a 512-px photo gives 3 × 3
    /// tiles, and a detail of half a tile's side is still above the intake's 64-px minimum.</summary>
    public const int DefaultTileSide = 160;

    /// <summary>Most tiles a photo is cut into along each side, so a large photo does not outweigh the others.</summary>
    public const int MaxTilesPerSide = 6;

    /// <summary>The changes a tile's reproduction gets after its detail is cut, also the end of its file name
    /// (e.g. tiles/coffee-r0c1/detail-engraving.jpg).</summary>
    public static IReadOnlyList<string> TileReproductionKinds { get; } = ["colour", "engraving", "tilt"];

    /// <summary>The variant kinds, also the file names of the variants (e.g. families/coffee/mirror.jpg).</summary>
    public static IReadOnlyList<string> VariantKinds { get; } = ["crop", "mirror", "rotation", "colour", "engraving", "occlusion", "pasted"];

    /// <summary>scikit-image's photographs, unpacked by infra/setup.sh.</summary>
    public static string DefaultSource => Path.Combine(MotifHome.Folder, ".cache", "skimage-data");

    // In scikit-image's data folder these are drawings, test patterns or unusable as artworks (the small ones are
    // refused by size anyway): a colour wheel, a near-black palette image, a binary silhouette, the logo, the
    // Shepp–Logan phantom, text, a featureless microscope cell, and the right image of a stereo pair (it would be
    // an unlabelled near-duplicate of motorcycle_left). Applied only to that folder.
    private static readonly HashSet<string> SkimageNonPhotos = new(StringComparer.Ordinal)
    {
        "bw_text", "cell", "color", "green_palette", "horse", "logo", "motorcycle_right", "page", "phantom", "text",
    };

    private const int Quality = 90;

    // Colours of an occluding patch: paper, a dark mount, a grey card, a label, red-brown overpaint.
    private static readonly (byte R, byte G, byte B)[] PatchColours =
        [(236, 229, 211), (28, 26, 24), (128, 128, 128), (250, 250, 247), (142, 70, 48)];

    private sealed record Photo(string File, string Name, byte[] Display);

    private sealed record Job(string Path, Func<byte[]> Make);

    /// <summary>Writes the collection into <paramref name="output"/> (created if missing) and says what it wrote.</summary>
    /// <exception cref="SampleException">The folder is not empty and not a previous sample, the source is missing,
    /// or it holds fewer than three usable photos.</exception>
    public static SampleSummary Write(DirectoryInfo output, SampleOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxSide, MinSourceSide, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Parallelism, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TileSide, ValidationLimits.Default.MinSide * 2, nameof(options));
        if (options.Families is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Families, "At least one family.");
        }
        var clock = Stopwatch.StartNew();
        var previous = CheckOutput(output);
        if (!options.Source.Exists)
        {
            throw new SampleException($"No such source folder: {options.Source.FullName}");
        }
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = cancellationToken };

        // 1. Usable photos, shrunk to MaxSide once (the "original" of a family is exactly this image).
        var (photos, skipped, sourceFiles) = ReadSources(options, parallel);
        (photos, skipped) = HalfOf(photos, skipped, options.Bases);
        if (photos.Count < 3)
        {
            throw new SampleException(
                $"{options.Source.FullName} holds {photos.Count} usable photo(s) (readable, shorter side ≥ {MinSourceSide} px); a sample needs at least 3.");
        }

        if (options.Layout == SampleLayout.Tiles)
        {
            return WriteTiles(output, options, photos, skipped, sourceFiles, previous, parallel, clock);
        }

        // 2. Roles, from a seeded shuffle.
        var shuffled = photos.ToArray();
        new Random(options.Seed).Shuffle(shuffled);
        var sceneCount = photos.Count >= 10 ? 2 : 1;
        var distractorCount = Math.Max(1, photos.Count / 5);
        var scenes = shuffled[..sceneCount];
        var distractors = shuffled[sceneCount..(sceneCount + distractorCount)];
        var bases = shuffled[(sceneCount + distractorCount)..];
        bases = bases[..Math.Min(bases.Length, options.Families ?? int.MaxValue)];

        // 3. Plan every image (all random draws happen here, sequentially), then derive them in parallel.
        var jobs = new List<Job>();
        var families = new List<string[]>();
        foreach (var photo in bases.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            var members = PlanFamily(photo, scenes, options.Seed, jobs);
            families.Add(members);
        }
        foreach (var photo in distractors)
        {
            jobs.Add(new Job($"distractors/{photo.Name}.jpg", () => photo.Display));
        }
        Directory.CreateDirectory(output.FullName);
        Parallel.ForEach(jobs, parallel, job =>
        {
            var path = Path.Combine(output.FullName, job.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, job.Make());
        });

        // 4. Ground truth and gallery, then remove what only the previous run wrote.
        var edges = Finish(output, jobs, families, previous);
        return new SampleSummary(output.FullName, families.Count, families.Sum(f => f.Length), distractors.Length, scenes.Length,
            edges, sourceFiles, skipped, clock.Elapsed);
    }

    /// <summary>Writes morphograph.csv (every pair within each group, POSITIVE) and images.txt, then removes what only
    /// the previous run wrote. Returns the number of pairs.</summary>
    private static int Finish(DirectoryInfo output, IEnumerable<Job> jobs, IEnumerable<string[]> groups, IReadOnlyList<string> previous)
    {
        var written = jobs.Select(j => j.Path).Order(StringComparer.Ordinal).ToArray();
        var edges = groups
            .SelectMany(members => members.SelectMany((a, i) => members.Skip(i + 1).Select(b => string.CompareOrdinal(a, b) < 0 ? (a, b) : (b, a))))
            .OrderBy(e => e.Item1, StringComparer.Ordinal).ThenBy(e => e.Item2, StringComparer.Ordinal)
            .ToArray();
        var csv = new StringBuilder("uid_connection,type,img1,img2\n");
        for (var i = 0; i < edges.Length; i++)
        {
            csv.Append($"p{i + 1:D4},POSITIVE,{edges[i].Item1},{edges[i].Item2}\n");
        }
        WriteText(output, MorphographFile, csv.ToString());
        WriteText(output, ImagesFile, string.Concat(written.Select(p => p + "\n")));
        RemoveStale(output, previous.Except(written, StringComparer.Ordinal));
        return edges.Length;
    }

    /// <summary>The <see cref="SampleLayout.Tiles"/> layout: every photo cut into tiles, each beside one reproduction of a detail.</summary>
    private static SampleSummary WriteTiles(DirectoryInfo output, SampleOptions options, IReadOnlyList<Photo> photos, IReadOnlyList<(string File, string Reason)> skipped,
        int sourceFiles, IReadOnlyList<string> previous, ParallelOptions parallel, Stopwatch clock)
    {
        var jobs = new List<Job>();
        var pairs = new List<string[]>();
        foreach (var photo in photos.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            if (ImageCodec.Validate(photo.Display) is not ValidationResult.Accepted { Info: var info })
            {
                throw new InvalidOperationException($"The shrunk copy of {photo.File} no longer validates.");
            }
            var (width, height) = (info.DisplayWidth, info.DisplayHeight);
            var columns = Math.Clamp(width / options.TileSide, 1, MaxTilesPerSide);
            var rows = Math.Clamp(height / options.TileSide, 1, MaxTilesPerSide);
            for (var row = 0; row < rows; row++)
            {
                for (var column = 0; column < columns; column++)
                {
                    // Whole-pixel edges shared by neighbours, so tiles never overlap (RelativeArea rounds them back exactly).
                    var (left, right) = (column * width / columns, (column + 1) * width / columns);
                    var (top, bottom) = (row * height / rows, (row + 1) * height / rows);
                    var area = new RelativeArea((double)left / width, (double)top / height, (double)(right - left) / width, (double)(bottom - top) / height);
                    pairs.Add(PlanTile(photo, $"{photo.Name}-r{row}c{column}", area, options.Seed, jobs));
                }
            }
        }
        Directory.CreateDirectory(output.FullName);
        // A tile's reproduction is cut from the tile's bytes, so tiles are written first.
        var tiles = jobs.Where(j => j.Path.EndsWith("/original.jpg", StringComparison.Ordinal)).ToArray();
        Parallel.ForEach(tiles, parallel, job => WriteJob(output, job));
        Parallel.ForEach(jobs.Except(tiles), parallel, job => WriteJob(output, job));
        var edges = Finish(output, jobs, pairs, previous);
        return new SampleSummary(output.FullName, pairs.Count, jobs.Count, 0, 0, edges, sourceFiles, skipped, clock.Elapsed);
    }

    private static void WriteJob(DirectoryInfo output, Job job)
    {
        var path = Path.Combine(output.FullName, job.Path);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, job.Make());
    }

    /// <summary>Plans one tile and its reproduction (a detail of 50–80 % of each side, then one of
    /// <see cref="TileReproductionKinds"/>), drawn from (seed, tile name). Returns the two paths.</summary>
    private static string[] PlanTile(Photo photo, string name, RelativeArea area, int seed, List<Job> jobs)
    {
        var random = new Random(unchecked(seed * 16777619 ^ (int)StableHash.Fnv1a(name)));
        var folder = $"tiles/{name}";
        var tile = new Lazy<byte[]>(() => ImageVariants.Crop(photo.Display, area, Quality), LazyThreadSafetyMode.ExecutionAndPublication);
        jobs.Add(new Job($"{folder}/original.jpg", () => tile.Value));

        var (width, height) = (Uniform(random, 0.5, 0.8), Uniform(random, 0.5, 0.8));
        var detail = new RelativeArea(Uniform(random, 0, 1 - width), Uniform(random, 0, 1 - height), width, height);
        var kind = TileReproductionKinds[random.Next(TileReproductionKinds.Count)];
        var change = kind switch
        {
            "colour" => PlanColour(random),
            "engraving" => PlanEngraving(random),
            "tilt" => PlanTilt(random),
            _ => throw new InvalidOperationException(kind),
        };
        jobs.Add(new Job($"{folder}/detail-{kind}.jpg", () => change(ImageVariants.Crop(tile.Value, detail, Quality))));
        return [$"{folder}/original.jpg", $"{folder}/detail-{kind}.jpg"];
    }

    /// <summary>A tilt of 3–12° either way (as a rotation variant's, without the right angles).</summary>
    private static Func<byte[], byte[]> PlanTilt(Random random)
    {
        var degrees = (random.Next(2) == 0 ? -1 : 1) * Uniform(random, 3, 12);
        return image => ImageVariants.Rotate(image, degrees, Quality);
    }

    /// <summary>The photos of <paramref name="bases"/>' half (see <see cref="SampleBases"/>); the others are reported as
    /// skipped, with the half they belong to.</summary>
    private static (List<Photo> Photos, List<(string File, string Reason)> Skipped) HalfOf(IReadOnlyList<Photo> photos,
        IReadOnlyList<(string File, string Reason)> skipped, SampleBases bases)
    {
        if (bases == SampleBases.All)
        {
            return ([.. photos], [.. skipped]);
        }
        var sorted = photos.OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.File, StringComparer.Ordinal).ToArray();
        var keep = bases == SampleBases.HalfA ? 0 : 1;
        var kept = sorted.Where((_, i) => i % 2 == keep).ToList();
        var other = bases == SampleBases.HalfA ? "b" : "a";
        return (kept, [.. skipped, .. sorted.Where((_, i) => i % 2 != keep).Select(p => (p.File, $"in half {other} of the source (--bases {other})"))]);
    }

    /// <summary>Plans one family: its original and 3–6 distinct variant kinds, drawn from (seed, name). Returns the members' paths.</summary>
    private static string[] PlanFamily(Photo photo, Photo[] scenes, int seed, List<Job> jobs)
    {
        var random = new Random(unchecked(seed * 16777619 ^ (int)StableHash.Fnv1a(photo.Name)));
        var folder = $"families/{photo.Name}";
        var members = new List<string> { $"{folder}/original.jpg" };
        jobs.Add(new Job(members[0], () => photo.Display));

        var kinds = VariantKinds.ToArray();
        random.Shuffle(kinds);
        foreach (var kind in kinds.Take(random.Next(3, 7)))
        {
            var image = photo.Display;
            var make = kind switch
            {
                "crop" => PlanCrop(random, image),
                "mirror" => () => ImageVariants.Mirror(image, Quality),
                "rotation" => PlanRotation(random, image),
                "colour" => Bound(PlanColour(random), image),
                "engraving" => Bound(PlanEngraving(random), image),
                "occlusion" => PlanOcclusion(random, image),
                "pasted" => PlanPaste(random, image, scenes),
                _ => throw new InvalidOperationException(kind),
            };
            var path = $"{folder}/{kind}.jpg";
            members.Add(path);
            jobs.Add(new Job(path, make));
        }
        return members.ToArray();
    }

    private static double Uniform(Random random, double min, double max) => min + (max - min) * random.NextDouble();

    /// <summary>A random sub-rectangle, 55–85 % of each side.</summary>
    private static Func<byte[]> PlanCrop(Random random, byte[] image)
    {
        var (width, height) = (Uniform(random, 0.55, 0.85), Uniform(random, 0.55, 0.85));
        var area = new RelativeArea(Uniform(random, 0, 1 - width), Uniform(random, 0, 1 - height), width, height);
        return () => ImageVariants.Crop(image, area, Quality);
    }

    /// <summary>A quarter of the time a right angle either way; otherwise a tilt of 3–12° either way.</summary>
    private static Func<byte[]> PlanRotation(Random random, byte[] image)
    {
        var sign = random.Next(2) == 0 ? -1 : 1;
        var degrees = random.NextDouble() < 0.25 ? sign * 90 : sign * Uniform(random, 3, 12);
        return () => ImageVariants.Rotate(image, degrees, Quality);
    }

    /// <summary>Per channel gain 0.7–1.3 and offset ±25.</summary>
    private static Func<byte[], byte[]> PlanColour(Random random)
    {
        double[] gains = [Uniform(random, 0.7, 1.3), Uniform(random, 0.7, 1.3), Uniform(random, 0.7, 1.3)];
        double[] offsets = [Uniform(random, -25, 25), Uniform(random, -25, 25), Uniform(random, -25, 25)];
        return image => ImageVariants.ColourShift(image, gains, offsets, Quality);
    }

    private static Func<byte[], byte[]> PlanEngraving(Random random)
    {
        var (contrast, edges) = (Uniform(random, 1.3, 1.8), Uniform(random, 0.6, 1.2));
        return image => ImageVariants.Engraving(image, contrast, edges, Quality);
    }

    private static Func<byte[]> Bound(Func<byte[], byte[]> change, byte[] image) => () => change(image);

    /// <summary>A patch covering 15–30 % of the area, proportions between 0.6 and 1.7, anywhere inside.</summary>
    private static Func<byte[]> PlanOcclusion(Random random, byte[] image)
    {
        var (fraction, aspect) = (Uniform(random, 0.15, 0.30), Uniform(random, 0.6, 1.7));
        var width = Math.Sqrt(fraction * aspect);
        var height = fraction / width;
        var area = new RelativeArea(Uniform(random, 0, 1 - width), Uniform(random, 0, 1 - height), width, height);
        var (r, g, b) = PatchColours[random.Next(PatchColours.Length)];
        return () => ImageVariants.Occlude(image, area, r, g, b, Quality);
    }

    /// <summary>The base at 40–60 % of a scene's size, anywhere in it.</summary>
    private static Func<byte[]> PlanPaste(Random random, byte[] image, Photo[] scenes)
    {
        var scene = scenes[random.Next(scenes.Length)].Display;
        var (size, x, y) = (Uniform(random, 0.4, 0.6), random.NextDouble(), random.NextDouble());
        return () => ImageVariants.PasteInto(image, scene, size, x, y, Quality);
    }

    /// <summary>Files of the source's top level, in name order: the usable ones (shrunk), and the others with a reason.</summary>
    private static (IReadOnlyList<Photo> Photos, IReadOnlyList<(string File, string Reason)> Skipped, int Files) ReadSources(SampleOptions options, ParallelOptions parallel)
    {
        var isSkimage = Path.GetFullPath(options.Source.FullName).TrimEnd('/') == Path.GetFullPath(DefaultSource).TrimEnd('/');
        var files = options.Source.EnumerateFiles("*", new EnumerationOptions { AttributesToSkip = 0 })
            .OrderBy(f => f.Name, StringComparer.Ordinal).ToArray();
        var outcomes = new (Photo? Photo, string? Reason)[files.Length];
        Parallel.For(0, files.Length, parallel, i => outcomes[i] = ReadSource(files[i], options.MaxSide, isSkimage));

        var photos = new List<Photo>();
        var skipped = new List<(string, string)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < files.Length; i++)
        {
            if (outcomes[i].Photo is { } photo)
            {
                // coffee.png and coffee.jpg: the second becomes coffee-2.
                var name = photo.Name;
                for (var n = 2; !names.Add(name); n++)
                {
                    name = $"{photo.Name}-{n}";
                }
                photos.Add(photo with { Name = name });
            }
            else
            {
                skipped.Add((files[i].Name, outcomes[i].Reason!));
            }
        }
        return (photos, skipped, files.Length);
    }

    private static (Photo? Photo, string? Reason) ReadSource(FileInfo file, int maxSide, bool isSkimage)
    {
        var stem = Path.GetFileNameWithoutExtension(file.Name);
        if (file.Name.StartsWith('.'))
        {
            return (null, "hidden file");
        }
        if (file.LinkTarget is not null)
        {
            return (null, "symbolic link (not followed)");
        }
        if (isSkimage && SkimageNonPhotos.Contains(stem))
        {
            return (null, "scikit-image test pattern or non-artwork");
        }
        if (file.Length > ValidationLimits.Default.MaxBytes)
        {
            return (null, "file too large");
        }
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(file.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, "unreadable: " + e.Message);
        }
        switch (ImageCodec.Validate(bytes))
        {
            case ValidationResult.Rejected rejected:
                return (null, $"{rejected.Reason.Code()}: {rejected.Message}");
            case ValidationResult.Accepted { Info: var info } when Math.Min(info.DisplayWidth, info.DisplayHeight) < MinSourceSide:
                return (null, $"too small for a sample ({info.DisplayWidth}×{info.DisplayHeight}; shorter side under {MinSourceSide} px)");
        }
        return (new Photo(file.Name, SafeName(stem), ImageCodec.Derivative(bytes, maxSide, Quality)), null);
    }

    /// <summary>Lowercase [a-z0-9_-], no leading/trailing dash: readable, stable, safe in a path and in a CSV field.</summary>
    private static string SafeName(string stem)
    {
        var name = new StringBuilder();
        foreach (var c in stem.ToLowerInvariant())
        {
            var keep = c is >= 'a' and <= 'z' or >= '0' and <= '9' or '_';
            if (keep)
            {
                name.Append(c);
            }
            else if (name.Length > 0 && name[^1] != '-')
            {
                name.Append('-');
            }
        }
        var safe = name.ToString().Trim('-');
        return safe.Length > 0 ? safe : "photo";
    }

    /// <summary>
    /// Accepts a missing or empty folder, or a previous sample (it holds morphograph.csv): then returns the images
    /// that sample listed in images.txt. Anything else is refused, so the sample never mixes with other files.
    /// </summary>
    private static IReadOnlyList<string> CheckOutput(DirectoryInfo output)
    {
        if (File.Exists(output.FullName))
        {
            throw new SampleException($"{output.FullName} is a file, not a folder.");
        }
        if (!output.Exists || !output.EnumerateFileSystemInfos().Any())
        {
            return [];
        }
        if (!File.Exists(Path.Combine(output.FullName, MorphographFile)))
        {
            throw new SampleException(
                $"{output.FullName} is not empty and holds no {MorphographFile}, so it is not a previous sample: give an empty or new folder.");
        }
        var gallery = Path.Combine(output.FullName, ImagesFile);
        return File.Exists(gallery) ? File.ReadAllLines(gallery) : [];
    }

    /// <summary>Deletes images a previous run wrote and this one did not; only sample paths under families/, distractors/ or tiles/.</summary>
    private static void RemoveStale(DirectoryInfo output, IEnumerable<string> stale)
    {
        foreach (var relative in stale)
        {
            var plausible = relative.EndsWith(".jpg", StringComparison.Ordinal)
                            && (relative.StartsWith("families/", StringComparison.Ordinal) || relative.StartsWith("distractors/", StringComparison.Ordinal)
                                || relative.StartsWith("tiles/", StringComparison.Ordinal))
                            && !relative.Split('/').Any(part => part is "" or "." or "..");
            var path = Path.Combine(output.FullName, relative);
            if (!plausible || !File.Exists(path) || new FileInfo(path).LinkTarget is not null)
            {
                continue;
            }
            File.Delete(path);
            var folder = new DirectoryInfo(Path.GetDirectoryName(path)!);
            if (folder.Parent?.Name is "families" or "tiles" && !folder.EnumerateFileSystemInfos().Any())
            {
                folder.Delete();
            }
        }
    }

    private static void WriteText(DirectoryInfo output, string name, string text)
    {
        var path = Path.Combine(output.FullName, name);
        File.WriteAllText(path + ".partial", text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.Move(path + ".partial", path, overwrite: true);
    }
}
