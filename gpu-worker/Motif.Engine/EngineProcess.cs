using Motif.Engine.Interop;

namespace Motif.Engine;

/// <summary>What the engine holds once per process, and so what <see cref="EngineProcess.Configure"/> sets.</summary>
public sealed record EngineProcessOptions
{
    /// <summary>
    /// libtorch's intra-op threads for the forward and backward passes. Explicit (DESIGN.md, "Engine facts"): the native
    /// default, MOTIF_NUM_THREADS or else every online CPU, ignores the cores a host gives its decode threads.
    /// </summary>
    public required int Threads { get; init; }
}

/// <summary>
/// The process-wide side of the engine. Every <see cref="SignatureModel"/> computes on the engine's one inference thread,
/// and libtorch's thread count belongs to that thread's OpenMP team (torch::set_num_threads configures the calling
/// thread's team): so it is one setting for every model in the process, not an option of a model. The hosts that sign
/// (the worker, <c>motif run</c>/<c>embed</c>, the bench) set it once before their first forward pass; tests that run
/// commands inside the test process leave it alone.
/// </summary>
public static class EngineProcess
{
    /// <summary>Sets libtorch's intra-op threads on the engine thread.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than one thread.</exception>
    /// <exception cref="SignatureEngineException">The engine cannot be loaded or refuses the value.</exception>
    public static void Configure(EngineProcessOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Threads, 1, nameof(options.Threads));
        NativeEngine.Check(NativeEngine.motif_set_num_threads(options.Threads));
    }

    /// <summary>libtorch's intra-op threads on the engine thread now.</summary>
    public static int Threads
    {
        get
        {
            NativeEngine.Check(NativeEngine.motif_get_num_threads(out var n));
            return n;
        }
    }
}
