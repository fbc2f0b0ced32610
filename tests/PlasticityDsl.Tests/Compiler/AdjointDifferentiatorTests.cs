using Binder = PlasticityDsl.Language.Binding.Binder;
using PlasticityDsl.Language;
using PlasticityDsl.Language.Binding;
using PlasticityDsl.Language.Differentiation;
using Xunit;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>
/// The compiler's adjoints (vector-Jacobian products) of each rule against its tangents (Jacobian-vector products, themselves
/// checked against central differences in <see cref="DifferentiatorTests"/>): for random inputs, directions (v̇, θ̇) and
/// cotangents Ū, Σ_updates ⟨Ū, J·v̇⟩ = Σ_v ⟨v̄, v̇⟩ + Σ_k θ̄_k θ̇_k, both sides evaluated by the dense double reference.
/// </summary>
public sealed class AdjointDifferentiatorTests
{
    [Theory]
    [MemberData(nameof(DifferentiatorTests.Differentiable), MemberType = typeof(DifferentiatorTests))]
    public void Adjoint_is_the_transpose_of_the_tangent(string name)
    {
        CheckDotProductIdentity(name, DifferentiatorTests.RuleText(name), new Random(name.Length * 7919));
    }

    [Fact]
    public void Adjoints_of_random_rules_are_the_transposes_of_their_tangents()
    {
        var random = new Random(11);
        int number = 0;
        foreach (string text in new RandomRules(20261202).Compiling(150))
        {
            CheckDotProductIdentity("random " + number++ + ": " + text, text, random);
        }
    }

    /// <summary>ΔW = y yᵀW (Oja's decay): ȳ = Ū Wᵀy + W Ūᵀy and W̄ = y yᵀŪ, written out by hand.</summary>
    [Fact]
    public void Adjoint_of_y_y_transpose_W_is_the_textbook_one()
    {
        RuleAdjoint adjoint = Adjoint("dW = y_l*y_l'*W");
        LayerValues at = WithCotangent(LayerValues.Random(5, 3, new Random(1)), new Random(2));
        DenseMatrix u = Dense(at.Cotangent!.Weights, 5, 3), w = Dense(at.Weights, 5, 3), y = Dense(at.Post, 5, 1);
        DenseMatrix expectedPost = DenseReference.Add(
            DenseReference.Multiply(u, DenseReference.Multiply(DenseReference.Transpose(w), y)),
            DenseReference.Multiply(w, DenseReference.Multiply(DenseReference.Transpose(u), y)), 1);
        DenseMatrix expectedWeights = DenseReference.Multiply(y, DenseReference.Multiply(DenseReference.Transpose(y), u));

        Assert.Equal(new[] { Signal.Weights, Signal.PostActivity }, adjoint.Signals.Select(a => a.Signal));
        Assert.Empty(adjoint.Coefficients);
        AssertClose(expectedWeights, DenseReference.Evaluate(adjoint.Signals[0].Value, at));
        AssertClose(expectedPost, DenseReference.Evaluate(adjoint.Signals[1].Value, at));
    }

    /// <summary>ΔW = t0 e xᵀ: ē = t0 Ū x, x̄ = t0 Ūᵀe, θ̄_0 = eᵀŪx, and nothing for W, which the update does not read.</summary>
    [Fact]
    public void Adjoint_of_an_outer_product_is_the_textbook_one()
    {
        RuleAdjoint adjoint = Adjoint("dW = t0*e_l*y_<l-1>'");
        LayerValues at = WithCotangent(LayerValues.Random(4, 6, new Random(3)), new Random(4));
        DenseMatrix u = Dense(at.Cotangent!.Weights, 4, 6), e = Dense(at.PostError, 4, 1), x = Dense(at.Pre, 6, 1);
        double t0 = at.Theta[0];

        Assert.Equal(new[] { Signal.PreActivity, Signal.PostError }, adjoint.Signals.Select(a => a.Signal));
        AssertClose(DenseReference.Scale(DenseReference.Multiply(DenseReference.Transpose(u), e), t0), DenseReference.Evaluate(adjoint.Signals[0].Value, at));
        AssertClose(DenseReference.Scale(DenseReference.Multiply(u, x), t0), DenseReference.Evaluate(adjoint.Signals[1].Value, at));
        CoefficientAdjoint theta = Assert.Single(adjoint.Coefficients);
        Assert.Equal(0, theta.Index);
        AssertClose(DenseReference.Multiply(DenseReference.Transpose(e), DenseReference.Multiply(u, x)), DenseReference.Evaluate(theta.Value, at));
    }

    [Theory]
    [InlineData("dW = log(sq(t2) + 1)*e_l*y_<l-1>'", "`log`")]
    [InlineData("dW = norm2(y_l)*W", "`norm2`")]
    [InlineData("dW = df(z_l)*y_<l-1>'", "`df`")]
    [InlineData("dWh = sum_t(e_<t+1>*z_t')", "recurrent rules")]
    public void A_rule_without_an_adjoint_says_why(string text, string named)
    {
        Assert.False(AdjointDifferentiator.TryDifferentiate(DifferentiatorTests.Bind(text), out _, out NotDifferentiable? reason));
        Assert.Contains(named, reason!.Message, StringComparison.Ordinal);
    }

    private static void CheckDotProductIdentity(string what, string text, Random random)
    {
        IReadOnlyList<BoundUpdate> updates = DifferentiatorTests.Bind(text);
        Assert.True(Differentiator.TryDifferentiate(updates, out IReadOnlyList<BoundUpdate> tangents, out NotDifferentiable? reason), what + ": " + reason?.Message);
        Assert.True(AdjointDifferentiator.TryDifferentiate(updates, out RuleAdjoint? adjoint, out reason), what + ": " + reason?.Message);
        foreach ((int rows, int columns) in new[] { (1, 1), (3, 5), (6, 4), (5, 5) })
        {
            LayerValues at = WithCotangent(LayerValues.Random(rows, columns, random), random) with { Tangent = LayerValues.Random(rows, columns, random) };
            double forward = 0, scale = 0;
            foreach (BoundUpdate tangent in tangents)
            {
                var cotangent = new BoundCotangent(Binder.TargetMatrix(tangent.Target), tangent.Span);
                forward += Inner(DenseReference.Evaluate(cotangent, at), DenseReference.Evaluate(tangent.Value, at));
                scale += Inner(DenseReference.Magnitude(cotangent, at), DenseReference.Magnitude(tangent.Value, at));
            }

            double backward = 0;
            foreach (SignalAdjoint signal in adjoint!.Signals)
            {
                backward += Inner(DenseReference.Evaluate(signal.Value, at), DenseReference.Evaluate(new BoundSignalTangent(signal.Signal, SourceSpan.Empty), at));
            }
            foreach (CoefficientAdjoint coefficient in adjoint.Coefficients)
            {
                backward += DenseReference.Evaluate(coefficient.Value, at).Values[0] * at.Tangent!.Theta[coefficient.Index];
            }

            Assert.True(Math.Abs(forward - backward) <= 1e-12 * scale + 1e-300,
                $"{what} on {rows}×{columns}: ⟨Ū, J·v̇⟩ = {forward:R}, ⟨Jᵀ·Ū, v̇⟩ = {backward:R} (magnitude {scale:G3})");
        }
    }

    private static double Inner(DenseMatrix a, DenseMatrix b)
    {
        Assert.Equal((a.Rows, a.Columns), (b.Rows, b.Columns));
        double sum = 0;
        for (int k = 0; k < a.Values.Length; k++) sum += a.Values[k] * b.Values[k];
        return sum;
    }

    private static LayerValues WithCotangent(LayerValues at, Random random) =>
        at with { Cotangent = LayerValues.Random(at.Rows, at.Columns, random) };

    private static DenseMatrix Dense(float[] values, int rows, int columns) => DenseMatrix.FromFloats(values, rows, columns);

    private static void AssertClose(DenseMatrix expected, DenseMatrix actual)
    {
        Assert.Equal((expected.Rows, expected.Columns), (actual.Rows, actual.Columns));
        double error = DenseReference.Add(actual, expected, -1).FrobeniusNorm();
        Assert.True(error <= 1e-12 * expected.FrobeniusNorm(), $"‖adjoint − expected‖ = {error:G3} of {expected.FrobeniusNorm():G3}");
    }

    private static RuleAdjoint Adjoint(string text)
    {
        Assert.True(AdjointDifferentiator.TryDifferentiate(DifferentiatorTests.Bind(text), out RuleAdjoint? adjoint, out NotDifferentiable? reason), reason?.Message);
        return adjoint!;
    }
}
