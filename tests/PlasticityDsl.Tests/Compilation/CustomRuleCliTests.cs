using Xunit;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Reporting;
using PlasticityDsl.Tests.Cli;
using PlasticityDsl.Tests.Data;

namespace PlasticityDsl.Tests.RuleCompilation;

/// <summary>End-to-end: <c>plasticity train/grid --rule path/to/any.rule</c> compiles the file at run time.</summary>
public sealed class CustomRuleCliTests : IDisposable
{
    private const string BpOja = "dW = -t0*e_l*y_<l-1>' + t2*(y_l*y_<l-1>' - (y_l*y_l')*W)";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Train_compiles_a_custom_rule_file_and_matches_the_built_in_kernel()
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        Directory.CreateDirectory(_dir.File("mine"));
        File.WriteAllText(_dir.File(Path.Combine("mine", "my_oja.rule")), "# bp_oja, written by a user\n" + BpOja + "\n");
        string[] common = ["--theta", "t0=0.01,t2=0.001", "--layers", "784,20,10", "--samples", "200", "--eval-every", "100", "--order", "file", "--seed", "3", "--data", data];

        var custom = CliRunner.Run(_dir.Path, ["train", "--rule", "mine/my_oja.rule", .. common, "--out", "custom.json"]);
        Assert.True(custom.ExitCode == 0, custom.Error);
        Assert.Contains("my_oja: test accuracy", custom.Output, StringComparison.Ordinal);
        var builtIn = CliRunner.Run(_dir.Path, ["train", "--rule", "bp_oja", .. common, "--out", "builtin.json"]);
        Assert.True(builtIn.ExitCode == 0, builtIn.Error);

        var a = ResultsWriter.ReadJson<System.Text.Json.JsonElement>(_dir.File("custom.json"));
        var b = ResultsWriter.ReadJson<System.Text.Json.JsonElement>(_dir.File("builtin.json"));
        Assert.Equal("my_oja", a.GetProperty("rule").GetString());
        Assert.Equal(BpOja, a.GetProperty("rule_source").GetString());
        Assert.Equal(b.GetProperty("final_test_accuracy").GetDouble(), a.GetProperty("final_test_accuracy").GetDouble());
        Assert.Equal(b.GetProperty("curve").GetRawText(), a.GetProperty("curve").GetRawText());
    }

    [Fact]
    public void A_meta_learned_rule_file_trains_without_theta()
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        string learned = PlasticityDsl.Language.LearnedRuleWriter.Write(BpOja, new Dictionary<string, float> { ["t0"] = 0.0125f, ["t2"] = 0.001f }, 1e-6f);
        File.WriteAllText(_dir.File("learned.rule"), learned);

        var result = CliRunner.Run(_dir.Path, "train", "--rule", "learned.rule", "--layers", "784,20,10", "--samples", "50", "--eval-every", "25", "--data", data);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("learned: test accuracy", result.Output, StringComparison.Ordinal);
        // A coefficient given to a rule that reads none is still refused.
        var extra = CliRunner.Run(_dir.Path, "train", "--rule", "learned.rule", "--theta", "t0=0.01", "--layers", "784,10", "--samples", "10", "--data", data);
        Assert.Equal(2, extra.ExitCode);
        Assert.Contains("does not use t0; it reads no coefficient", extra.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_existing_file_without_the_extension_is_a_rule_file_too()
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        File.WriteAllText(_dir.File("my_hebb"), "rule my_hebb\ndW = t1*y_l*y_<l-1>' - t3*W\n");
        var result = CliRunner.Run(_dir.Path, "train", "--rule", "my_hebb", "--theta", "t1=0.001,t3=0.01", "--layers", "784,10",
            "--samples", "20", "--eval-every", "10", "--data", data);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("my_hebb: test accuracy", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_broken_rule_file_gives_exit_code_1_and_a_located_diagnostic()
    {
        File.WriteAllText(_dir.File("broken.rule"), "# mine\ndW = -t0*e_l*y_l\n");
        var result = CliRunner.Run(_dir.Path, "train", "--rule", "broken.rule", "--theta", "t0=0.01");
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("broken.rule(2,13): error PDSL1001: cannot multiply", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public void A_syntax_error_in_a_rule_file_is_reported_the_way_check_reports_it()
    {
        File.WriteAllText(_dir.File("syntax.rule"), "dW = (t0*e_l*y_<l-1>'\n");
        var train = CliRunner.Run(_dir.Path, "train", "--rule", "./syntax.rule", "--theta", "t0=0.01");
        var check = CliRunner.Run(_dir.Path, "check", "./syntax.rule");
        Assert.Equal(1, train.ExitCode);
        Assert.Equal(1, check.ExitCode);
        string line = check.Output.Trim();
        Assert.StartsWith("./syntax.rule(", line, StringComparison.Ordinal);
        Assert.Equal(line, train.Error.Trim());
    }

    [Fact]
    public void A_missing_rule_file_is_a_usage_error()
    {
        var result = CliRunner.Run(_dir.Path, "train", "--rule", "nope.rule", "--theta", "t0=0.01");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("`nope.rule`: no such rule file", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_name_lists_the_built_in_rules_and_mentions_files()
    {
        var result = CliRunner.Run(_dir.Path, "train", "--rule", "no_such_rule", "--theta", "t0=0.01");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("no rule named `no_such_rule`; built-in rules: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("bp_oja", result.Error, StringComparison.Ordinal);
        Assert.Contains(".rule file", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Theta_is_checked_against_the_compiled_rule()
    {
        File.WriteAllText(_dir.File("decay.rule"), "dW = -t3*W\n");
        var result = CliRunner.Run(_dir.Path, "train", "--rule", "decay.rule", "--theta", "t0=0.01");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("rule `decay` does not use t0", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Grid_accepts_a_rule_file()
    {
        string data = IdxFiles.WriteSyntheticMnist(_dir.File("mnist"));
        File.WriteAllText(_dir.File("plain_bp.rule"), "dW = -t0*e_l*y_<l-1>'\n");
        var result = CliRunner.Run(_dir.Path, "grid", "--rule", "plain_bp.rule", "--axis", "t0=0.01,0.02", "--layers", "784,10",
            "--samples", "20", "--seeds", "1", "--data", data, "--out", "grid.json");
        Assert.True(result.ExitCode == 0, result.Error);
        var report = ResultsWriter.ReadJson<System.Text.Json.JsonElement>(_dir.File("grid.json"));
        Assert.Equal("plain_bp", report.GetProperty("rule").GetString());
        Assert.Equal(2, report.GetProperty("points").GetArrayLength());
    }
}
