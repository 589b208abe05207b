namespace Motif.Core.Tests.Signatures;

/// <summary>Deterministic clustered signatures: Gaussian blobs around random unit centres, L2-normalised.</summary>
internal static class SyntheticSignatures
{
    /// <param name="spread">Per-coordinate noise relative to the centre's 1/√D coordinates: the larger, the looser the blobs.</param>
    public static float[] Clustered(int n, int dim, int clusters, double spread, int seed)
    {
        var random = new Random(seed);
        var centres = new double[clusters][];
        for (var c = 0; c < clusters; c++)
        {
            centres[c] = Normalised(Enumerable.Range(0, dim).Select(_ => Gaussian(random)).ToArray());
        }
        var x = new float[n * dim];
        for (var i = 0; i < n; i++)
        {
            var centre = centres[random.Next(clusters)];
            var row = Normalised(centre.Select(v => v + spread * Gaussian(random) / Math.Sqrt(dim)).ToArray());
            for (var k = 0; k < dim; k++)
            {
                x[i * dim + k] = (float)row[k];
            }
        }
        return x;
    }

    private static double[] Normalised(double[] v)
    {
        var norm = Math.Sqrt(v.Sum(a => a * a));
        return v.Select(a => a / norm).ToArray();
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
