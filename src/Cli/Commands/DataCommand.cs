using System.CommandLine;
using PlasticityDsl.Runtime.Data;

namespace PlasticityDsl.Cli.Commands;

/// <summary><c>plasticity data fetch mnist|fashion-mnist</c>.</summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var dataset = new Argument<string>("dataset") { Description = "the data set to fetch: mnist, or fashion-mnist (for meta-learning's 20-class pool)" };
        dataset.AcceptOnlyFromAmong("mnist", "fashion-mnist");
        var data = new Option<string?>("--data")
        {
            Description = $"check this directory instead of the cache: the MNIST IDX files, or FashionMNIST's 0.json…9.json (default: ${DataLocator.DataEnvironmentVariable} or ${DataLocator.FashionDataEnvironmentVariable}, else the cache, fetched if incomplete)",
        };
        var fetch = new Command("fetch", "Fetch a data set into the cache (or check the directory given by --data or the data set's environment variable).") { dataset, data };
        fetch.SetAction(result => CliErrors.Guard(() =>
        {
            string directory = result.GetValue(dataset) == "fashion-mnist"
                ? FetchFashionMnist(result.GetValue(data))
                : DataLocator.EnsureMnist(result.GetValue(data), Console.Error.WriteLine, "--data");
            Console.WriteLine(directory);
            return CliErrors.Ok;
        }));
        return new Command("data", "Manage data sets.") { fetch };
    }

    /// <summary>Locates (fetching if needed) and then reads the class files, so that a corrupt file is reported now rather than at meta-training time.</summary>
    private static string FetchFashionMnist(string? explicitDir)
    {
        string directory = DataLocator.EnsureFashionMnist(explicitDir, Console.Error.WriteLine, "--data");
        var (train, heldOut) = FashionMnistData.Load(directory);
        Console.Error.WriteLine($"FashionMNIST: {train.Count} training and {heldOut.Count} held-out images");
        return directory;
    }
}
