using PlasticityDsl.Tests.Compiler;
using PlasticityDsl.Testing;
using Xunit;

namespace PlasticityDsl.Tests.Testing;

/// <summary>PlasticityDsl.Testing as a user's test calls it: the kernel of a rule file, and Verify's workflow on a
/// snapshot folder of the test's own (a temporary one here).</summary>
public sealed class RuleSnapshotTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Render_is_the_kernel_the_generator_builds()
    {
        ExampleRule bp = ExampleRules.Get("bp_oja");
        var (_, result, _) = GeneratorHarness.Run([GeneratorHarness.Example("bp_oja")]);
        Assert.Equal(result.GeneratedSources.Single(s => s.HintName == "BpOjaRule.g.cs").SourceText.ToString(), RuleSnapshot.Render(bp.Path));
    }

    [Fact]
    public void A_missing_snapshot_fails_writes_the_received_file_and_is_accepted_by_renaming_it()
    {
        string rule = _dir.File("my_rule.rule");
        File.WriteAllText(rule, "dW = -t0*e_l*y_<l-1>'\n");
        string verified = Path.Combine(_dir.Path, $"{nameof(RuleSnapshotTests)}.{nameof(A_missing_snapshot_fails_writes_the_received_file_and_is_accepted_by_renaming_it)}#MyRuleRule.g.verified.cs");
        string received = verified.Replace(".verified.cs", ".received.cs", StringComparison.Ordinal);

        var missing = Assert.Throws<SnapshotMismatchException>(() => RuleSnapshot.Verify(rule, _dir.Path));
        Assert.False(File.Exists(verified));
        Assert.Equal(received, missing.ReceivedPath);
        Assert.Equal(RuleSnapshot.Render(rule), File.ReadAllText(received));
        Assert.Contains("No snapshot", missing.Message);
        Assert.Contains(Snapshot.AcceptVariable + "=1", missing.Message);

        File.Move(received, verified);
        RuleSnapshot.Verify(rule, _dir.Path);
        Assert.False(File.Exists(received));

        File.WriteAllText(rule, "dW = -t1*e_l*y_<l-1>'\n");
        var changed = Assert.Throws<SnapshotMismatchException>(() => RuleSnapshot.Verify(rule, _dir.Path));
        Assert.Contains("First difference at line", changed.Message);
        Assert.True(File.Exists(received));
    }

    [Fact]
    public void A_rule_with_errors_is_reported_in_its_file()
    {
        string rule = _dir.File("broken.rule");
        File.WriteAllText(rule, "dW = e_l*y_<l-1>' + y_l*y_l'\n");
        var error = Assert.Throws<ArgumentException>(() => RuleSnapshot.Render(rule));
        Assert.Contains($"{rule}(1,", error.Message);
        Assert.Contains("error PDSL1002", error.Message);
    }
}
