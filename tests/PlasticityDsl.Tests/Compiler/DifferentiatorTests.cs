using Binder = PlasticityDsl.Language.Binding.Binder;
using PlasticityDsl.Language;
using PlasticityDsl.Language.Binding;
using PlasticityDsl.Language.Differentiation;
using PlasticityDsl.Language.Syntax;
using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>
/// The compiler's symbolic tangent of each update against central differences of the update itself, both
/// evaluated by the dense double reference: D ΔW[ẋ, θ̇] ≈ (ΔW(x + hẋ, θ + hθ̇) − ΔW(x − hẋ, θ − hθ̇)) / 2h, with
/// every input perturbed at once (W, B, y_l, y_(l-1), z_l, e_l, e_(l-1), t0…t9 and params), Richardson-extrapolated
/// from h and h/2 so that the truncation error is O(h⁴).
/// </summary>
/// <remarks>Inputs are multiples of 2⁻¹² and directions multiples of 2⁻⁸, so x ± hẋ is exact in the float arrays
/// the reference reads: the differences measure the derivative, not rounding.</remarks>
public sealed class DifferentiatorTests
{
    private const double Step = 1.0 / 256;

    /// <summary>The language differential rules whose functions all have derivatives, and every layer example, but those
    /// with per-layer state (no tangent kernel yet).</summary>
    public static TheoryData<string> Differentiable => new(LanguageDifferentialTests.Rules
        .Where(r => r.Name is not ("functions" or "lets" or "feedback_error"))
        .Concat(ExampleRules.Layer.Select(r => (Name: r.Stem, r.Text)))
        .Where(r => RuleFrontEnd.Compile(r.Name, r.Text).Model!.Plan.States.Count == 0)
        .Select(r => r.Name));

    [Theory]
    [MemberData(nameof(Differentiable))]
    public void Tangent_matches_central_differences(string name)
    {
        CheckAgainstCentralDifferences(name, RuleText(name), new Random(name.Length * 104729));
    }

    /// <summary>The emitted ApplyTangent of every differentiable rule against central differences of the update: Ẇ (and
    /// Ḃ) must change by D ΔW[ẋ, θ̇] (D ΔB), with B held fixed by rules that do not update it.</summary>
    [Theory]
    [MemberData(nameof(Differentiable))]
    public void Emitted_tangent_kernel_matches_central_differences_of_the_update(string name)
    {
        IReadOnlyList<BoundUpdate> updates = Bind(RuleText(name));
        var kernel = Assert.IsAssignableFrom<IDifferentiableRule>(LanguageDifferentialTests.Instantiate(name));
        bool plasticFeedback = updates.Any(u => u.Target == "dB");
        var random = new Random(name.Length * 31);
        foreach ((int rows, int columns) in new[] { (1, 1), (3, 17), (17, 3), (40, 24) })
        {
            LayerValues direction = Quantized(LayerValues.Random(rows, columns, random), 256);
            if (!plasticFeedback) direction = direction with { Feedback = new float[rows * columns] };
            LayerValues at = AwayFromKinks(Quantized(LayerValues.Random(rows, columns, random), 4096)) with { Tangent = direction };

            float[] weightsTangent = (float[])direction.Weights.Clone(), feedbackTangent = (float[])direction.Feedback!.Clone();
            float[] scratch = new float[kernel.TangentScratchLength(rows, columns)];
            Array.Fill(scratch, float.NaN);
            var layer = new LayerSignals(at.Weights, at.Feedback, rows, columns, at.Post, at.Pre, at.Potential, at.PostError, at.PreError, DenseReference.Activation);
            var tangent = new LayerTangents(weightsTangent, plasticFeedback ? feedbackTangent : Span<float>.Empty, direction.Post, direction.Pre,
                direction.Potential, direction.PostError, direction.PreError);
            kernel.ApplyTangent(in layer, in tangent, at.Theta, direction.Theta, scratch);

            Assert.True(Differentiator.TryDifferentiate(updates, out IReadOnlyList<BoundUpdate> tangents, out _));
            foreach (BoundUpdate update in updates)
            {
                DenseMatrix coarse = CentralDifference(update.Value, at, direction, Step);
                DenseMatrix fine = CentralDifference(update.Value, at, direction, Step / 2);
                DenseMatrix expected = DenseReference.Scale(DenseReference.Add(DenseReference.Scale(fine, 4), coarse, -1), 1.0 / 3);
                bool weights = update.Target == "dW";
                double magnitude = tangents.SingleOrDefault(t => t.Target == update.Target) is { } symbolic ? DenseReference.Magnitude(symbolic.Value, at).FrobeniusNorm() : 0;
                UpdateComparison.Check(weights ? direction.Weights : direction.Feedback!, weights ? weightsTangent : feedbackTangent, expected, magnitude,
                    $"{name} tangent of {update.Target} on {rows}×{columns}");
            }

            if (!plasticFeedback) Assert.Equal(direction.Feedback, feedbackTangent);
        }
    }

    [Fact]
    public void Tangents_of_random_rules_match_central_differences()
    {
        var random = new Random(7);
        int number = 0;
        foreach (string text in new RandomRules(20261201).Compiling(150))
        {
            CheckAgainstCentralDifferences("random " + number++ + ": " + text, text, random);
        }
    }

    [Fact]
    public void Functions_with_derivatives_in_the_language_match_central_differences()
    {
        string text = "dW = exp(t0)*f(z_l)*sigmoid(y_<l-1>)' + abs(t1)*relu(e_l)*sign(e_<l-1>)' + sq(t2)*tanh(z_l)*sq(y_<l-1>)'"
            + " + (t3*sum(y_l .* e_l))*W";
        CheckAgainstCentralDifferences("functions", text, new Random(3));
    }

    [Theory]
    [InlineData("dW = log(sq(t2) + 1)*e_l*y_<l-1>'", "log")]
    [InlineData("dW = sqrt(abs(t1))*e_l*y_<l-1>'", "sqrt")]
    [InlineData("dW = norm2(y_l)*W", "norm2")]
    [InlineData("dW = df(z_l)*y_<l-1>'", "df")]
    public void A_function_without_a_derivative_in_the_language_is_named(string text, string function)
    {
        IReadOnlyList<BoundUpdate> updates = Bind(text);
        Assert.False(Differentiator.TryDifferentiate(updates, out _, out NotDifferentiable? reason));
        Assert.Contains($"`{function}`", reason!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_constant_update_has_no_tangent()
    {
        Assert.True(Differentiator.TryDifferentiate(Bind("dW = 0.5 + 2*t0*W\ndB = 0.25"), out IReadOnlyList<BoundUpdate> tangents, out _));
        Assert.Equal("dW", Assert.Single(tangents).Target);
    }

    /// <summary>The text of a rule of <see cref="Differentiable"/>.</summary>
    internal static string RuleText(string name) =>
        LanguageDifferentialTests.Rules.Concat(ExampleRules.Layer.Select(r => (Name: r.Stem, r.Text))).Single(r => r.Name == name).Text;

    internal static IReadOnlyList<BoundUpdate> Bind(string text)
    {
        Assert.True(RuleParser.TryParse(text, out RuleFileSyntax? syntax, out _), text);
        var binder = new Binder();
        IReadOnlyList<BoundUpdate> updates = binder.Bind(syntax!);
        Assert.True(binder.Diagnostics.Count == 0, text + ": " + string.Join("; ", binder.Diagnostics.Select(d => d.Message)));
        return updates;
    }

    private static void CheckAgainstCentralDifferences(string what, string text, Random random)
    {
        IReadOnlyList<BoundUpdate> updates = Bind(text);
        Assert.True(Differentiator.TryDifferentiate(updates, out IReadOnlyList<BoundUpdate> tangents, out NotDifferentiable? reason), what + ": " + reason?.Message);
        foreach ((int rows, int columns) in new[] { (1, 1), (3, 5), (6, 4) })
        {
            LayerValues direction = Quantized(LayerValues.Random(rows, columns, random), 256);
            LayerValues at = AwayFromKinks(Quantized(LayerValues.Random(rows, columns, random), 4096)) with { Tangent = direction };
            foreach (BoundUpdate update in updates)
            {
                DenseMatrix coarse = CentralDifference(update.Value, at, direction, Step);
                DenseMatrix fine = CentralDifference(update.Value, at, direction, Step / 2);
                DenseMatrix expected = DenseReference.Scale(DenseReference.Add(DenseReference.Scale(fine, 4), coarse, -1), 1.0 / 3);
                BoundUpdate? tangent = tangents.SingleOrDefault(t => t.Target == update.Target);
                DenseMatrix actual = tangent is null ? new DenseMatrix(expected.Rows, expected.Columns) : DenseReference.Evaluate(tangent.Value, at);
                double error = DenseReference.Add(actual, expected, -1).FrobeniusNorm();
                double scale = Math.Max(expected.FrobeniusNorm(), DenseReference.Magnitude(update.Value, at).FrobeniusNorm());
                Assert.True(error <= 1e-6 * scale + 1e-10, $"{what}, {update.Target} on {rows}×{columns}: ‖tangent − central difference‖ = {error:G3}, scale {scale:G3}");
            }
        }
    }

    private static DenseMatrix CentralDifference(BoundExpression e, LayerValues at, LayerValues direction, double h) =>
        DenseReference.Scale(DenseReference.Add(DenseReference.Evaluate(e, Shifted(at, direction, h)),
            DenseReference.Evaluate(e, Shifted(at, direction, -h)), -1), 1 / (2 * h));

    /// <summary>Weights at least 1/32 from 0 (still quantized), where sign, abs and relu of W are smooth: the central
    /// differences move them by at most 1/256, so they never straddle a kink the tangent (0, sign, sign(relu)) ignores.</summary>
    private static LayerValues AwayFromKinks(LayerValues values)
    {
        float[] Away(float[] x) => x.Select(v => v >= 0 ? MathF.Max(v, 1f / 32) : MathF.Min(v, -1f / 32)).ToArray();
        return values with { Weights = Away(values.Weights), Feedback = Away(values.Feedback!) };
    }

    private static LayerValues Quantized(LayerValues values, int steps)
    {
        float[] Round(float[] x) => x.Select(v => MathF.Round(v * steps) / steps).ToArray();
        return new LayerValues(values.Rows, values.Columns, Round(values.Weights), Round(values.Post), Round(values.Pre), Round(values.Potential),
            Round(values.PostError), Round(values.PreError), Round(values.Theta), Round(values.Feedback!));
    }

    /// <summary>x + h·ẋ, checked to be exact in float (for quantized inputs and directions).</summary>
    internal static float[] MovedExactly(float[] x, float[] dx, double h)
    {
        var moved = new float[x.Length];
        for (int k = 0; k < x.Length; k++)
        {
            moved[k] = (float)(x[k] + h * dx[k]);
            Assert.Equal(x[k] + h * dx[k], moved[k]);
        }

        return moved;
    }

    /// <summary>Every input moved by h·v̇ (θ by h·θ̇); exact for quantized inputs.</summary>
    private static LayerValues Shifted(LayerValues at, LayerValues direction, double h)
    {
        float[] Move(float[] x, float[] dx) => MovedExactly(x, dx, h);
        return new LayerValues(at.Rows, at.Columns, Move(at.Weights, direction.Weights), Move(at.Post, direction.Post), Move(at.Pre, direction.Pre),
            Move(at.Potential, direction.Potential), Move(at.PostError, direction.PostError), Move(at.PreError, direction.PreError),
            Move(at.Theta, direction.Theta), Move(at.Feedback!, direction.Feedback!));
    }
}
