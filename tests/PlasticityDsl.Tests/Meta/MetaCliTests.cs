using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Meta;
using PlasticityDsl.Tests.Cli;
using Xunit;

namespace PlasticityDsl.Tests.Meta;

/// <summary>
/// <c>plasticity meta gradient</c>'s failures, and the episode file it reads. No built-in rule has a tangent kernel
/// yet and the CLI cannot load the test oracle, so the successful path is tested on the engine
/// (<see cref="ForwardModeEpisodeTests"/>); an end-to-end CLI test belongs with the first generated tangent kernel.
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
