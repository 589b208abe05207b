using Microsoft.Extensions.DependencyInjection;
using Motif.Storage.Blobs;
using Motif.Storage.Catalog;
using Motif.Storage.Queues;

namespace Motif.Pipeline.Composition;

/// <summary>
/// The embedded adapters of one workspace folder: <c>blobs/</c> (a local-folder blob store), <c>uploads/</c> (the
/// uploads container) and <c>motif.db</c> (SQLite: the catalog, the signature queue and the training queue). The container disposes them.
/// </summary>
internal static class EmbeddedAdapters
{
    public const string Database = "motif.db";

    public static void Add(IServiceCollection services, MotifPipelineOptions options)
    {
        var root = Path.GetFullPath(options.Workspace!);
        var database = Path.Combine(root, Database);
        services.AddSingleton(_ =>
        {
            Directory.CreateDirectory(root);
            return new LocalFolderBlobStore(Path.Combine(root, "blobs"));
        });
        services.AddSingleton<IBlobStore>(sp => sp.GetRequiredService<LocalFolderBlobStore>());
        services.AddKeyedSingleton<IBlobStore>(MotifPipeline.Uploads, (_, _) => new LocalFolderBlobStore(Path.Combine(root, options.UploadsContainer)));
        services.AddSingleton(sp =>
        {
            _ = sp.GetRequiredService<LocalFolderBlobStore>();   // the folder exists before SQLite opens its file in it
            return new SqliteImageCatalog(database);
        });
        services.AddSingleton<IImageCatalog>(sp => sp.GetRequiredService<SqliteImageCatalog>());
        services.AddSingleton(sp =>
        {
            _ = sp.GetRequiredService<LocalFolderBlobStore>();
            return new SqliteWorkQueue(database, "signatures", options.SignatureJobs);
        });
        services.AddSingleton<IWorkQueue>(sp => sp.GetRequiredService<SqliteWorkQueue>());
        services.AddKeyedSingleton<IWorkQueue>(WorkQueueKeys.Training, (sp, _) =>
        {
            _ = sp.GetRequiredService<LocalFolderBlobStore>();
            return new SqliteWorkQueue(database, WorkQueueKeys.Training, options.TrainingJobs);
        });
    }
}
