using System.Reflection;
using Binder = PlasticityDsl.Language.Binding.Binder;
using PlasticityDsl.Language;
using PlasticityDsl.Language.Binding;
using PlasticityDsl.Language.Emit;
using PlasticityDsl.Language.Syntax;
using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>
/// The full language (dB and B, broadcasting, .*, functions, reductions, let, param) against the dense
/// reference: both ΔW and ΔB of each kernel, on random shapes, with feedback weights and an activation.
/// </summary>
public sealed class LanguageDifferentialTests
{
    public static readonly (string Name, string Text)[] Rules =
    {
        ("instar", "dW = t4*(y_l .* (y_<l-1>' - W))"),
        ("broadcasts", "dW = t1*e_l + t2*e_<l-1>' - t3 + t5*(e_l - y_<l-1>')"),
        ("feedback_error", "dW = -t0*(df(z_l) .* (B*e_<l-1>))*y_<l-1>'"),
        ("column_scales", "dW = t0*W .* (e_l*e_<l-1>') - t1*(W .* y_<l-1>') + t2*(y_l .* W .* e_<l-1>')"),
        ("functions", "dW = exp(t0)*f(z_l)*sigmoid(y_<l-1>)' + sqrt(abs(t1))*relu(e_l)*sign(e_<l-1>)' + log(sq(t2) + 1)*tanh(z_l)*sq(y_<l-1>)'"),
        ("lets", "let h = f(z_l) .* e_l\nlet g = sum(h)*norm2(y_<l-1>)\ndW = -t0*h*y_<l-1>' + g*W - sq(sum(e_l))*W"),
        ("params", "param eta = 0.05\nparam decay = -1e-3\ndW = -eta*e_l*y_<l-1>' + decay*W + t1*e_l*(e_<l-1> - eta)'"),
        ("cross", "dW = t0*B - t2*W\ndB = t1*W + t3*(y_l .* B)"),
        ("feedback_products", "dW = t0*(B .* e_<l-1>') + t1*W*B'*e_l*y_<l-1>'\ndB = (y_l'*B*e_<l-1>)*B - t2*B*W'*y_l*e_<l-1>'"),
        ("vectors", "dW = (e_l .* y_l + 2*z_l .* z_l)*(y_<l-1> .* e_<l-1> - 0.5)'"),
        ("elementwise_weights", "dW = -t3*sign(W) + t1*abs(B) .* W - t2*(y_l*y_<l-1>') .* (1 - sq(W)) + t4*(e_l .* relu(W) .* tanh(B)) .* e_<l-1>' + t5*W .* W\ndB = t6*sq(W) .* B - t7*sigmoid(B) + t8*f(W) + t9*(W .* y_<l-1>') .* exp(B)"),
        // A state of each shape, read in vector steps, row coefficients, a whole-matrix scale and a column scale, and by the
        // other states' updates: each from its value before the step.
        ("states", "state th = 0.5\nstate m = 2\nstate c = -1\ndth = t5*(sq(y_l) - th) + e_l .* th\ndm = t6*(sum(y_<l-1>) - m*m) + norm2(W'*y_l)\n" +
            "dc = W'*(y_l .* th) - m*c\ndW = t2*(y_l .* (y_l - th))*y_<l-1>' - t3*m*W + (e_l*c') .* W\ndB = t1*th .* B"),
        ("triangles", "let C = tril(y_l*y_l')\ndW = t2*(y_l*y_<l-1>' - C*W) + t1*tril(e_l*(W*y_<l-1>)' + (e_l'*z_l)*z_l*y_l')*B - (W'*tril(z_l*e_l')')' - t3*tril(t4 + y_l*e_l')*W\ndB = -C*B + t5*tril(z_l*z_l')*W"),
    };

    /// <summary>These rules and every layer rule of examples/rules (RecurrentRuleTests covers the recurrent ones).</summary>
    private static IEnumerable<(string Name, string Text)> AllRules => Rules.Concat(ExampleRules.Layer.Select(r => (r.Stem, r.Text)));

    private static readonly Lazy<Assembly> Kernels = new(() =>
    {
        var trees = AllRules.Select(r =>
        {
            CompiledRule compiled = RuleFrontEnd.Compile(r.Name, r.Text);
            Assert.True(compiled.Succeeded, $"{r.Name}: {string.Join("; ", compiled.Diagnostics.Select(d => d.Format(r.Name + ".rule")))}");
            return RoslynHarness.Parse(KernelEmitter.Emit(compiled.Model!), KernelEmitter.HintName(compiled.Model!));
        }).ToList();
        return RoslynHarness.EmitAndLoad(RoslynHarness.CreateCompilation(trees, "Language" + Guid.NewGuid().ToString("N")));
    });

    public static TheoryData<string> Names => new(AllRules.Select(r => r.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void Kernel_matches_the_dense_reference(string name)
    {
        string text = AllRules.Single(r => r.Name == name).Text;
        Assert.True(RuleParser.TryParse(text, out RuleFileSyntax? syntax, out _));
        var binder = new Binder();
        IReadOnlyList<BoundUpdate> updates = binder.Bind(syntax!);
        Assert.Empty(binder.Diagnostics);
        Type type = Kernels.Value.GetType(KernelEmitter.DefaultNamespace + "." + RuleFrontEnd.ClassName(name), throwOnError: true)!;
        var kernel = (IPlasticityRule)type.GetProperty("Instance")!.GetValue(null)!;

        var random = new Random(name.Length * 7919);
        foreach ((int rows, int columns) in new[] { (1, 1), (3, 17), (17, 3), (64, 33) })
        {
            LayerValues values = LayerValues.Random(rows, columns, random);
            // log and sqrt of the parameters' defaults stay real; params read their defaults.
            foreach (RuleParameter p in kernel.Parameters) values.Theta[p.Index] = p.Default;
            // Each state starts somewhere random, not at its initial value, laid out one after another as the kernel reads them.
            values = values with { States = binder.States.Select(s => Enumerable.Range(0, s.Shape.IsScalar ? 1 : s.Shape.Rows == Dimension.Post ? rows : columns)
                .Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToArray() };
            float[] state = values.States.SelectMany(s => s).ToArray();
            Assert.Equal(kernel.StateLength(rows, columns), state.Length);
            float[] weights = (float[])values.Weights.Clone(), feedback = (float[])values.Feedback!.Clone();
            float[] scratch = new float[kernel.ScratchLength(rows, columns)];
            Array.Fill(scratch, float.NaN);
            var layer = new LayerSignals(weights, feedback, rows, columns, values.Post, values.Pre, values.Potential,
                kernel.Signals.HasFlag(RuleSignals.PostError) ? values.PostError : ReadOnlySpan<float>.Empty,
                kernel.Signals.HasFlag(RuleSignals.PreError) ? values.PreError : ReadOnlySpan<float>.Empty, DenseReference.Activation) { State = state };
            kernel.Apply(in layer, values.Theta, scratch);

            int offset = 0;
            foreach (BoundStateUpdate update in binder.StateUpdates)
            {
                float[] before = values.States[update.State.Index];
                UpdateComparison.Check(before, state.AsSpan(offset, before.Length).ToArray(), DenseReference.Evaluate(update.Value, values),
                    DenseReference.Magnitude(update.Value, values).FrobeniusNorm(), $"{name} d{update.State.Name} on {rows}×{columns}");
                offset += before.Length;
            }

            foreach (BoundUpdate update in updates)
            {
                float[] before = update.Target == "dW" ? values.Weights : values.Feedback!;
                float[] after = update.Target == "dW" ? weights : feedback;
                UpdateComparison.Check(before, after, DenseReference.Evaluate(update.Value, values),
                    DenseReference.Magnitude(update.Value, values).FrobeniusNorm(), $"{name} {update.Target} on {rows}×{columns}");
            }

            if (!updates.Any(u => u.Target == "dB")) Assert.Equal(values.Feedback, feedback);
        }
    }

    [Fact]
    public void Eq9_reads_and_updates_feedback_and_needs_both_errors()
    {
        IPlasticityRule kernel = Instantiate("eq9");
        Assert.Equal(RuleSignals.PostError | RuleSignals.PreError | RuleSignals.Feedback | RuleSignals.FeedbackUpdate, kernel.Signals);
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 9 }, kernel.Coefficients);
    }

    [Fact]
    public void Parameters_are_named_coefficients_after_t9()
    {
        IPlasticityRule kernel = Instantiate("params");
        Assert.Equal(new[] { new RuleParameter("eta", 10, 0.05f), new RuleParameter("decay", 11, -1e-3f) }, kernel.Parameters);
        Assert.Equal(new[] { 1, 10, 11 }, kernel.Coefficients);
    }

    internal static IPlasticityRule Instantiate(string name) =>
        (IPlasticityRule)Kernels.Value.GetType(KernelEmitter.DefaultNamespace + "." + RuleFrontEnd.ClassName(name), throwOnError: true)!.GetProperty("Instance")!.GetValue(null)!;
}
