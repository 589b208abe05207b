using Motif.Core.Evaluation;

namespace Motif.Cli.Tests;

/// <summary>Component names that the frozen split's hash puts in a chosen part, for tests that need one there.</summary>
internal static class SplitComponents
{
    /// <summary>The first id "{prefix}{i}" (a component's smallest image once "-a" is appended) that the hash puts in <paramref name="part"/>.</summary>
    public static string ComponentIn(SplitPart part, string prefix) =>
        Enumerable.Range(0, 1000).Select(i => $"{prefix}{i:D3}").First(id => MorphographSplit.HashedPart(id + "-a", SplitRatios.Research) == part);
}
