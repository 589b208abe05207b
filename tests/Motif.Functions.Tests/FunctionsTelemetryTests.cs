using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Motif.Functions;
using OpenTelemetry.Trace;

namespace Motif.Functions.Tests;

/// <summary>
/// Contract test (no Functions host runs here): the app's telemetry listens to the worker's invocation activities, which
/// is what gives IngestImage a current activity whose trace id the pipeline stamps on the upload's catalog record and
/// job. The worker SDK starts them from its ActivitySource "Microsoft.Azure.Functions.Worker" only when something listens.
/// </summary>
public sealed class FunctionsTelemetryTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://example.invalid/")]
    public void The_workers_invocation_activities_exist_with_or_without_an_exporter(string? applicationInsights)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = applicationInsights })
            .Build();
        using var services = new ServiceCollection().AddMotifFunctionsTelemetry(configuration).BuildServiceProvider();
        _ = services.GetRequiredService<TracerProvider>();
        using var source = new ActivitySource("Microsoft.Azure.Functions.Worker");

        using var invocation = source.StartActivity("Invoke", ActivityKind.Server);

        // Created whether or not the exporter's sampler records it: the trace id is data (catalog, job, manifest).
        Assert.NotNull(invocation);
        Assert.Equal(ActivityIdFormat.W3C, invocation.IdFormat);
        Assert.NotEqual(default, invocation.TraceId);
    }
}
