using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Motif.Functions.Api;

/// <summary>RFC 9457 problem responses: a status, a short title and a one-line detail, never an exception's text or a setting's value.</summary>
internal static class Problems
{
    public static ObjectResult Create(int status, string title, string detail) =>
        new(new ProblemDetails { Status = status, Title = title, Detail = detail }) { StatusCode = status, ContentTypes = { "application/problem+json" } };

    public static ObjectResult BadRequest(string detail) => Create(StatusCodes.Status400BadRequest, "Bad request", detail);

    public static ObjectResult NotFound(string detail) => Create(StatusCodes.Status404NotFound, "Not found", detail);

    public static ObjectResult BadKey() => BadRequest("The image key is not an image id in base64url (see functions/README.md).");

    /// <summary>An optional positive integer query parameter, bounded; null result with a problem when malformed.</summary>
    public static int? Count(HttpRequest request, string name, int fallback, int max, out ObjectResult? problem)
    {
        problem = null;
        var text = request.Query[name].ToString();
        if (text.Length == 0)
        {
            return fallback;
        }
        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= 1 && value <= max)
        {
            return value;
        }
        problem = BadRequest($"'{name}' must be a whole number from 1 to {max}.");
        return null;
    }
}
