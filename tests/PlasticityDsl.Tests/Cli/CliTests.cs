using Xunit;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.Reporting;
using PlasticityDsl.Tests.Data;

namespace PlasticityDsl.Tests.Cli;

/// <summary>End-to-end: the `plasticity` command on the repository's rules and on small synthetic MNIST files.</summary>
public sealed class CliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void CheckIsCleanOnTheExampleRules()
    {
        var result = CliRunner.Run(CliRunner.RepositoryRoot(), "check", "examples/rules");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public void CheckReportsOneLocatedDiagnosticPerBrokenRule()
    {
        var result = CliRunner.Run(CliRunner.RepositoryRoot(), "check", "examples/broken");
        Assert.Equal(1, result.ExitCode);
        string[] lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Directory.GetFiles(Path.Combine(CliRunner.RepositoryRoot(), "examples", "broken"), "*.rule").Length, lines.Length);
        Assert.Contains("examples/broken/add.rule(2,19): error PDSL1002: cannot add [n_l × n_<l-1>] and [n_l × n_l]", lines);
        Assert.Contains(lines, l => l.StartsWith("examples/broken/multiply.rule(2,13): error PDSL1001:", StringComparison.Ordinal));
        // Each broken file states the code it triggers in its first comment line.
        foreach (string file in Directory.GetFiles(Path.Combine(CliRunner.RepositoryRoot(), "examples", "broken"), "*.rule"))
        {
            string code = File.ReadLines(file).First().Split(' ', ':')[1];
            Assert.Contains(lines, l => l.StartsWith($"examples/broken/{Path.GetFileName(file)}(", StringComparison.Ordinal) && l.Contains(" error " + code + ":", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void CheckOfAMissingPathFails()
    {
        var result = CliRunner.Run(_dir.Path, "check", "nope.rule");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("nope.rule: error: no such file or directory", result.Output);
    }

    [Fact]
    public void EmitPrintsTheGeneratedKernel()
    {
        var result = CliRunner.Run(CliRunner.RepositoryRoot(), "emit", "examples/rules/bp_oja.rule");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("public sealed partial class BpOjaRule", result.Output);
        Assert.Contains("MultiplyTransposedVector(weights, rows, columns, post, v0)", result.Output);
    }

    [Fact]
    public void EmitPrintsARecurrentRulesTangentKernelAfterItsUpdate()
    {
        var result = CliRunner.Run(CliRunner.RepositoryRoot(), "emit", "examples/rules/bptt_oja.rule");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("public sealed partial class BpttOjaRule : global::PlasticityDsl.Runtime.IDifferentiableRecurrentRule", result.Output);
        Assert.Contains("(T−1)·(11·n_h² + 5·n_h) multiply-adds per direction", result.Output);
        int apply = result.Output.IndexOf("public void Apply(in global::PlasticityDsl.Runtime.RecurrentSignals network", StringComparison.Ordinal);
        Assert.InRange(result.Output.IndexOf("in global::PlasticityDsl.Runtime.RecurrentTangents tangent", StringComparison.Ordinal), apply + 1, int.MaxValue);
        Assert.Contains("MultiplyTransposedVector(recurrentTangent, hidden, hidden, v1, v10)", result.Output);
    }

    [Fact]
    public void TrainWritesResultsAndLoadableWeights()
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        var result = CliRunner.Run(_dir.Path, "train", "--rule", "bp_oja", "--theta", "t0=0.01,t2=0.001", "--layers", "784,20,10",
            "--samples", "200", "--eval-every", "100", "--order", "file", "--seed", "3", "--data", data, "--out", "results.json", "--save-weights", "w.npz");
        Assert.True(result.ExitCode == 0, result.Error);

        var report = ResultsWriter.ReadJson<System.Text.Json.JsonElement>(_dir.File("results.json"));
        Assert.InRange(report.GetProperty("final_test_accuracy").GetDouble(), 0, 1);
        Assert.True(report.GetProperty("samples_per_second").GetDouble() > 0);
        Assert.True(report.GetProperty("evaluation_images_per_second").GetDouble() > 0);
        Assert.Equal(new[] { 0, 100, 200 }, report.GetProperty("curve").EnumerateArray().Select(p => p.GetProperty("samples").GetInt32()));

        var trained = new Mlp([784, 20, 10]);
        WeightFiles.Load(_dir.File("w.npz"), trained);
        Assert.Contains(trained.Weights[0], w => w != 0);

        // The saved weights are the trained ones: starting from them with --init reproduces the same network.
        var resumed = CliRunner.Run(_dir.Path, "train", "--rule", "bp", "--theta", "t0=0", "--layers", "784,20,10", "--init", "w.npz",
            "--samples", "1", "--eval-every", "1", "--data", data, "--save-weights", "w2.npz");
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        var reloaded = new Mlp([784, 20, 10]);
        WeightFiles.Load(_dir.File("w2.npz"), reloaded);
        Assert.Equal(trained.Weights[1], reloaded.Weights[1]);
    }

    [Fact]
    public void FeedbackAlignmentTrainsAndSavesB()
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        var result = CliRunner.Run(_dir.Path, "train", "--rule", "kolen_pollack", "--theta", "t0=0.01,t3=0.001", "--feedback", "fa", "--layers", "784,20,10",
            "--samples", "50", "--eval-every", "50", "--data", data, "--save-weights", "fa.npz", "--out", "fa.json");
        Assert.True(result.ExitCode == 0, result.Error);
        var network = new Mlp([784, 20, 10], Activation.Softplus, FeedbackMode.Random);
        Assert.True(WeightFiles.Load(_dir.File("fa.npz"), network));
        Assert.Equal("fa", ResultsWriter.ReadJson<System.Text.Json.JsonElement>(_dir.File("fa.json")).GetProperty("feedback").GetString());

        var symmetric = CliRunner.Run(_dir.Path, "train", "--rule", "kolen_pollack", "--theta", "t0=0.01,t3=0.001", "--data", data);
        Assert.Equal(1, symmetric.ExitCode);
        Assert.Contains("--feedback fa", symmetric.Error);
        var unknown = CliRunner.Run(_dir.Path, "train", "--rule", "bp", "--theta", "t0=0.01", "--feedback", "transpose");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("--feedback: `transpose` is not one of sym, fa", unknown.Error);
    }

    [Fact]
    public void TrainRunsARecurrentRuleAndItsWeightsLoadBackWithInit()
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        var result = CliRunner.Run(_dir.Path, "train", "--rule", "bptt_oja", "--theta", "t1=-0.001,t2=0.0001", "--hidden", "8",
            "--samples", "60", "--eval-every", "30", "--order", "file", "--seed", "3", "--data", data, "--out", "rnn.json", "--save-weights", "rnn.npz");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.StartsWith("bptt_oja: test accuracy ", result.Output);

        var report = ResultsWriter.ReadJson<System.Text.Json.JsonElement>(_dir.File("rnn.json"));
        Assert.Equal(new[] { 784, 8, 10 }, report.GetProperty("layers").EnumerateArray().Select(n => n.GetInt32()));
        Assert.Equal("rnn", report.GetProperty("feedback").GetString());
        Assert.Equal("tanh", report.GetProperty("activation").GetString());
        Assert.Equal(3UL, report.GetProperty("seed").GetUInt64());
        Assert.Equal(50, report.GetProperty("recurrent").GetProperty("steps").GetInt32());
        Assert.Equal(0.001f, report.GetProperty("recurrent").GetProperty("gradient_rate").GetSingle());
        Assert.Equal(new[] { 0, 30, 60 }, report.GetProperty("curve").EnumerateArray().Select(p => p.GetProperty("samples").GetInt32()));

        var trained = new Runtime.Recurrent.RecurrentNetwork(784, 8, 10);
        WeightFiles.Load(_dir.File("rnn.npz"), trained);
        var initial = new Runtime.Recurrent.RecurrentNetwork(784, 8, 10);
        initial.Initialize(InitScheme.Xavier, 3);
        Assert.NotEqual(initial.RecurrentWeights, trained.RecurrentWeights);
        Assert.NotEqual(initial.ReadoutWeights, trained.ReadoutWeights);

        // With every rate zero a step changes nothing, so the weights a run started from --init ends with are those it read.
        var restarted = CliRunner.Run(_dir.Path, "train", "--rule", "bptt", "--theta", "t1=0", "--hidden", "8", "--init", "rnn.npz",
            "--samples", "1", "--eval-every", "1", "--data", data, "--save-weights", "rnn2.npz");
        Assert.True(restarted.ExitCode == 0, restarted.Error);
        var reloaded = new Runtime.Recurrent.RecurrentNetwork(784, 8, 10);
        WeightFiles.Load(_dir.File("rnn2.npz"), reloaded);
        Assert.Equal(trained.RecurrentWeights, reloaded.RecurrentWeights);
        Assert.Equal(trained.InputWeights, reloaded.InputWeights);
        Assert.Equal(trained.ReadoutWeights, reloaded.ReadoutWeights);

        Assert.Contains("array Wh has shape (8, 8) but the recurrent network 784-9-10 needs (9, 9)",
            CliRunner.Run(_dir.Path, "train", "--rule", "bptt", "--theta", "t1=0", "--hidden", "9", "--init", "rnn.npz", "--samples", "1", "--data", data).Failure(1));
    }

    [Fact]
    public void TrainRefusesTheOptionsOfTheOtherNetworkKind()
    {
        string layers = CliRunner.Run(_dir.Path, "train", "--rule", "bptt_oja", "--theta", "t1=-0.001,t2=0.0001", "--layers", "784,20,10").Failure(2);
        Assert.Contains("--layers does not apply: `bptt_oja` is a recurrent rule", layers);
        Assert.Contains("--hidden", layers);
        Assert.Contains("--feedback does not apply", CliRunner.Run(_dir.Path, "train", "--rule", "bptt", "--theta", "t1=-0.001", "--feedback", "fa").Failure(2));
        Assert.Contains("--hidden does not apply: `bp` is a layer rule", CliRunner.Run(_dir.Path, "train", "--rule", "bp", "--theta", "t0=0.01", "--hidden", "8").Failure(2));
    }

    [Fact]
    public void TrainRejectsCoefficientsTheRuleDoesNotUse()
    {
        var result = CliRunner.Run(_dir.Path, "train", "--rule", "bp", "--theta", "t0=0.01,t2=0.1");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("rule `bp` does not use t2", result.Error);
    }

    [Fact]
    public void DivergenceStopsWithLayerAndStep()
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        var result = CliRunner.Run(_dir.Path, "train", "--rule", "bp", "--theta", "t0=1e30", "--layers", "784,20,10", "--samples", "50", "--data", data);
        Assert.Equal(1, result.ExitCode);
        Assert.Matches(@"training diverged: [Wz]_\d has a non-finite value after step \d+", result.Error);
    }

    [Fact]
    public void TruncatedDataFileIsNamed()
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        string labels = Path.Combine(data, MnistData.TrainLabelsFile);
        File.WriteAllBytes(labels, File.ReadAllBytes(labels)[..100]);
        var result = CliRunner.Run(_dir.Path, "train", "--rule", "bp", "--theta", "t0=0.01", "--layers", "784,20,10", "--samples", "10", "--data", data);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(MnistData.TrainLabelsFile, result.Error);
        Assert.DoesNotContain("   at ", result.Error);
    }
}
