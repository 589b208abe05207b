using Microsoft.Extensions.Configuration;
using Motif.Core.Annotations;
using Motif.Pipeline.Composition;

namespace Motif.Functions;

/// <summary>
/// The Functions app's own settings, from the same <c>Motif</c> section as the pipeline's (<c>Motif__…</c> app settings).
/// </summary>
public sealed record MotifFunctionsOptions
{
    /// <summary>The app setting that holds Recluster's schedule, as the Functions host resolves <c>%Motif:ReclusterSchedule%</c>.</summary>
    public const string ReclusterScheduleSetting = MotifPipelineOptions.Section + ":" + MotifSettings.ReclusterSchedule;

    /// <summary>Nightly at 02:00 UTC (NCRONTAB with seconds): the value main.bicep and local.settings set.</summary>
    public const string DefaultReclusterSchedule = "0 0 2 * * *";

    /// <summary>The largest query image <c>POST /api/search</c> takes: far below intake's limit, a query is a photo, not a master.</summary>
    public const long DefaultSearchMaxBytes = 32L << 20;

    /// <summary>
    /// The worker's search endpoint (<c>Motif__WorkerSearchUri</c>), e.g. <c>https://motif-worker.internal…/search</c>:
    /// the query image is embedded there because the worker holds the model. Null: search answers 503.
    /// </summary>
    public Uri? WorkerSearchUri { get; init; }

    /// <summary>
    /// Recluster's schedule for a runner that has no Functions host (<c>motif dev</c>). The host itself reads only the app
    /// setting <c>Motif__ReclusterSchedule</c> and refuses to index Recluster when it is missing.
    /// </summary>
    public string ReclusterSchedule { get; init; } = DefaultReclusterSchedule;

    public long SearchMaxBytes { get; init; } = DefaultSearchMaxBytes;

    /// <summary>
    /// For local use only (<c>Motif__LocalAnnotator</c>; <c>motif dev</c> and <c>motif serve</c> set it to the OS user): the annotator of an
    /// annotation posted without an App Service authentication principal. Null (the default, and always in Azure):
    /// such a request is refused with 401, so every annotation names a signed-in curator.
    /// </summary>
    public string? LocalAnnotator { get; init; }

    /// <summary>
    /// The app's own public root (<c>Motif__PublicBaseUrl</c>), e.g. <c>https://motif-abc.azurewebsites.net/</c>: IIIF
    /// documents are linked data, so every id in them, and every image URL, is absolute, and this is what they start
    /// with. main.bicep sets it from the Function App's default host name; <c>motif serve</c> and <c>motif dev</c> set
    /// their loopback address. Never taken from a request: the Host header is the client's to choose, and an id built
    /// from it would let anyone make the app publish documents pointing at their own site. Null: the IIIF routes answer
    /// 503.
    /// </summary>
    public Uri? PublicBaseUrl { get; init; }

    /// <summary>The options in <paramref name="configuration"/>'s <c>Motif</c> section; what is absent keeps its default.</summary>
    /// <exception cref="PipelineConfigurationException">A setting is malformed (the message names it).</exception>
    public static MotifFunctionsOptions Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(MotifPipelineOptions.Section);
        var defaults = new MotifFunctionsOptions();
        Uri? worker = null;
        if (section[MotifSettings.WorkerSearchUri] is { Length: > 0 } text)
        {
            // Absolute http(s) without user info: the URI is logged and must never carry a credential.
            if (!Uri.TryCreate(text, UriKind.Absolute, out worker) || worker.Scheme is not ("http" or "https") || worker.UserInfo.Length > 0)
            {
                throw new PipelineConfigurationException($"{MotifPipelineOptions.Section}__WorkerSearchUri must be an absolute http(s) URI without credentials.");
            }
        }
        Uri? publicBase = null;
        if (section[MotifSettings.PublicBaseUrl] is { Length: > 0 } root)
        {
            // A root and nothing else: no credentials (it is published in every IIIF document), no query or fragment
            // (the routes are appended to it).
            if (!Uri.TryCreate(root, UriKind.Absolute, out publicBase) || publicBase.Scheme is not ("http" or "https") || publicBase.UserInfo.Length > 0
                || publicBase.Query.Length > 0 || publicBase.Fragment.Length > 0)
            {
                throw new PipelineConfigurationException($"{MotifPipelineOptions.Section}__{MotifSettings.PublicBaseUrl} must be an absolute http(s) URL without credentials, query or fragment (the app's own root, e.g. https://name.azurewebsites.net/).");
            }
            // A root is a folder: with its slash, relative routes resolve under it rather than beside it.
            publicBase = publicBase.AbsolutePath.EndsWith('/') ? publicBase : new Uri(publicBase.AbsoluteUri + "/");
        }
        var localAnnotator = section[MotifSettings.LocalAnnotator] is { Length: > 0 } name ? name : null;
        if (localAnnotator is not null)
        {
            try
            {
                AnnotationRules.Validate(new AnnotationDraft(localAnnotator, AnnotationLabel.Undo, []) { Undoes = AnnotationIds.New(DateTimeOffset.UnixEpoch) });
            }
            catch (AnnotationRefusedException e)
            {
                throw new PipelineConfigurationException($"{MotifPipelineOptions.Section}__{MotifSettings.LocalAnnotator} is not a usable annotator name: {e.Message}.");
            }
        }
        return new MotifFunctionsOptions
        {
            WorkerSearchUri = worker,
            LocalAnnotator = localAnnotator,
            PublicBaseUrl = publicBase,
            ReclusterSchedule = string.IsNullOrWhiteSpace(section[MotifSettings.ReclusterSchedule]) ? defaults.ReclusterSchedule : section[MotifSettings.ReclusterSchedule]!,
        };
    }
}
