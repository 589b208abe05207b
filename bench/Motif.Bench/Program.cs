using Motif.Bench;

// Speed targets live here, never in unit tests. Each benchmark prints its own table, anchor included.
var which = args.FirstOrDefault() ?? "all";
var repository = Repository.Root();
if (which is "imaging" or "all")
{
    ImagingBench.Run(repository);
}
if (which is "engine" or "all")
{
    EngineBench.Run(repository);
}
if (which is "clustering" or "all")
{
    await ClusteringBench.RunAsync(repository);
}
if (which is "storage" or "all")
{
    await StorageBench.RunAsync(repository);
}
if (which is "signing" or "all")
{
    await SigningBench.RunAsync(repository);
}
if (which is "dev" or "all")
{
    await DevBench.RunAsync(repository);
}
