using Motif.Core.Signatures;

namespace Motif.Core.Tests.Signatures;

public sealed class SignatureProjectionTests
{
    private const int Dim = 12;

    /// <summary>Originals in [0, 1)^d (non-negative, like ReLU means), seeded.</summary>
    private static float[] Originals(int n, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, n * Dim).Select(_ => (float)random.NextDouble())];
    }

    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var k = 0; k < a.Length; k++)
        {
            (dot, na, nb) = (dot + (double)a[k] * b[k], na + (double)a[k] * a[k], nb + (double)b[k] * b[k]);
        }
        return dot / Math.Sqrt(na * nb);
    }

    private static float[] Project(SignatureProjection projection, float[] signatures)
    {
        var output = new float[signatures.Length];
        projection.Apply(signatures, signatures.Length / Dim, output);
        return output;
    }

    /// <summary>Copies differ from their originals by a large shift along dimension 0 (a colour cast, say) and a little
    /// noise: the fitted projection makes a copy nearly identical to its original, and a shift of the same size in a
    /// direction copies never vary in (dimension 5) still separates images as much as before.</summary>
    [Fact]
    public void A_nuisance_direction_that_only_copies_vary_in_is_removed()
    {
        var random = new Random(3);
        var first = Originals(200, 1);
        var second = (float[])first.Clone();
        for (var p = 0; p < 200; p++)
        {
            second[p * Dim] += (float)(2 + random.NextDouble());
            for (var k = 1; k < Dim; k++)
            {
                second[p * Dim + k] += (float)(0.01 * (random.NextDouble() - 0.5));
            }
        }
        var projection = SignatureProjection.Fit(first, second, 200, Originals(100, 2), Dim, new SignatureProjectionOptions(Ridge: 0.01));

        var x = Originals(1, 9);
        var copy = (float[])x.Clone();
        copy[0] += 2.5f;
        var other = (float[])x.Clone();
        other[5] += 2.5f;
        Assert.True(Cosine(x, copy) < 0.8 && Cosine(x, other) < 0.8, $"before: copy {Cosine(x, copy)}, other {Cosine(x, other)}");
        var (px, pcopy, pother) = (Project(projection, x), Project(projection, copy), Project(projection, other));
        Assert.True(Cosine(px, pcopy) > 0.95 && Cosine(px, pother) < 0.9, $"after: copy {Cosine(px, pcopy)}, other {Cosine(px, pother)}");
    }

    /// <summary>Pairs that differ equally in every direction (C_S a multiple of the identity) leave nothing to whiten:
    /// W is a multiple of the identity, so the projection only centres and normalises.</summary>
    [Fact]
    public void Isotropic_pairs_give_centring_and_nothing_else()
    {
        // Pair k: cos θ·e_(k+1) ± sin θ·e_k, both of unit length (the fit normalises), differing by 2 sin θ·e_k alone.
        var first = new float[Dim * Dim];
        var second = new float[Dim * Dim];
        for (var k = 0; k < Dim; k++)
        {
            first[k * Dim + (k + 1) % Dim] = second[k * Dim + (k + 1) % Dim] = MathF.Cos(0.3f);
            first[k * Dim + k] = MathF.Sin(0.3f);
            second[k * Dim + k] = -MathF.Sin(0.3f);
        }
        var collection = Originals(50, 5);
        var projection = SignatureProjection.Fit(first, second, Dim, collection, Dim, new SignatureProjectionOptions());

        var mean = new double[Dim];
        for (var r = 0; r < 50; r++)
        {
            var row = collection.AsSpan(r * Dim, Dim);
            var norm = Math.Sqrt(row.ToArray().Sum(v => (double)v * v));
            for (var k = 0; k < Dim; k++)
            {
                mean[k] += row[k] / norm / 50;
            }
        }
        var queries = Originals(7, 6);
        var projected = Project(projection, queries);
        for (var q = 0; q < 7; q++)
        {
            var row = queries.AsSpan(q * Dim, Dim).ToArray();
            var norm = Math.Sqrt(row.Sum(v => (double)v * v));
            var centred = Enumerable.Range(0, Dim).Select(k => row[k] / norm - mean[k]).ToArray();
            var length = Math.Sqrt(centred.Sum(v => v * v));
            for (var k = 0; k < Dim; k++)
            {
                Assert.Equal(centred[k] / length, projected[q * Dim + k], 4);
            }
        }
    }

    [Fact]
    public void The_same_inputs_fit_the_same_projection_to_the_byte_and_it_survives_storage()
    {
        var first = Originals(30, 7);
        var second = Originals(30, 8);
        var collection = Originals(40, 9);
        var options = new SignatureProjectionOptions(Power: 0.5, Ridge: 0.1);
        var a = SignatureProjection.Fit(first, second, 30, collection, Dim, options);
        var b = SignatureProjection.Fit(first, second, 30, collection, Dim, options);
        Assert.Equal(a.ToBytes(), b.ToBytes());

        var stored = SignatureProjection.FromBytes(a.ToBytes());
        Assert.Equal(0.5, stored.Power);
        Assert.Equal(Dim, stored.Dimension);
        Assert.Equal(Project(a, collection), Project(stored, collection));
        // Another power is another projection.
        Assert.NotEqual(a.ToBytes(), SignatureProjection.Fit(first, second, 30, collection, Dim, options with { Power = 1 }).ToBytes());
    }

    /// <summary>The power acts before everything: with α = 0.5 a signature is compared by its square roots.</summary>
    [Fact]
    public void The_power_applies_to_each_value_before_the_projection()
    {
        var first = Originals(30, 10);
        var collection = Originals(20, 11);
        var projection = SignatureProjection.Fit(first, Originals(30, 12), 30, collection, Dim, new SignatureProjectionOptions(Power: 0.5));
        var x = Originals(1, 13);
        var scaled = x.Select(v => v * 4).ToArray();
        // x^0.5 is scaled by 2 and then normalised away: the same output.
        Assert.Equal(Project(projection, x), Project(projection, scaled), (p, q) => Math.Abs(p - q) < 1e-5);
        // And x² under α = 0.5 is x under the same μ and W with α = 1.
        var squared = x.Select(v => v * v).ToArray();
        var linear = new SignatureProjection(1, projection.Mean.ToArray(), projection.Matrix.ToArray());
        Assert.Equal(Project(linear, x), Project(projection, squared), (p, q) => Math.Abs(p - q) < 1e-5);
    }

    /// <summary>Fewer pairs than dimensions take the Gram matrix's eigendecomposition; the same pairs three times over
    /// (the same C_S, more rows than dimensions) take the d × d one: both give the same W.</summary>
    [Fact]
    public void The_few_pairs_shortcut_gives_the_full_eigendecomposition_s_matrix()
    {
        var (first, second, collection) = (Originals(5, 20), Originals(5, 21), Originals(10, 22));
        var options = new SignatureProjectionOptions(Power: 0.5, Ridge: 0.05);
        var few = SignatureProjection.Fit(first, second, 5, collection, Dim, options);
        var thrice = SignatureProjection.Fit([.. first, .. first, .. first], [.. second, .. second, .. second], 15, collection, Dim, options);
        Assert.Equal(thrice.Matrix.ToArray(), few.Matrix.ToArray(), (p, q) => Math.Abs(p - q) < 1e-4 * Math.Max(1, Math.Abs(q)));
        Assert.Equal(thrice.Mean.ToArray(), few.Mean.ToArray());
    }

    /// <summary>Several ridges from one decomposition (what the training chooses among) give, in their order, the matrices
    /// of fitting each ridge alone, on both paths (fewer pairs than dimensions, and more); and the ridges do differ, so
    /// a mix-up of order or a ridge left unapplied would show.</summary>
    [Theory]
    [InlineData(5)]
    [InlineData(30)]
    public void Several_ridges_from_one_decomposition_match_fitting_each_alone(int pairs)
    {
        var (first, second, collection) = (Originals(pairs, 30), Originals(pairs, 31), Originals(10, 32));
        double[] ridges = [0.01, 0.1, 1];
        var together = SignatureProjection.Fit(first, second, pairs, collection, Dim, 0.5, ridges);

        Assert.Equal(ridges.Length, together.Count);
        for (var i = 0; i < ridges.Length; i++)
        {
            var alone = SignatureProjection.Fit(first, second, pairs, collection, Dim, new SignatureProjectionOptions(0.5, ridges[i]));
            Assert.Equal(alone.ToBytes(), together[i].ToBytes());
        }
        Assert.NotEqual(together[0].Matrix.ToArray(), together[2].Matrix.ToArray());
        Assert.Throws<ArgumentException>(() => SignatureProjection.Fit(first, second, pairs, collection, Dim, 0.5, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => SignatureProjection.Fit(first, second, pairs, collection, Dim, 0.5, [0.1, -1]));
    }

    [Fact]
    public void Damaged_or_foreign_bytes_are_refused_with_a_reason()
    {
        var bytes = SignatureProjection.Fit(Originals(5, 1), Originals(5, 2), 5, Originals(5, 3), Dim, new SignatureProjectionOptions()).ToBytes();
        Assert.Contains("no header", Assert.Throws<FormatException>(() => SignatureProjection.FromBytes("not a projection"u8)).Message);
        Assert.Contains("cannot hold", Assert.Throws<FormatException>(() => SignatureProjection.FromBytes(bytes.AsSpan(0, bytes.Length - 4))).Message);
        var nan = (byte[])bytes.Clone();
        BitConverter.GetBytes(float.NaN).CopyTo(nan, 16);
        Assert.Contains("finite", Assert.Throws<FormatException>(() => SignatureProjection.FromBytes(nan)).Message);
    }

    [Fact]
    public void Inputs_that_are_not_whole_rows_are_refused()
    {
        var options = new SignatureProjectionOptions();
        Assert.Throws<ArgumentException>(() => SignatureProjection.Fit(new float[Dim], new float[Dim - 1], 1, new float[Dim], Dim, options));
        Assert.Throws<ArgumentException>(() => SignatureProjection.Fit(new float[Dim], new float[Dim], 1, new float[Dim + 1], Dim, options));
        Assert.Throws<ArgumentOutOfRangeException>(() => SignatureProjection.Fit(new float[Dim], new float[Dim], 1, new float[Dim], Dim, options with { Power = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => SignatureProjection.Fit(new float[Dim], new float[Dim], 1, new float[Dim], Dim, options with { Ridge = 0 }));
    }
}
