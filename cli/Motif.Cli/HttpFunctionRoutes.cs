using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Motif.Functions;

namespace Motif.Cli;

/// <summary>
/// The Functions app's HTTP API in an ASP.NET Core app, for the hosts that run without the Functions host
/// (<c>motif dev</c>, <c>motif serve</c>): each <c>[HttpTrigger]</c> method is mapped at <c>/api/{Route}</c> for its
/// methods — read by reflection, as the host reads functions.metadata, so a new HTTP function or a changed route needs
/// no change here, and both hosts answer exactly the routes the Functions app answers in Azure.
/// </summary>
/// <remarks>
/// Parameters bind as the host binds them (the <see cref="HttpRequest"/>, route values by name, the request's
/// cancellation token) and the returned <see cref="IActionResult"/> is executed by ASP.NET Core MVC, as the ASP.NET Core
/// integration does (the web app registers <c>AddMvcCore</c>). The function class comes from a scope of the composition
/// the host passes in: the web app's own services under <c>motif dev</c>, the workspace's under <c>motif serve</c>.
/// </remarks>
internal static class HttpFunctionRoutes
{
    /// <summary>Maps every HTTP function of the Functions app, resolving the classes from <paramref name="functions"/>.</summary>
    public static void MapHttpFunctions(this IEndpointRouteBuilder endpoints, IServiceProvider functions)
    {
        foreach (var (type, method, trigger) in HttpFunctions())
        {
            endpoints.MapMethods("/api/" + trigger.Route!.TrimStart('/'), trigger.Methods!.Select(m => m.ToUpperInvariant()),
                context => InvokeAsync(context, functions, type, method));
        }
    }

    /// <summary>Every method of the Functions app with <c>[Function]</c> and an <c>[HttpTrigger]</c> parameter.</summary>
    internal static IEnumerable<(Type Type, MethodInfo Method, HttpTriggerAttribute Trigger)> HttpFunctions() =>
        from type in typeof(MotifFunctions).Assembly.GetExportedTypes()
        from method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance)
        where method.GetCustomAttribute<FunctionAttribute>() is not null
        let trigger = method.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).FirstOrDefault(a => a is not null)
        where trigger is not null
        select (type, method, trigger);

    private static async Task InvokeAsync(HttpContext context, IServiceProvider functions, Type type, MethodInfo method)
    {
        await using var scope = functions.CreateAsyncScope();
        var function = scope.ServiceProvider.GetRequiredService(type);
        var arguments = method.GetParameters().Select(p => Bind(p, context)).ToArray();
        var result = await (Task<IActionResult>)method.Invoke(function, arguments)!;
        await result.ExecuteResultAsync(new ActionContext(context, context.GetRouteData(), new ActionDescriptor()));
    }

    private static object? Bind(ParameterInfo parameter, HttpContext context) => parameter.ParameterType switch
    {
        var t when t == typeof(HttpRequest) => context.Request,
        var t when t == typeof(CancellationToken) => context.RequestAborted,
        var t when t == typeof(string) => context.GetRouteValue(parameter.Name!) as string ?? context.Request.Query[parameter.Name!].FirstOrDefault(),
        var t => throw new NotSupportedException($"Cannot bind {parameter.Name} ({t.Name}) of an HTTP function; bind it as the host would, or extend HttpFunctionRoutes."),
    };
}
