using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Motif.Functions;
using Motif.Pipeline.Composition;

// The Functions host starts this worker; every service comes from the one registration that `motif dev` also uses.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddMotifFunctions(builder.Configuration);
builder.Services.AddMotifFunctionsTelemetry(builder.Configuration);
var app = builder.Build();
// The process-wide settings, before the first invocation: libvips' warnings (a damaged upload's decoder messages) into
// the app's log, libvips' threads, the process's one SQLite.
MotifProcess.Configure(app.Services.GetRequiredService<ILoggerFactory>());
app.Run();
