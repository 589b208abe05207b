using Motif.Pipeline;

namespace Motif.Functions.Api;

/// <summary>
/// Where <c>POST /api/search</c> embeds a query image and ranks the collection against it: the port that lets one
/// <see cref="SearchApi"/> serve every host. The Functions app forwards to the worker, which holds the model
/// (<see cref="WorkerSearch"/>); <c>motif serve</c> embeds in its own process, over its workspace.
/// </summary>
/// <remarks>
/// Guarantees every implementation keeps: the bytes have already been validated like an upload; hits come nearest
/// first, at most <c>k</c>, with cosine distances (1 − cos); a failure the caller can report is a
/// <see cref="QuerySearchException"/> with a one-line detail that names no setting's value and no exception text.
/// </remarks>
public interface IQueryImageSearch
{
    /// <summary>The <paramref name="k"/> images nearest to <paramref name="image"/>.</summary>
    /// <exception cref="QuerySearchException">Search cannot answer now (unavailable, or failed).</exception>
    Task<QuerySearchResult> SearchAsync(byte[] image, int k, CancellationToken cancellationToken);
}

/// <summary>The model that embedded the query, how many signatures were searched, and the hits nearest first.</summary>
public sealed record QuerySearchResult(string Model, int Signatures, IReadOnlyList<SearchHit> Hits);

/// <summary>Search could not answer; <see cref="Status"/> is the HTTP status to report (503: try later, 502: it failed).</summary>
public sealed class QuerySearchException(int status, string detail) : Exception(detail)
{
    public int Status { get; } = status;
}
