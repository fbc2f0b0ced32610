using System.CommandLine;
using PlasticityDsl.Runtime.Data;

namespace PlasticityDsl.Cli.Commands;

/// <summary><c>plasticity data fetch mnist</c>.</summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var dataset = new Argument<string>("dataset") { Description = "the data set to fetch" };
        dataset.AcceptOnlyFromAmong("mnist");
        var data = CommonOptions.Data();
        var fetch = new Command("fetch", "Fetch a data set into the cache (or check the directory given by --data or PLASTICITY_DATA).") { dataset, data };
        fetch.SetAction(result => CliErrors.Guard(() =>
        {
            string directory = DataLocator.EnsureMnist(result.GetValue(data), Console.Error.WriteLine);
            Console.WriteLine(directory);
            return CliErrors.Ok;
        }));
        return new Command("data", "Manage data sets.") { fetch };
    }
}
