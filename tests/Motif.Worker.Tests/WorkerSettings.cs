using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Pipeline.Composition;

namespace Motif.Worker.Tests;

/// <summary>What the worker tests share besides the process itself (<see cref="WorkerProcess"/>): the pipeline composed
/// in the test from the same settings the worker gets, and waiting for what the worker does asynchronously.</summary>
internal static class WorkerSettings
{
    /// <summary>The pipeline as the worker composes it, from the same settings (keys as the environment spells them).</summary>
    public static ServiceProvider Compose(IReadOnlyDictionary<string, string?> settings) =>
        new ServiceCollection().AddMotifPipeline(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key.Replace("__", ":", StringComparison.Ordinal), s.Value)))
            .Build()).BuildServiceProvider();

    /// <summary>Polls <paramref name="done"/> until it holds, failing with <paramref name="what"/> after <paramref name="deadline"/>.</summary>
    public static async Task PollAsync(Func<Task<bool>> done, string what, TimeSpan deadline)
    {
        var until = DateTime.UtcNow + deadline;
        while (!await done())
        {
            Assert.True(DateTime.UtcNow < until, $"Not within {deadline}: {what}");
            await Task.Delay(100);
        }
    }
}
