using Microsoft.Extensions.Configuration;
using OpenTelemetry;

namespace Motif.Pipeline.Composition;

/// <summary>
/// What every host's OpenTelemetry shares (the worker, the Functions app, <c>motif dev</c>'s trigger runner): each
/// chooses its own sources, resource and instrumentation, and exports over OTLP under the same standard setting.
/// </summary>
public static class MotifTelemetry
{
    /// <summary>The OpenTelemetry SDK's standard setting: where OTLP goes (its other <c>OTEL_EXPORTER_OTLP_…</c> settings apply too).</summary>
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// Adds the OTLP exporter for traces, metrics and logs when <see cref="OtlpEndpointSetting"/> is set in
    /// <paramref name="configuration"/>. Without it nothing is exported: the SDK's default endpoint (localhost:4317) would
    /// only fill the log with failed exports wherever no collector runs.
    /// </summary>
    public static TBuilder UseOtlpExporterWhenConfigured<TBuilder>(this TBuilder telemetry, IConfiguration configuration)
        where TBuilder : IOpenTelemetryBuilder
    {
        ArgumentNullException.ThrowIfNull(telemetry);
        ArgumentNullException.ThrowIfNull(configuration);
        if (!string.IsNullOrWhiteSpace(configuration[OtlpEndpointSetting]))
        {
            telemetry.UseOtlpExporter();
        }
        return telemetry;
    }
}
