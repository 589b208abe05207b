using Motif.Testing;
using System.Diagnostics;
using Motif.Core;

namespace Motif.Imaging.Tests;

/// <summary>
/// Mutation fuzzing of the whole intake path with a fixed seed: bit flips, byte overwrites with boundary values,
/// truncations, header edits, inserted and deleted runs, over valid images of every accepted format.
/// Every outcome must be Accepted or Rejected-with-a-reason; nothing may crash the process or run over 5 s.
/// </summary>
public sealed class FuzzTests
{
    private const int Seed = 20261122;
    private const int Cases = 1500;
    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(5);

    // Small minimum side so that mutated small seeds still reach the decoders; GIF accepted to fuzz its decoder too.
    private static readonly ValidationLimits Limits = ValidationLimits.Default with
    {
        MinSide = 8,
        AcceptedFormats = new HashSet<ImageFormat>(ValidationLimits.Default.AcceptedFormats) { ImageFormat.Gif },
    };

    private static readonly PreprocessSpec Spec = PreprocessSpec.Caffe(32);

    [Fact]
    public void Mutated_images_are_accepted_or_rejected_with_a_reason_never_crash_or_hang()
    {
        byte[][] seeds =
        [
            ImageFixtures.Jpeg(), ImageFixtures.Png(), ImageFixtures.WebP(), ImageFixtures.Tiff(), ImageFixtures.Tiff16(), ImageFixtures.GreyPng(),
            ImageFixtures.CmykJpeg(), ImageFixtures.RgbaPng(), ImageFixtures.Gif(), ImageFixtures.SidewaysJpeg(),
        ];
        var random = new Random(Seed);
        var cases = Enumerable.Range(0, Cases).Select(i => Mutate(seeds[i % seeds.Length], random)).ToArray();
        var outcomes = new string[Cases];
        var slowest = TimeSpan.Zero;
        var failures = new List<string>();

        Parallel.For(0, Cases, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            var clock = Stopwatch.StartNew();
            var run = Task.Run(() => Exercise(cases[i]));
            // Wait on the handle, not Task.Wait: that would rethrow a failure instead of reporting it with its input.
            var finished = ((IAsyncResult)run).AsyncWaitHandle.WaitOne(HangLimit);
            lock (failures)
            {
                if (!finished)
                {
                    failures.Add($"case {i}: still running after {HangLimit.TotalSeconds} s ({Keep(cases[i], i)})");
                    return;
                }
                slowest = clock.Elapsed > slowest ? clock.Elapsed : slowest;
                if (run.Exception is { } e)
                {
                    failures.Add($"case {i}: {e.InnerException} ({Keep(cases[i], i)})");
                }
                else
                {
                    outcomes[i] = run.Result;
                }
            }
        });

        Assert.True(failures.Count == 0, string.Join('\n', failures));
        Assert.True(slowest < HangLimit, $"slowest case took {slowest}");
        // The corpus must exercise both sides, or the test proves nothing about the decoders.
        var tally = outcomes.GroupBy(o => o).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(tally.GetValueOrDefault("accepted") > Cases / 20, Describe(tally));
        Assert.True(tally.GetValueOrDefault("corrupt") > Cases / 20, Describe(tally));
        Assert.True(tally.Count >= 4, Describe(tally));
    }

    /// <summary>Validates; an accepted image must then also survive the derivative and the model input paths.</summary>
    private static string Exercise(byte[] image)
    {
        switch (ImageCodec.Validate(image, Limits))
        {
            case ValidationResult.Rejected rejected:
                Assert.False(string.IsNullOrWhiteSpace(rejected.Message));
                return rejected.Reason.Code();
            case ValidationResult.Accepted:
                // Validation decoded every pixel, so the same bytes must decode again; any rejection here is a defect.
                ImageCodec.Derivative(image, 48, limits: Limits);
                var input = new float[Spec.ValuesPerImage];
                ImageCodec.Preprocess(image, Spec, input, Limits);
                Assert.DoesNotContain(input, float.IsNaN);
                return "accepted";
            default:
                throw new InvalidOperationException("Validate returned neither Accepted nor Rejected.");
        }
    }

    private static byte[] Mutate(byte[] seed, Random random)
    {
        var data = new List<byte>(seed);
        var steps = random.Next(1, 4);
        for (var s = 0; s < steps && data.Count > 0; s++)
        {
            switch (random.Next(6))
            {
                case 0: // bit flips anywhere
                    for (var k = random.Next(1, 9); k > 0; k--)
                    {
                        data[random.Next(data.Count)] ^= (byte)(1 << random.Next(8));
                    }
                    break;
                case 1: // boundary values anywhere
                    data[random.Next(data.Count)] = Interesting[random.Next(Interesting.Length)];
                    break;
                case 2: // truncation
                    var cut = random.Next(data.Count);
                    data.RemoveRange(cut, data.Count - cut);
                    break;
                case 3: // header edits: the first 64 bytes hold magic numbers, sizes and chunk lengths
                    for (var k = random.Next(1, 4); k > 0; k--)
                    {
                        data[random.Next(Math.Min(64, data.Count))] = Interesting[random.Next(Interesting.Length)];
                    }
                    break;
                case 4: // insert a run of random bytes
                    var run = new byte[random.Next(1, 32)];
                    random.NextBytes(run);
                    data.InsertRange(random.Next(data.Count), run);
                    break;
                default: // duplicate a run (repeated markers and chunks)
                    var start = random.Next(data.Count);
                    var length = Math.Min(random.Next(1, 64), data.Count - start);
                    data.InsertRange(random.Next(data.Count), data.GetRange(start, length));
                    break;
            }
        }
        return [.. data];
    }

    private static readonly byte[] Interesting = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF, 0x10, 0x40];

    private static string Keep(byte[] input, int index)
    {
        var path = Path.Combine(Path.GetTempPath(), $"motif-fuzz-{Seed}-{index}.bin");
        File.WriteAllBytes(path, input);
        return $"input saved to {path}";
    }

    private static string Describe(Dictionary<string, int> tally) => string.Join(", ", tally.OrderBy(t => t.Key).Select(t => $"{t.Key} {t.Value}"));
}
