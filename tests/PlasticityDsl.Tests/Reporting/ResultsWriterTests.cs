using System.Globalization;
using System.Text.Json.Nodes;
using PlasticityDsl.Runtime.Reporting;
using Xunit;

namespace PlasticityDsl.Tests.Reporting;

public class ResultsWriterTests
{
    private sealed record RunResult(string RuleName, int Seed, double FinalTestAccuracy, double[] TestAccuracyPerEpoch);

    [Fact]
    public void Json_round_trips_with_snake_case_names()
    {
        using var dir = new TempDirectory();
        string path = dir.File("result.json");
        var result = new RunResult("oja", 3, 0.9731, [0.5, 0.9, 0.9731]);

        ResultsWriter.WriteJson(path, result);

        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        Assert.Equal(["rule_name", "seed", "final_test_accuracy", "test_accuracy_per_epoch"], json.Select(p => p.Key));
        Assert.Contains("\n  ", File.ReadAllText(path));
        var back = ResultsWriter.ReadJson<RunResult>(path);
        Assert.Equal(result with { TestAccuracyPerEpoch = back.TestAccuracyPerEpoch }, back);
        Assert.Equal(result.TestAccuracyPerEpoch, back.TestAccuracyPerEpoch);
    }

    [Fact]
    public void Json_keeps_dictionary_keys_and_survives_nan()
    {
        using var dir = new TempDirectory();
        string path = dir.File("summary.json");

        ResultsWriter.WriteJson(path, new Dictionary<string, double> { ["final_test_accuracy"] = 0.5, ["FinalLoss"] = double.NaN });

        var back = ResultsWriter.ReadJson<Dictionary<string, double>>(path);
        Assert.Equal(0.5, back["final_test_accuracy"]);
        Assert.True(double.IsNaN(back["FinalLoss"]));
    }

    [Fact]
    public void Csv_is_culture_invariant_and_round_trips_doubles()
    {
        using var dir = new TempDirectory();
        string path = dir.File("curve.csv");
        double third = 1.0 / 3;
        var previous = CultureInfo.CurrentCulture;
        // The test project may run in globalization-invariant mode, where "de-DE" cannot be created;
        // a clone with German separators exercises the same formatting paths.
        var german = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        german.NumberFormat.NumberDecimalSeparator = ",";
        german.NumberFormat.NumberGroupSeparator = ".";
        try
        {
            CultureInfo.CurrentCulture = german;
            ResultsWriter.WriteCsv(path, ["epoch", "accuracy", "note"],
            [
                [1, third, "plain"],
                [2, 1234.5f, "has, comma and \"quote\""],
                [3, null!, ""],
            ]);
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }

        string[] lines = File.ReadAllLines(path);
        Assert.Equal("epoch,accuracy,note", lines[0]);
        Assert.Equal($"1,{third.ToString("R", CultureInfo.InvariantCulture)},plain", lines[1]);
        Assert.Equal(third, double.Parse(lines[1].Split(',')[1], CultureInfo.InvariantCulture));
        Assert.Equal("2,1234.5,\"has, comma and \"\"quote\"\"\"", lines[2]);
        Assert.Equal("3,,", lines[3]);
    }

    [Fact]
    public void Csv_rejects_rows_of_the_wrong_length_and_keeps_the_old_file()
    {
        using var dir = new TempDirectory();
        string path = dir.File("curve.csv");
        ResultsWriter.WriteCsv(path, ["a", "b"], [[1, 2]]);

        var error = Assert.Throws<ArgumentException>(() => ResultsWriter.WriteCsv(path, ["a", "b"], [[1, 2], [3]]));

        Assert.Contains("Row 1", error.Message);
        Assert.Equal(["a,b", "1,2"], File.ReadAllLines(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }
}
