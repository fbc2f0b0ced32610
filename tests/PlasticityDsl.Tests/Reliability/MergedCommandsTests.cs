using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.MetaLearning;
using PlasticityDsl.Tests.MetaLearning;
using Xunit;
using static PlasticityDsl.Tests.Reliability.FaultInjection;

namespace PlasticityDsl.Tests.Reliability;

/// <summary>Issue 10's guarantees on what came with the merge of main: <c>meta gradient</c>, <c>merge</c>, <c>submit</c>,
/// the sharded sweeps and the forward-mode episode engine.</summary>
public sealed class MergedCommandsTests(SyntheticMnist mnist) : IClassFixture<SyntheticMnist>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string[] Gradient(string episode, string output) =>
        ["meta", "gradient", "--rule", "eq9", "--feedback", "fa", "--layers", "784,12,10",
            "--theta", "t0=0.05,t1=0.01,t2=0.02,t3=0.001,t4=0.03,t9=-0.001", "--episode", episode, "--out", output, "--data", mnist.Directory];

    [Fact]
    public void MetaGradientRefusesAnOutputThatIsItsEpisodeFile()
    {
        string episode = _dir.File("episode.json");
        const string text = """{"train": [0, 1, 2], "query": [3, 4]}""";
        File.WriteAllText(episode, text);
        var result = Run(_dir.Path, Gradient(episode, episode));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--out is the same file as --episode", result.Error);
        Assert.Equal(text, File.ReadAllText(episode));
    }

    [Fact]
    public void MetaGradientRefusesADirectoryOutputBeforeTheRun()
    {
        string episode = _dir.File("episode.json");
        File.WriteAllText(episode, """{"train": [0, 1, 2], "query": [3, 4]}""");
        string directory = _dir.File("grad.json");
        Directory.CreateDirectory(directory);
        var result = Run(_dir.Path, Gradient(episode, directory));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("must be a regular file", result.Error);
        Assert.DoesNotContain("query loss", result.Output);
    }

    [Fact]
    public void MetaGradientReadsOnlyARegularEpisodeFile()
    {
        if (!IsUnix) return;
        string fifo = _dir.File("episode.fifo");
        MakeFifo(fifo);
        var result = Run(_dir.Path, Gradient(fifo, _dir.File("grad.json")));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("not a regular file", result.Error);
    }

    [Fact]
    public void MergeRefusesAnOutputThatIsOneOfItsParts()
    {
        string part = _dir.File("part-0.json");
        File.WriteAllText(part, "{}");
        var result = Run(_dir.Path, "merge", "--out", part, part);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("same file as the part", result.Error);
        Assert.Equal("{}", File.ReadAllText(part));
    }

    [Fact]
    public void SubmitChecksItsWorkDirectoryBeforeSubmitting()
    {
        string file = _dir.File("work");
        File.WriteAllText(file, "not a directory");
        var result = Run(_dir.Path, "submit", "--array", "2", "--work-dir", file, "--",
            "grid", "--rule", "bp", "--axis", "t0=0.01", "--out", "grid.json");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--work-dir must be a directory", result.Error);
        Assert.DoesNotContain("sbatch", result.Error);
    }

    [Fact]
    public void ShardedSweepsRefuseRunCountsBeforeAnyJob()
    {
        IPlasticityRule rule = GeneratedRules.All.First(r => r.Name == "bp");
        var theta = new float[RunSpec.CoefficientCount];
        var comparison = new Comparison("p", [784, 10, 10], [new Arm("a", rule, theta), new Arm("b", rule, theta)]);
        var options = new SweepOptions(SeedSweep.MaxRuns, 10, 10, 0, "xavier", "softplus", SampleOrder.Shuffle, 1);
        Assert.Throws<ArgumentException>(() => SeedSweep.Run(SweepJobs.Local, "s", [comparison], options, null!, null!));
        Assert.Throws<ArgumentException>(() => SeedSweep.Run(SweepJobs.Local, "s", [comparison], options with { Seeds = 0 }, null!, null!));
    }

    [Fact]
    public void SweepJobsAreDecodedFromTheIndex()
    {
        var list = new SweepJobList<string, string>([("p", "a"), ("p", "b")], seeds: 3, firstSeed: 100);
        Assert.Equal(6, list.Length);
        Assert.Equal(("p", "b", 102UL), list[5]);
        Assert.Equal(("p", "a", 101UL), list[1]);
        Assert.Equal([3, 4, 5], list.RunsOf(1, [0, 1, 2, 3, 4, 5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => list[6]);
        // A million seeds cost no job array.
        long allocated = AllocatedBy(() => _ = new SweepJobList<string, string>([("p", "a")], SeedSweep.MaxRuns, 0)[SeedSweep.MaxRuns - 1], out Exception? thrown);
        Assert.Null(thrown);
        Assert.True(allocated < 10_000, $"{allocated} bytes");
    }

    [Fact]
    public void AnEpisodeWhoseOutputOverflowsReportsADivergenceInsteadOfThrowing()
    {
        var network = new Mlp([20, 12, 10], Activation.Parse("softplus"), FeedbackMode.Random);
        network.Initialize(InitScheme.Xavier, 1);
        foreach (float[] w in network.Weights) w.AsSpan().Fill(1e37f); // finite, but z_L overflows
        var engine = new ForwardModeEpisode(network, Eq9Oracle.Full, [0, 3]);
        var x = new float[20];
        x.AsSpan().Fill(1f);
        float[] theta = [0.08f, 0.03f, 0.04f, 0.002f, 0.05f, 0, 0, 0, 0, -0.003f];

        EpisodeDivergence? divergence = engine.Step(x, 3, theta);

        Assert.NotNull(divergence);
        Assert.Equal("z", divergence.Value.Quantity);
        Assert.Equal(1, divergence.Value.Step);
        Assert.Equal(2, divergence.Value.Layer);
        Assert.Equal(-1, divergence.Value.Direction);
        // The plain learner on the same network throws the same divergence from the shared check.
        var ex = Assert.Throws<TrainingDivergedException>(() => new OnlineLearner(network).Step(x, 3, Eq9Oracle.Full, theta));
        Assert.Equal("z_2", ex.Matrix);
    }
}
