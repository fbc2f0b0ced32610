using System.Text.Json;
using PlasticityDsl.Runtime.Reporting;
using PlasticityDsl.Tests.Data;
using Xunit;

namespace PlasticityDsl.Tests.Cli;

/// <summary><c>plasticity reproduce all</c> end to end on tiny synthetic data: every figure writes its files.</summary>
public sealed class ReproduceTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void EveryFigureWritesItsPngCsvAndJson()
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        string theta = Path.Combine(CliRunner.RepositoryRoot(), "examples", "experiments", "theta.json");
        var result = CliRunner.Run(_dir.Path, "reproduce", "all", "--seeds", "2", "--samples", "20", "--eval-every", "10", "--test-size", "20",
            "--hidden", "16", "--theta-file", theta, "--data", data, "--out", "out");
        Assert.True(result.ExitCode == 0, result.Error);

        string[] expected =
        [
            "fig1/fig1.png", "fig1/fig1.csv", "fig1/fig1.json",
            "fig2/fig2.png", "fig2/fig2.csv", "fig2/fig2.json",
            "fig3/fig3.png", "fig3/fig3-curves.csv", "fig3/fig3.json",
            "fig4/fig4-5-layer-bp.png", "fig4/fig4-10-layer-bp-oja.png", "fig4/fig4.csv", "fig4/fig4.json",
            "fig5/fig5.png", "fig5/fig5.csv", "fig5/fig5.json",
            "fig6/fig6.png", "fig6/fig6-alignment.png", "fig6/fig6.csv", "fig6/fig6.json",
            "fig7/fig7.png", "fig7/fig7.csv", "fig7/fig7.json",
            "figS1/figS1.png", "figS1/figS1.csv", "figS1/figS1.json",
        ];
        foreach (string file in expected)
        {
            Assert.True(new FileInfo(_dir.File(Path.Combine("out", file))).Length > 0, file + " is missing or empty");
        }

        // The data behind a figure names its seeds and θ, and has one band per layer and arm.
        var fig2 = ResultsWriter.ReadJson<JsonElement>(_dir.File("out/fig2/fig2.json"));
        Assert.Equal(2, fig2.GetProperty("settings").GetProperty("seeds").GetInt32());
        Assert.Equal(2 * 10, fig2.GetProperty("bands").GetArrayLength()); // BP and BP+Oja × layers 1…10
        var fig5 = ResultsWriter.ReadJson<JsonElement>(_dir.File("out/fig5/fig5.json"));
        Assert.Equal(0.2, fig5.GetProperty("arms")[0].GetProperty("theta").GetProperty("t0").GetDouble(), 6);
        Assert.Contains("fig6: ", result.Error);
    }

    [Fact]
    public void GridSearchesRecurrentRulesOnTheDelayedMemoryTask()
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        var result = CliRunner.Run(_dir.Path, "grid", "--rule", "bptt_oja", "--axis", "t1=-0.001", "--axis", "t2=0.0001,0.001", "--seeds", "2",
            "--samples", "10", "--hidden", "8", "--data", data, "--out", "grid.json");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("delayed-memory task (n_h = 8, T = 50)", result.Error);
        var report = ResultsWriter.ReadJson<JsonElement>(_dir.File("grid.json"));
        Assert.Equal(2, report.GetProperty("points").GetArrayLength());
        Assert.Equal(new[] { 784, 8, 10 }, report.GetProperty("layers").EnumerateArray().Select(n => n.GetInt32()));
    }

    [Fact]
    public void UnknownFigureIsAUsageError()
    {
        var result = CliRunner.Run(_dir.Path, "reproduce", "fig9");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("fig9", result.Error);
    }
}
