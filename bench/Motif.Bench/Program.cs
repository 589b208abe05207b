using Motif.Bench;
using Motif.Cli;

// Speed targets live here, never in unit tests. Each benchmark prints its own table, anchor included.
//   Motif.Bench [all|imaging|fidelity|engine|clustering|map|storage|signing|dev|training] [--threads N --python PATH --points N,N ... (BenchSettings)]
var which = args.FirstOrDefault() ?? "all";
// The process-wide settings every Motif host makes (libvips' warnings on stderr, one libvips thread per image); each
// benchmark that runs the engine sets libtorch's threads it measures with.
using var loggers = CliProcess.Start(Console.Error);
var repository = Repository.Root();
BenchSettings settings;
try
{
    settings = BenchSettings.Parse(args.Skip(1).ToArray());
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"bench: {e.Message}");
    return 2;
}
if (which is "imaging" or "all")
{
    ImagingBench.Run(repository, settings.Threads, settings.Python);
}
if (which is "fidelity")
{
    // Not in "all": it measures no speed, only how close the model input is to torchvision's.
    PreprocessFidelityBench.Run(repository, settings.Python);
}
if (which is "engine" or "all")
{
    EngineBench.Run(repository);
}
if (which is "clustering" or "all")
{
    await ClusteringBench.RunAsync(repository, settings.Points);
}
if (which is "map" or "all")
{
    MapBench.Run(settings.Points);
}
if (which is "storage" or "all")
{
    await StorageBench.RunAsync(repository);
}
if (which is "signing" or "all")
{
    await SigningBench.RunAsync(repository, settings);
}
if (which is "dev" or "all")
{
    await DevBench.RunAsync(repository);
}
if (which is "training" or "all")
{
    TrainingBench.Run(repository, settings);
}
return 0;
