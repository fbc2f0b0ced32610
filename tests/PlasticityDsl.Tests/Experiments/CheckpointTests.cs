using System.Text.Json;
using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.Reporting;
using PlasticityDsl.Tests.Cli;
using PlasticityDsl.Tests.Data;
using Xunit;

namespace PlasticityDsl.Tests.Experiments;

/// <summary>A run stopped (or killed) and resumed ends bit-identical to one that never stopped.</summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Dataset SyntheticData(int count, ulong seed)
    {
        var random = new DeterministicRandom(seed);
        var images = new float[count * IdxReader.PixelsPerImage];
        for (int i = 0; i < images.Length; i++) images[i] = (float)random.NextDouble();
        return new Dataset(images, Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray());
    }

    [Theory]
    [InlineData("bp_oja", "sym")]
    [InlineData("eq9", "fa")] // plastic B: the checkpoint must carry it
    [InlineData("bcm", "sym")] // per-layer state (BCM's thresholds, rate t5): so must it
    public void StoppedAndResumedRunEqualsAnUninterruptedOne(string ruleName, string feedback)
    {
        IPlasticityRule rule = GeneratedRules.All.Single(r => r.Name == ruleName);
        var theta = new float[10];
        theta[0] = 0.01f; theta[2] = 1e-4f; theta[4] = 1e-3f; theta[5] = 0.05f; theta[9] = -1e-4f;
        Dataset train = SyntheticData(300, 1), test = SyntheticData(40, 2);
        var spec = new RunSpec([784, 30, 20, 10], "softplus", "xavier", theta, 500, SampleOrder.Shuffle, 7, 100, FeedbackModes.Parse(feedback));

        Mlp uninterrupted = OnlineRun.CreateNetwork(spec);
        RunResult whole = OnlineRun.Run(spec, rule, uninterrupted, train, test);

        string directory = _dir.File("checkpoint");
        RunSpec firstPart = spec with { Samples = 300 };
        OnlineRun.Run(firstPart, rule, OnlineRun.CreateNetwork(firstPart), train, test, new RunOptions { CheckpointDirectory = directory });
        RunCheckpoint checkpoint = RunCheckpoint.Read(directory);
        Assert.Equal(300, checkpoint.Samples);
        RunSpec resumedSpec = checkpoint.ResumedSpec(500);
        Mlp resumed = OnlineRun.CreateNetwork(resumedSpec, checkpoint);
        RunResult rest = OnlineRun.Run(resumedSpec, rule, resumed, train, test, new RunOptions { ResumeFrom = checkpoint });

        for (int l = 0; l < uninterrupted.LayerCount; l++)
        {
            Assert.Equal(uninterrupted.Weights[l], resumed.Weights[l]);
            Assert.Equal(uninterrupted.Feedback.ElementAtOrDefault(l), resumed.Feedback.ElementAtOrDefault(l));
            Assert.Equal(uninterrupted.State[l], resumed.State[l]);
            Assert.Equal(rule.StateLength(spec.Layers[l + 1], spec.Layers[l]), resumed.State[l].Length);
        }
        Assert.Equal(whole.Curve, rest.Curve);
        Assert.Single(Directory.GetFiles(directory, "*.npz")); // older weights files are removed once unreferenced
    }

    [Fact]
    public void ResumeRefusesAnotherRuleOrOtherSettings()
    {
        IPlasticityRule bp = GeneratedRules.All.Single(r => r.Name == "bp");
        var theta = new float[10];
        theta[0] = 0.01f;
        Dataset train = SyntheticData(50, 1), test = SyntheticData(10, 2);
        var spec = new RunSpec([784, 10], "softplus", "xavier", theta, 20, SampleOrder.File, 1, 10);
        string directory = _dir.File("checkpoint");
        OnlineRun.Run(spec, bp, OnlineRun.CreateNetwork(spec), train, test, new RunOptions { CheckpointDirectory = directory });
        RunCheckpoint checkpoint = RunCheckpoint.Read(directory);

        IPlasticityRule oja = GeneratedRules.All.Single(r => r.Name == "bp_oja");
        Assert.Contains("rule 'bp'", Assert.Throws<ArgumentException>(() => checkpoint.CheckResumable(spec with { Samples = 40 }, oja)).Message);
        Assert.Contains("different settings", Assert.Throws<ArgumentException>(() => checkpoint.CheckResumable(spec with { Samples = 40, Seed = 2 }, bp)).Message);
        Assert.Throws<ArgumentException>(() => checkpoint.ResumedSpec(10));
        File.WriteAllText(Path.Combine(directory, RunCheckpoint.FileName), "{ not json");
        Assert.Contains(RunCheckpoint.FileName, Assert.Throws<DataFileException>(() => RunCheckpoint.Read(directory)).Message);
    }

    [Fact]
    public async Task KilledRunResumesBitIdentically()
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        string[] settings = ["train", "--rule", "bp_oja", "--theta", "t0=0.01,t2=0.0001", "--layers", "784,64,32,10", "--eval-every", "100", "--data", data];

        // Long enough that it is still running when killed; it checkpoints every 100 samples.
        using (var run = CliRunner.Start(_dir.Path, [.. settings, "--samples", "1000000", "--checkpoint", "ck"]))
        {
            _ = run.StandardOutput.ReadToEndAsync();
            Task<string> error = run.StandardError.ReadToEndAsync();
            string json = Path.Combine(_dir.Path, "ck", RunCheckpoint.FileName);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!(File.Exists(json) && SamplesIn(json) >= 300))
            {
                if (run.HasExited) Assert.Fail("the run ended before it could be killed: " + await error);
                Assert.True(DateTime.UtcNow < deadline, "no checkpoint after 60 s");
                await Task.Delay(20);
            }
            run.Kill(entireProcessTree: true);
            await run.WaitForExitAsync();
        }

        int killedAt = RunCheckpoint.Read(_dir.File("ck")).Samples;
        int target = killedAt + 250;
        // No --data: the checkpoint says where the run's data was (the runner hides the real MNIST cache).
        var resumed = CliRunner.Run(_dir.Path, "train", "--resume", "ck", "--samples", target.ToString(System.Globalization.CultureInfo.InvariantCulture), "--save-weights", "resumed.npz");
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        var straight = CliRunner.Run(_dir.Path, [.. settings, "--samples", target.ToString(System.Globalization.CultureInfo.InvariantCulture), "--save-weights", "straight.npz"]);
        Assert.True(straight.ExitCode == 0, straight.Error);

        Assert.Equal(File.ReadAllBytes(_dir.File("straight.npz")), File.ReadAllBytes(_dir.File("resumed.npz")));
        Assert.Equal(target, RunCheckpoint.Read(_dir.File("ck")).Samples);
    }

    [Fact]
    public void StoppedAndResumedRecurrentRunEqualsAnUninterruptedOneThroughTheCli()
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        string[] settings = ["train", "--rule", "bptt_oja", "--theta", "t1=-0.001,t2=0.0001", "--hidden", "8", "--eval-every", "20", "--seed", "5", "--data", data];

        var first = CliRunner.Run(_dir.Path, [.. settings, "--samples", "40", "--checkpoint", "ck"]);
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.NotNull(RunCheckpoint.Read(_dir.File("ck")).Recurrent);
        var resumed = CliRunner.Run(_dir.Path, "train", "--resume", "ck", "--samples", "80", "--save-weights", "resumed.npz", "--out", "resumed.json");
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        var straight = CliRunner.Run(_dir.Path, [.. settings, "--samples", "80", "--save-weights", "straight.npz", "--out", "straight.json"]);
        Assert.True(straight.ExitCode == 0, straight.Error);

        Assert.Equal(File.ReadAllBytes(_dir.File("straight.npz")), File.ReadAllBytes(_dir.File("resumed.npz")));
        Assert.Equal(Curve("straight.json"), Curve("resumed.json"));
        Assert.Equal(80, RunCheckpoint.Read(_dir.File("ck")).Samples);

        // The checkpoint fixes the network: another n_h, or an MLP's option, is refused before anything runs.
        Assert.Contains("--hidden: the checkpoint in ck was made with --hidden 8", CliRunner.Run(_dir.Path, "train", "--resume", "ck", "--samples", "100", "--hidden", "9").Failure(2));
        Assert.Contains("--layers does not apply: `bptt_oja` is a recurrent rule", CliRunner.Run(_dir.Path, "train", "--resume", "ck", "--samples", "100", "--layers", "784,8,10").Failure(2));
        Assert.Contains("is of a recurrent network", CliRunner.Run(_dir.Path, "train", "--resume", "ck", "--rule", "bp", "--samples", "100").Failure(1));
        Assert.Equal(80, RunCheckpoint.Read(_dir.File("ck")).Samples);
    }

    private string Curve(string report) => ResultsWriter.ReadJson<JsonElement>(_dir.File(report)).GetProperty("curve").GetRawText();

    // Reads the JSON the run may be replacing at this moment: the rename is atomic, so the file is always whole.
    private static int SamplesIn(string path) =>
        ResultsWriter.ReadJson<JsonElement>(path).GetProperty("samples").GetInt32();
}
