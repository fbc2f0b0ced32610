using PlasticityDsl.Rules;
using System.CommandLine;
using System.Text.Json;
using PlasticityDsl.Cli.Commands;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.MetaLearning;
using PlasticityDsl.Tests.Cli;
using PlasticityDsl.Tests.Data;
using Xunit;

namespace PlasticityDsl.Tests.MetaLearning;

/// <summary>
/// <c>plasticity meta gradient</c> and the episode file it reads. No built-in rule has a tangent kernel yet, so the
/// successful path runs the command in-process with the test oracle injected as its rule lookup; the failures run the
/// real program.
/// </summary>
public sealed class MetaCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Episode(string json)
    {
        string path = _dir.File("episode.json");
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>Runs <c>meta gradient</c> in-process for <paramref name="rule"/> on a fresh 784-12-10 feedback-alignment network
    /// and synthetic data, and the engine <see cref="MetaGradient"/> picks (reverse mode: the rules here have adjoints) on the
    /// same episode with the same θ: the command's report, and the engine's result
    /// and gradient along each of the rule's coefficients.</summary>
    private (JsonDocument Report, EpisodeResult Engine, double[] Gradient) GradientBesideTheEngine(IDifferentiableRule rule, string thetaOption, float[] theta,
        ulong seed, int[] train, int[] query)
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        var network = new Mlp([784, 12, 10], Activation.Softplus, FeedbackMode.Random);
        network.Initialize(InitScheme.Xavier, seed);
        WeightFiles.Write(_dir.File("init.npz"), network);
        string episode = Episode(JsonSerializer.Serialize(new { train, query }));
        string output = _dir.File("grad.json");
        var root = new RootCommand { MetaCommand.Create() };
        int exit = root.Parse(["meta", "gradient", "--rule", rule.Name, "--feedback", "fa", "--layers", "784,12,10", "--init", _dir.File("init.npz"),
            "--theta", thetaOption, "--episode", episode, "--out", output, "--data", data]).Invoke();
        Assert.Equal(0, exit);

        (Dataset images, _) = MnistData.Load(data);
        var gradient = new double[rule.Coefficients.Count];
        EpisodeResult result = MetaGradient.Run(network, rule, rule.Coefficients.ToArray(), theta, images.Images, images.Labels, train, query, gradient);
        return (JsonDocument.Parse(File.ReadAllBytes(output)), result, gradient);
    }

    [Fact]
    public void Gradient_writes_the_engines_query_loss_and_a_gradient_entry_per_coefficient()
    {
        (JsonDocument report, EpisodeResult result, double[] expected) = GradientBesideTheEngine(Eq9Rule.Instance,
            "t0=0.05,t1=0.01,t2=0.02,t3=0.001,t4=0.03,t9=-0.001", [0.05f, 0.01f, 0.02f, 0.001f, 0.03f, 0, 0, 0, 0, -0.001f], 3,
            [5, 17, 3, 250, 9, 11, 10150, 2], [7, 8, 1000]);
        using (report)
        {
            Assert.Equal(result.QueryLoss, report.RootElement.GetProperty("query_loss").GetDouble());
            JsonElement gradient = report.RootElement.GetProperty("gradient");
            int[] directions = [0, 1, 2, 3, 4, 9];
            Assert.Equal(["t0", "t1", "t2", "t3", "t4", "t9"], gradient.EnumerateObject().Select(p => p.Name));
            for (int d = 0; d < directions.Length; d++)
            {
                Assert.Equal(expected[d], gradient.GetProperty("t" + directions[d]).GetDouble());
            }
            Assert.Contains(expected, g => g != 0);
        }
    }

    /// <summary>examples/rules/pool.rule, the predecessor's seventeen candidate terms in one rule, is differentiable and
    /// its meta-gradient comes out for every one of its coefficients, equal to the engine's.</summary>
    [Fact]
    public void Gradient_runs_on_the_predecessors_candidate_pool()
    {
        Assert.IsAssignableFrom<IDifferentiableRule>(PoolRule.Instance);
        string[] names = ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "f10", "f11", "f12", "f13", "f14", "f15", "f16", "c"];
        Assert.Equal(names, PoolRule.Instance.Coefficients.Select(k => PoolRule.Instance.CoefficientName(k)));
        var theta = new float[18];
        (theta[0], theta[3], theta[12], theta[16], theta[17]) = (0.05f, 0.01f, 0.02f, -0.001f, 0.5f);

        (JsonDocument report, EpisodeResult result, double[] expected) = GradientBesideTheEngine(PoolRule.Instance,
            "t0=0.05,t1=0,t2=0,t3=0.01,t4=0,t5=0,t6=0,t7=0,t8=0,t9=0,f12=0.02,f16=-0.001", theta, 5, [5, 17, 3, 250, 9, 11], [7, 8, 1000]);
        using (report)
        {
            Assert.Equal(result.QueryLoss, report.RootElement.GetProperty("query_loss").GetDouble());
            JsonElement gradient = report.RootElement.GetProperty("gradient");
            Assert.Equal(names, gradient.EnumerateObject().Select(p => p.Name));
            for (int d = 0; d < names.Length; d++) Assert.Equal(expected[d], gradient.GetProperty(names[d]).GetDouble());
        }

        Assert.All(expected, g => Assert.True(double.IsFinite(g)));
        Assert.True(expected.Count(g => g != 0) >= 10, "most candidate terms move the query loss");
    }

    [Fact]
    public void An_index_past_the_training_images_is_an_error_naming_the_episode_file()
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        string episode = Episode("""{"train": [0, 1], "query": [10200]}""");
        var root = new RootCommand { MetaCommand.Create() };
        int exit = root.Parse(["meta", "gradient", "--rule", "eq9", "--feedback", "fa", "--layers", "784,12,10",
            "--theta", "t0=0.05,t1=0.01,t2=0.02,t3=0.001,t4=0.03,t9=-0.001", "--episode", episode, "--out", _dir.File("grad.json"), "--data", data])
            .Invoke();
        Assert.Equal(1, exit); // DataFileException (its message is checked on EpisodeFile.CheckRange below)
        Assert.False(File.Exists(_dir.File("grad.json")));
    }

    [Fact]
    public void A_rule_without_a_tangent_kernel_is_a_clear_usage_error()
    {
        Episode("""{"train": [0, 1], "query": [2]}""");
        File.WriteAllText(_dir.File("logged.rule"), "dW = -t0*log(sq(t1) + 1)*e_l*y_<l-1>'\n");
        var result = CliRunner.Run(_dir.Path, "meta", "gradient", "--rule", "logged.rule", "--theta", "t0=0.01,t1=0.5",
            "--episode", "episode.json", "--out", "grad.json");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("rule `logged` has no tangent kernel, so its meta-gradient cannot be computed in forward mode: `log` has no derivative the language can write (it needs a division)", result.Error);
        Assert.False(File.Exists(_dir.File("grad.json")));
    }

    [Theory]
    [InlineData("--learn", "t0,t7", "--learn: rule `eq9` does not use t7")]
    [InlineData("--learn", "t0,t0", "--learn: t0 is listed twice")]
    [InlineData("--bound", "t3=0.1:0", "--bound: t3's minimum 0.1 is above its maximum 0")]
    [InlineData("--bound", "t3", "--bound: `t3` is not of the form NAME=MIN:MAX")]
    [InlineData("--episodes", "0", "--episodes must be at least 1")]
    public void Meta_train_refuses_bad_settings_before_loading_data(string option, string value, string message)
    {
        var result = CliRunner.Run(_dir.Path, "meta", "train", "--rule", "eq9", "--feedback", "fa", option, value, "--data", _dir.File("nowhere"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Error);
    }

    [Fact]
    public void Meta_train_refuses_to_write_the_learned_rule_over_the_rule_it_learns()
    {
        File.WriteAllText(_dir.File("mine.rule"), "dW = -t0*e_l*y_<l-1>'\n");
        var result = CliRunner.Run(_dir.Path, "meta", "train", "--rule", "mine.rule", "--write-rule", "mine.rule", "--data", _dir.File("nowhere"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--write-rule", result.Error);
        Assert.Equal("dW = -t0*e_l*y_<l-1>'\n", File.ReadAllText(_dir.File("mine.rule")));
    }

    [Fact]
    public void An_empty_query_list_is_an_error_naming_the_episode_file()
    {
        Episode("""{"train": [0, 1], "query": []}""");
        var result = CliRunner.Run(_dir.Path, "meta", "gradient", "--rule", "eq9", "--feedback", "fa", "--episode", "episode.json", "--out", "grad.json");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("episode.json: the \"query\" list is empty", result.Error);
    }

    [Theory]
    [InlineData("""{"train": [0, 1]}""", "has no \"query\" list of image indices")]
    [InlineData("""{"train": [], "query": [1]}""", "the \"train\" list is empty")]
    [InlineData("""{"train": [0, -1], "query": [1]}""", "train[1] = -1 is not a non-negative whole number")]
    [InlineData("""{"train": [0, 1.5], "query": [1]}""", "train[1] = 1.5 is not a non-negative whole number")]
    [InlineData("""[0, 1]""", "must hold an object")]
    [InlineData("""{"train": [0""", "is not valid JSON")]
    public void Malformed_episode_files_are_data_file_errors(string json, string problem)
    {
        string path = Episode(json);
        var error = Assert.Throws<DataFileException>(() => EpisodeFile.Read(path));
        Assert.Equal(path, error.FilePath);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void Indices_past_the_dataset_are_errors_naming_list_position_and_range()
    {
        EpisodeFile episode = EpisodeFile.Read(Episode("""{"train": [0, 59999], "query": [5, 60000]}"""));
        Assert.Equal([0, 59999], episode.Train);
        var error = Assert.Throws<DataFileException>(() => episode.CheckRange(60000, "the MNIST training set"));
        Assert.Contains("query[1] = 60000 is outside the 60000 images of the MNIST training set (0 … 59999)", error.Message);
    }
}
