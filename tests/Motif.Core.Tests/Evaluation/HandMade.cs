using System.Text;
using Motif.Core.Evaluation;

namespace Motif.Core.Tests.Evaluation;

/// <summary>Hand-made inputs whose answers can be worked out on paper: 2-d unit signatures at given angles (cosine
/// distance 1 − cos of the angle between them) and a frozen split listed part by part.</summary>
internal static class HandMade
{
    /// <summary>One row (cos θ, sin θ) per image, θ in degrees, and the row ids.</summary>
    public static (float[] Signatures, string[] Ids) OnTheCircle(IEnumerable<(string Id, double Degrees)> rows)
    {
        var list = rows.ToArray();
        return ([.. list.SelectMany(r => new[] { (float)Math.Cos(r.Degrees * Math.PI / 180), (float)Math.Sin(r.Degrees * Math.PI / 180) })],
                [.. list.Select(r => r.Id)]);
    }

    /// <summary>A stored split with these images in each part.</summary>
    public static MorphographSplit Split(string[] train, string[] validation, string[] test)
    {
        static string List(string[] ids) => "[" + string.Join(", ", ids.Select(id => $"\"{id}\"")) + "]";
        return MorphographSplit.Parse(Encoding.UTF8.GetBytes(
            $$"""{"schemaVersion": 1, "ratios": {"train": 0.5, "validation": 0.25, "test": 0.25}, "train": {{List(train)}}, "validation": {{List(validation)}}, "test": {{List(test)}}}"""));
    }
}
