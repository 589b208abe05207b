using System.Diagnostics;

namespace Motif.Pipeline;

/// <summary>
/// The trace the calling code runs in, as the pipeline hands it on: only a W3C activity has an id that another process
/// (the worker, a trace viewer reading the manifest) can find again, so a hierarchical one counts as none.
/// </summary>
internal static class CurrentTrace
{
    /// <summary>The current activity's W3C traceparent, or null when untraced.</summary>
    public static string? TraceParent => W3CActivity?.Id;

    /// <summary>The current activity's W3C trace id (32 lowercase hex digits), or null when untraced.</summary>
    public static string? TraceId => W3CActivity?.TraceId.ToHexString();

    private static Activity? W3CActivity => Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current : null;
}
