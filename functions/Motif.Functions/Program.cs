using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Motif.Functions;

// The Functions host starts this worker; every service comes from the one registration that `motif dev` also uses.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddMotifFunctions(builder.Configuration);
builder.Services.AddMotifFunctionsTelemetry(builder.Configuration);
builder.Build().Run();
