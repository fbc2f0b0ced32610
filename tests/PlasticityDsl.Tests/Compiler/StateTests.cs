using PlasticityDsl.Language;
using PlasticityDsl.Language.Lowering;
using PlasticityDsl.Runtime;
using PlasticityDsl.Compiler;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Rules;
using Xunit;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>Per-layer state (<c>state NAME = LITERAL</c>, <c>dNAME = …</c>): shapes inferred from the update, located
/// errors, the kernel against a direct computation, and the state's life in a network (reset, saved, restored).</summary>
public sealed class StateTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("state th = 1\ndth = t5*(sq(y_l) - th)\ndW = t2*(y_l .* (y_l - th))*y_<l-1>'", "th [n_l] from 1")]
    [InlineData("state m = -0.5\ndm = t5*(sum(y_<l-1>) - m)\ndW = t2*m*W", "m [1] from -0.5")]
    [InlineData("state c = 0\ndc = t5*(y_<l-1> - c)\ndW = t2*y_l*(y_<l-1> - c)'", "c [n_<l-1>] from 0")]
    public void A_states_shape_is_inferred_from_its_update(string text, string stated)
    {
        CompiledRule compiled = RuleFrontEnd.Compile("s", text);
        Assert.True(compiled.Succeeded, string.Join("\n", compiled.Diagnostics.Select(d => d.Format("s.rule"))));
        Assert.Single(compiled.Model!.Plan.States);
        Assert.Contains("State per layer, updated after the weights from the values before this step: " + stated + ".",
            Language.Emit.KernelEmitter.Emit(compiled.Model).Replace("&lt;", "<").Replace("&gt;", ">"));
        Assert.Null(compiled.Model.Tangent);
        Assert.Contains("per-layer state", compiled.Model.NotDifferentiable);
    }

    [Theory]
    [InlineData("state th = 1\ndW = t2*(y_l .* (y_l - th))*y_<l-1>'", DiagnosticCode.StateWithoutUpdate, "th")]
    // th is n_(l-1) by its update, but the weight update reads it beside y_l.
    [InlineData("state th = 1\ndth = t5*(y_<l-1> - th)\ndW = t2*(y_l .* (y_l - th))*y_<l-1>'", DiagnosticCode.StateShapeMismatch, "t5*(y_<l-1> - th)")]
    [InlineData("state th = 1\ndth = t5*W\ndW = t2*th*W", DiagnosticCode.StateShapeMismatch, "t5*W")]
    [InlineData("state y_l = 1\ndW = t2*W", DiagnosticCode.StateNameClash, "y_l")]
    [InlineData("param th = 1\nstate th = 1\ndth = th\ndW = t2*W", DiagnosticCode.StateNameClash, "th")]
    [InlineData("state th = 1\nstate th = 2\ndth = th\ndW = t2*th*W", DiagnosticCode.StateNameClash, "th")]
    [InlineData("state th = 1\ndth = t5*th\ndth = th\ndW = t2*th*W", DiagnosticCode.DuplicateTarget, "dth")]
    [InlineData("state th = 1\ndth = t5*tril(y_l*y_l')*y_l\ndW = t2*W", DiagnosticCode.UnsupportedTriangular, "tril(y_l*y_l')")]
    [InlineData("state h = 1\ndWh = t1*Wh\ndh = h", DiagnosticCode.StateNameClash, "h")]
    public void State_mistakes_are_located(string text, DiagnosticCode code, string at)
    {
        CompiledRule compiled = RuleFrontEnd.Compile("s", text);
        RuleDiagnostic diagnostic = Assert.Single(compiled.Diagnostics);
        Assert.Equal(code, diagnostic.Code);
        Assert.Equal(at, text.Substring(diagnostic.Span.Start, diagnostic.Span.Length));
        ParserTests.AssertConsistent(diagnostic.Span, text);
    }

    [Fact]
    public void An_update_of_a_state_gives_its_shape_and_its_uses_the_rest()
    {
        CompiledRule compiled = RuleFrontEnd.Compile("s", "state th = 1\ndth = t5*(y_<l-1> - th)\ndW = t2*(y_l .* (y_l - th))*y_<l-1>'");
        Assert.Equal("`dth` gives the state `th` the shape [n_<l-1> × 1], but its uses read it as [n_l × 1]", Assert.Single(compiled.Diagnostics).Message);
    }

    /// <summary>One step of a rule with a column and a scalar state, compiled at run time, against the same step written
    /// out in double precision: every update (W's and both states') reads the values from before the step.</summary>
    [Fact]
    public void The_kernel_updates_weights_and_states_from_the_values_before_the_step()
    {
        IPlasticityRule rule = RuleCompiler.Compile(
            "state th = 0.5\nstate m = 2\ndth = t5*(sq(y_l) - th)\ndm = t6*(sum(y_<l-1>) - m*m)\ndW = t2*(y_l .* (y_l - th))*y_<l-1>' - t3*m*W", "two_states");
        const int rows = 3, columns = 4;
        Assert.Equal(rows + 1, rule.StateLength(rows, columns));
        var random = new DeterministicRandom(7);
        float[] Draw(int n) => Enumerable.Range(0, n).Select(_ => (float)random.NextDouble(-1, 1)).ToArray();
        float[] w = Draw(rows * columns), y = Draw(rows), x = Draw(columns);
        var state = new float[rule.StateLength(rows, columns)];
        rule.InitializeState(state, rows, columns);
        Assert.Equal(new[] { 0.5f, 0.5f, 0.5f, 2f }, state);
        state[1] = 0.25f;
        float[] theta = new float[10];
        (theta[2], theta[3], theta[5], theta[6]) = (0.1f, 0.05f, 0.3f, 0.2f);
        float[] w0 = (float[])w.Clone(), s0 = (float[])state.Clone();

        var layer = new LayerSignals(w, default, rows, columns, y, x, y, default, default, null) { State = state };
        rule.Apply(in layer, theta, new float[rule.ScratchLength(rows, columns)]);

        double m = s0[rows];
        for (int i = 0; i < rows; i++)
        {
            Assert.Equal(s0[i] + 0.3 * (y[i] * (double)y[i] - s0[i]), state[i], 5);
            for (int j = 0; j < columns; j++)
            {
                double expected = w0[i * columns + j] + 0.1 * y[i] * (y[i] - (double)s0[i]) * x[j] - 0.05 * m * w0[i * columns + j];
                Assert.Equal(expected, w[i * columns + j], 5);
            }
        }

        Assert.Equal(m + 0.2 * (x.Sum(v => (double)v) - m * m), state[rows], 5);
        Assert.Throws<ArgumentException>(() => rule.Apply(new LayerSignals(w, default, rows, columns, y, x, y, default, default, null), theta,
            new float[rule.ScratchLength(rows, columns)]));
    }

    /// <summary>In a network the state is sized and set by the first step, saved in the weights file, restored with a
    /// checkpoint's weights and reset by new ones (<c>--init</c>).</summary>
    [Fact]
    public void A_networks_state_starts_at_its_initial_values_and_is_saved_and_restored_with_the_weights()
    {
        var network = new Mlp([8, 3, 2], Activation.Relu);
        network.Initialize(InitScheme.Xavier, 1);
        Assert.All(network.State, s => Assert.Empty(s));
        var learner = new OnlineLearner(network, BcmRule.Instance);
        float[] theta = new float[10];
        (theta[2], theta[5]) = (0.01f, 0.1f);
        var random = new DeterministicRandom(2);
        var x = new float[8];
        for (int step = 0; step < 20; step++)
        {
            for (int j = 0; j < x.Length; j++) x[j] = (float)random.NextDouble();
            learner.Step(x, 0, BcmRule.Instance, theta);
        }

        Assert.Equal(new[] { 3, 2 }, network.State.Select(s => s.Length));
        Allocations.AssertNone(() =>
        {
            for (int step = 0; step < 50; step++) learner.Step(x, 0, BcmRule.Instance, theta);
        });
        Assert.Contains(network.State[0], th => th != 1f);
        string path = _dir.File("w.npz");
        WeightFiles.Write(path, network);

        var restored = new Mlp([8, 3, 2], Activation.Relu);
        WeightFiles.Load(path, restored, withState: true);
        Assert.Equal(network.State, restored.State);
        var fresh = new Mlp([8, 3, 2], Activation.Relu);
        WeightFiles.Load(path, fresh);
        Assert.All(fresh.State, s => Assert.Empty(s));
        new OnlineLearner(fresh, BcmRule.Instance).Step(x, 0, BcmRule.Instance, theta);
        Assert.Equal(3, fresh.State[0].Length);
    }
}
