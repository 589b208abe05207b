namespace Motif.Storage.Queues;

/// <summary>
/// The service keys of the job queues other than the signature queue, which is the unkeyed <see cref="IWorkQueue"/>:
/// every composition (embedded SQLite, Queue Storage, Service Bus) registers each under its key, so a sender and a
/// receiver in different hosts find the same queue by the same key.
/// </summary>
public static class WorkQueueKeys
{
    /// <summary>Training jobs (<c>POST /api/train</c> sends them; the training job receives them).</summary>
    public const string Training = "training";
}
