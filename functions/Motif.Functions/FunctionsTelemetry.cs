using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Pipeline.Composition;
using OpenTelemetry;
using OpenTelemetry.Resources;

namespace Motif.Functions;

/// <summary>
/// The Functions app's OpenTelemetry. The worker starts an activity per invocation that continues the host's trace
/// (host.json's <c>telemetryMode</c> is OpenTelemetry), and that activity is what the pipeline stamps on what it
/// writes: IngestService puts its trace id on the upload's catalog record and its traceparent into the SignatureJob,
/// so the worker's batch continues the upload's trace and the manifest names it (see ReclusterService).
/// </summary>
public static class FunctionsTelemetry
{
    /// <summary>
    /// Tracing for the worker's invocations, always on (the trace ids are data, not only telemetry); exported to
    /// Application Insights when <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set (Entra ID authentication through
    /// the app's managed identity, <c>AZURE_CLIENT_ID</c>) and over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
    /// </summary>
    public static IServiceCollection AddMotifFunctionsTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("motif-functions"))
            .UseFunctionsWorkerDefaults();
        if (!string.IsNullOrWhiteSpace(configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"]))
        {
            telemetry.UseAzureMonitorExporter(options => options.Credential = new DefaultAzureCredential());
        }
        telemetry.UseOtlpExporterWhenConfigured(configuration);
        return services;
    }
}
