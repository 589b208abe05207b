using Microsoft.Extensions.Configuration;
using Motif.Engine;
using Motif.Imaging;
using Motif.Pipeline.Composition;

namespace Motif.Worker;

/// <summary>
/// The worker's own settings, beside the pipeline's (<see cref="MotifPipelineOptions"/>): which model it runs, and the
/// <c>Motif__Worker__…</c> settings of its loop, its HTTP endpoint and its shutdown.
/// </summary>
public sealed record WorkerOptions
{
    public const string Section = MotifPipelineOptions.Section + ":" + MotifSettings.WorkerSection;

    /// <summary>Loopback: the worker's HTTP is for the container's own ingress or a local caller, unless configured.</summary>
    public const string DefaultUrls = "http://127.0.0.1:8080";

    /// <summary><c>Motif__Model</c>: the packaged network's name or a checkpoint file.</summary>
    public string Model { get; init; } = SignatureModels.PackagedResNet50;

    /// <summary><c>Motif__Precision</c>: fp32 or bf16 (part of the model version).</summary>
    public Precision Precision { get; init; } = Precision.Float32;

    /// <summary><c>Motif__Device</c>: cpu (default), cuda or cuda:N (the GPU image sets cuda).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary><c>Motif__Worker__Urls</c>, else ASPNETCORE_URLS, else <see cref="DefaultUrls"/>.</summary>
    public string Urls { get; init; } = DefaultUrls;

    /// <summary><c>Motif__Worker__ReceiveWaitSeconds</c>: how long one receive long-polls when the queue is idle.</summary>
    public TimeSpan ReceiveWait { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary><c>Motif__Worker__GraphUpdateSeconds</c>: while busy, the stored neighbour graph is updated at most this far apart (and always when the queue goes idle).</summary>
    public TimeSpan GraphUpdateInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary><c>Motif__Worker__ShutdownTimeoutSeconds</c>: the grace period after SIGTERM (Container Apps gives 30 s by default).</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(25);

    /// <summary><c>Motif__Worker__MaxSearchBytes</c>: the largest image <c>POST /search</c> accepts.</summary>
    public long MaxSearchBytes { get; init; } = 20 * 1024 * 1024;

    /// <summary>What a search image must pass: the limits intake applies to uploads.</summary>
    public ValidationLimits Limits { get; init; } = ValidationLimits.Default;

    /// <summary><c>Motif__Worker__BatchFillSeconds</c>: how long a receive that got less than a batch keeps receiving to fill it.</summary>
    public TimeSpan BatchFillWait { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary><c>Motif__Worker__PreparedBatches</c>: batches prepared ahead of the forward pass.</summary>
    public int PreparedBatches { get; init; } = 1;

    /// <summary>The options in <paramref name="configuration"/>; what is absent keeps its default.</summary>
    /// <exception cref="PipelineConfigurationException">A setting is malformed (the message names it).</exception>
    public static WorkerOptions Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(Section);
        var defaults = new WorkerOptions();
        var precisionText = configuration[MotifSettings.InMotif(MotifSettings.Precision)];
        var precision = string.IsNullOrWhiteSpace(precisionText)
            ? defaults.Precision
            : SignatureModels.ParsePrecision(precisionText) ?? throw new PipelineConfigurationException($"Motif__Precision must be 'fp32' or 'bf16', not '{precisionText}'.");
        return new WorkerOptions
        {
            Model = string.IsNullOrWhiteSpace(configuration[MotifSettings.InMotif(MotifSettings.Model)]) ? defaults.Model : configuration[MotifSettings.InMotif(MotifSettings.Model)]!,
            Precision = precision,
            Device = string.IsNullOrWhiteSpace(configuration[MotifSettings.InMotif(MotifSettings.Device)]) ? defaults.Device : configuration[MotifSettings.InMotif(MotifSettings.Device)]!,
            Urls = FirstOf(section[MotifSettings.WorkerUrls], configuration["urls"]) ?? defaults.Urls,
            ReceiveWait = TimeSpan.FromSeconds(SettingValues.Number(section, MotifSettings.WorkerReceiveWaitSeconds, defaults.ReceiveWait.TotalSeconds, 0, 300)),
            GraphUpdateInterval = TimeSpan.FromSeconds(SettingValues.Number(section, MotifSettings.WorkerGraphUpdateSeconds, defaults.GraphUpdateInterval.TotalSeconds, 1, 86400)),
            ShutdownTimeout = TimeSpan.FromSeconds(SettingValues.Number(section, MotifSettings.WorkerShutdownTimeoutSeconds, defaults.ShutdownTimeout.TotalSeconds, 1, 3600)),
            MaxSearchBytes = (long)SettingValues.Number(section, MotifSettings.WorkerMaxSearchBytes, defaults.MaxSearchBytes, 1024, 1L << 30),
            PreparedBatches = (int)SettingValues.Number(section, MotifSettings.WorkerPreparedBatches, defaults.PreparedBatches, 1, 8),
            BatchFillWait = TimeSpan.FromSeconds(SettingValues.Number(section, MotifSettings.WorkerBatchFillSeconds, defaults.BatchFillWait.TotalSeconds, 0, 60)),
        };
    }

    private static string? FirstOf(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));
}
