using PlasticityDsl.Runtime.Instruments;
using PlasticityDsl.Runtime.Reporting;
using Xunit;

namespace PlasticityDsl.Tests.Instruments;

public class InstrumentFilesTests
{
    private static readonly LayerProfile Early = new(ReconstructionError.Quantity, [1, 2], [0.5, 0.25]);
    private static readonly LayerProfile Late = new(ReconstructionError.Quantity, [1, 2], [0.125, 0.0625]);

    private static LayerMeasurement[] Log() => [.. Early.At(0), .. Late.At(1000)];

    [Fact]
    public void Measurements_become_csv_rows()
    {
        using var dir = new TempDirectory();
        string path = dir.File("figure2.csv");

        InstrumentFiles.WriteCsv(path, Log());

        Assert.Equal(
            ["samples,layer,quantity,value", "0,1,reconstruction_error,0.5", "0,2,reconstruction_error,0.25",
             "1000,1,reconstruction_error,0.125", "1000,2,reconstruction_error,0.0625"],
            File.ReadAllLines(path));
    }

    [Fact]
    public void Measurements_round_trip_through_snake_case_json()
    {
        using var dir = new TempDirectory();
        string path = dir.File("figure2.json");

        ResultsWriter.WriteJson(path, Log());

        Assert.Contains("\"samples\": 1000", File.ReadAllText(path));
        Assert.Equal(Log(), ResultsWriter.ReadJson<LayerMeasurement[]>(path));
    }

    [Fact]
    public void Explained_variance_curves_become_one_row_per_component()
    {
        using var dir = new TempDirectory();
        string path = dir.File("figure3.csv");
        var curve = new ExplainedVarianceCurve(3, [3, 1], [0.75, 1]);

        InstrumentFiles.WriteCsv(path, [curve]);

        Assert.Equal(["layer,components,variance,cumulative_fraction", "3,1,3,0.75", "3,2,1,1"], File.ReadAllLines(path));
    }
}
