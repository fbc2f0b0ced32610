using System.Text.Json.Nodes;
using PlasticityDsl.Language;
using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;
using Xunit;
using static PlasticityDsl.Tests.Reliability.FaultInjection;

namespace PlasticityDsl.Tests.Reliability;

/// <summary>Issue 10, "every error is a message, with a consistent exit code" (items 11–13).</summary>
public sealed class ErrorReportingTests(SyntheticMnist mnist) : IClassFixture<SyntheticMnist>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // Item 11 ----------------------------------------------------------------------------------------------

    /// <summary>The exit-code table of docs/reliability.md: 2 for a wrong command line, 1 for a failure of the work.</summary>
    [Fact]
    public void ExitCodesFollowTheTable()
    {
        string missingData = _dir.File("nothing-here");
        Directory.CreateDirectory(missingData);
        (string[] Args, int Code)[] cases =
        [
            (Train(mnist.Directory, "--order", "bogus"), 2),
            (["train", "--rule", "bp", "--theta", "t0=0.01", "--samples", "0", "--data", mnist.Directory], 2),
            (["train", "--no-such-option"], 2),
            (["train", "--rule", "bp", "--theta", "t0=0.01", "--samples", "ten"], 2),
            (["train", "--rule", "no_such_rule"], 2),
            (Train(missingData), 1),
            (["train", "--rule", "bp", "--theta", "t0=1e30", "--layers", "784,20,10", "--samples", "50", "--data", mnist.Directory], 1),
            (["check", _dir.File("no.rule")], 1),
        ];
        foreach (var (args, code) in cases)
        {
            var result = Run(_dir.Path, args);
            Assert.True(code == result.ExitCode, $"plasticity {string.Join(" ", args)}: exit {result.ExitCode}, expected {code}\n{result.Error}");
        }
    }

    public static TheoryData<string, string> BrokenCheckpoints => new()
    {
        { "layers null", """{"spec": {"layers": null}}""" },
        { "theta NaN", """{"spec": {"theta": ["NaN", 0, 0, 0, 0, 0, 0, 0, 0, 0]}}""" },
        { "curve point null", """{"curve": [null]}""" },
        { "training seconds NaN", """{"training_seconds": "NaN"}""" },
        { "spec null", """{"spec": null}""" },
        { "samples beyond target", """{"samples": 99999}""" },
        { "weights file path", """{"weights_file": "../../etc/passwd"}""" },
    };

    [Theory]
    [MemberData(nameof(BrokenCheckpoints))]
    public void ACheckpointIsValidatedFullyBeforeUse(string what, string patch)
    {
        string checkpoint = WriteCheckpoint();
        string path = Path.Combine(checkpoint, RunCheckpoint.FileName);
        JsonNode json = JsonNode.Parse(File.ReadAllText(path))!;
        Merge(json.AsObject(), JsonNode.Parse(patch)!.AsObject());
        File.WriteAllText(path, json.ToJsonString());

        var ex = Assert.Throws<DataFileException>(() => RunCheckpoint.Read(checkpoint));
        Assert.Contains(RunCheckpoint.FileName, ex.Message);
        var result = Run(_dir.Path, "train", "--resume", checkpoint, "--data", mnist.Directory);
        Assert.True(1 == result.ExitCode, what + ": " + result.Error);
    }

    private static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (key, value) in patch.ToArray())
        {
            if (value is JsonObject inner && target[key] is JsonObject existing) Merge(existing, inner);
            else target[key] = value?.DeepClone();
        }
    }

    private string WriteCheckpoint()
    {
        string checkpoint = _dir.File("ck-" + Guid.NewGuid().ToString("N"));
        var train = new Dataset(new float[20 * IdxReader.PixelsPerImage], Enumerable.Range(0, 20).Select(i => (byte)(i % 10)).ToArray());
        var spec = new RunSpec([784, 10, 10], "softplus", "xavier", new float[10] { 0.01f, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 20, SampleOrder.File, 0, 10);
        OnlineRun.Run(spec, GeneratedRules.All.Single(r => r.Name == "bp"), OnlineRun.CreateNetwork(spec), train, train, new RunOptions { CheckpointDirectory = checkpoint });
        return checkpoint;
    }

    // Item 12 ----------------------------------------------------------------------------------------------

    [Fact]
    public void NonFiniteInitialWeightsNameTheFileAndArray()
    {
        var network = new Mlp([784, 20, 10], Activation.Parse("softplus"));
        network.Initialize(InitScheme.Xavier, 1);
        network.Weights[1][7] = float.NaN;
        string path = _dir.File("nan.npz");
        WeightFiles.Write(path, network);
        var result = Run(_dir.Path, Train(mnist.Directory, "--init", path));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("nan.npz", result.Error);
        Assert.Contains("array W2", result.Error);
        Assert.DoesNotContain("learning rate", result.Error);
    }

    [Theory]
    [InlineData("t0=1e-50")]
    [InlineData("t0=-1e-46")]
    public void ACoefficientThatUnderflowsToZeroIsAnError(string theta)
    {
        var result = Run(_dir.Path, "train", "--rule", "bp", "--theta", theta, "--data", mnist.Directory);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("would become 0", result.Error);
    }

    [Theory]
    [InlineData("dW = -1e-999*e_l*y_<l-1>'")]
    [InlineData("dW = -1e-50*e_l*y_<l-1>'")]
    [InlineData("param eta = 1e-60\ndW = -eta*e_l*y_<l-1>'")]
    public void ARuleLiteralThatUnderflowsToZeroIsAnError(string text)
    {
        CompiledRule rule = RuleFrontEnd.Compile("tiny", text);
        // First the literal (a parameter's later uses are then unknown, as for a literal too large).
        Assert.Equal(DiagnosticCode.NumberOutOfRange, rule.Diagnostics[0].Code);
        Assert.Contains("would become 0", rule.Diagnostics[0].Message);
        Assert.True(RuleFrontEnd.Compile("zero", "dW = -0.0e-999*e_l*y_<l-1>'").Succeeded); // a real zero is fine
    }

    [Fact]
    public void AnOutputThatOverflowsWhileTheWeightsStayFiniteIsADivergence()
    {
        var network = new Mlp([784, 10, 10], Activation.Parse("softplus"));
        network.Initialize(InitScheme.Xavier, 1);
        foreach (float[] w in network.Weights) w.AsSpan().Fill(1e37f); // finite, but z overflows
        var learner = new OnlineLearner(network);
        var x = new float[784];
        x.AsSpan().Fill(1f);
        IPlasticityRule hebbian = GeneratedRules.All.First(r => (r.Signals & (RuleSignals.PostError | RuleSignals.PreError | RuleSignals.Feedback | RuleSignals.FeedbackUpdate)) == 0);
        var ex = Assert.Throws<TrainingDivergedException>(() => learner.Step(x, 3, hebbian, new float[RunSpec.CoefficientCount + hebbian.Parameters.Count]));
        Assert.StartsWith("z_", ex.Matrix);
        Assert.Equal(1, ex.Step);
    }

    [Fact]
    public void CheckOfADirectoryWithoutRulesFails()
    {
        string empty = _dir.File("empty");
        Directory.CreateDirectory(empty);
        var result = Run(_dir.Path, "check", empty);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no .rule files", result.Error);
    }

    [Fact]
    public void AHugeIdentifierIsTruncatedInMessages()
    {
        string name = new('x', 200_000);
        CompiledRule rule = RuleFrontEnd.Compile("r", $"dW = -t0*{name}\n");
        string line = Assert.Single(rule.Diagnostics).Format("r.rule");
        Assert.True(line.Length < 1000, $"{line.Length} characters");
        Assert.Contains("200000 characters", line);
    }

    // Item 13 ----------------------------------------------------------------------------------------------

    [Fact]
    public void ResumeRefusesConflictingSettingsAcceptsEqualOnesAndContinuesToTheOriginalTarget()
    {
        string checkpoint = _dir.File("ck");
        Assert.Equal(0, Run(_dir.Path, Train(mnist.Directory, "--checkpoint", checkpoint, "--seed", "3")).ExitCode);

        foreach (string[] conflict in new[] { new[] { "--seed", "4" }, ["--layers", "784,30,10"], ["--order", "file"], ["--theta", "t0=0.02"] })
        {
            var refused = Run(_dir.Path, ["train", "--resume", checkpoint, .. conflict]);
            Assert.True(2 == refused.ExitCode, string.Join(" ", conflict) + ": " + refused.Error);
            Assert.Contains(conflict[0], refused.Error);
        }

        // Equal values are accepted, and without --samples the run's own target (20) is kept, not the default 5000.
        var equal = Run(_dir.Path, "train", "--resume", checkpoint, "--seed", "3", "--layers", "784,20,10", "--theta", "t0=0.01");
        Assert.True(0 == equal.ExitCode, equal.Error);
        Assert.Contains("after 20 samples", equal.Output);
        Assert.Contains("(from the checkpoint)", equal.Error);
        Assert.DoesNotContain("(from --data)", equal.Error);
    }
}
