namespace Motif.Core.Layout;

/// <summary>Settings of <see cref="MapLayout"/>. The defaults are umap-learn 0.5's (<c>n_neighbors=15</c>,
/// <c>min_dist=0.1</c>, <c>spread=1</c>, <c>negative_sample_rate=5</c>, <c>learning_rate=1</c>, <c>repulsion_strength=1</c>,
/// epochs 500 up to 10,000 points and 200 above).</summary>
public sealed record MapLayoutOptions
{
    /// <summary>The defaults.</summary>
    public static MapLayoutOptions Default { get; } = new();

    /// <summary>Neighbours per point taken from the graph's rows (nearest first); fewer where the graph's radius holds fewer.</summary>
    public int Neighbours { get; init; } = 15;

    /// <summary>Optimisation epochs; null chooses umap-learn's 500 for up to 10,000 points, 200 above.</summary>
    public int? Epochs { get; init; }

    /// <summary>Random points each positive sample is pushed away from.</summary>
    public int NegativeSampleRate { get; init; } = 5;

    /// <summary>Seed of the initial positions and the negative samples: the same graph, options and previous layout give
    /// the same coordinates, bit for bit.</summary>
    public ulong Seed { get; init; } = 42;

    internal int ResolveEpochs(int points) => Epochs ?? (points <= 10_000 ? 500 : 200);

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Neighbours, nameof(Neighbours));
        ArgumentOutOfRangeException.ThrowIfNegative(NegativeSampleRate, nameof(NegativeSampleRate));
        if (Epochs is { } e)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(e, nameof(Epochs));
        }
    }
}
