using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.MetaLearning;

/// <summary>The oracle's tangent against central differences of the generated primal kernel, and σ'' against σ'.</summary>
public sealed class TangentKernelTests
{
    private const int Rows = 7, Columns = 5;

    private sealed record Layer(float[] W, float[] B, float[] Y, float[] Yp, float[] Z, float[] E, float[] Ep, float[] Theta);

    private static Layer RandomLayer(Random random, int thetaLength)
    {
        float[] V(int n, double scale = 1)
        {
            var v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float)((random.NextDouble() * 2 - 1) * scale);
            return v;
        }

        return new Layer(V(Rows * Columns), V(Rows * Columns), V(Rows), V(Columns), V(Rows), V(Rows), V(Columns), V(thetaLength, 0.8));
    }

    // x + h·ẋ
    private static float[] Along(float[] x, float[] dx, double h) => x.Select((v, i) => (float)(v + h * dx[i])).ToArray();

    private static (float[] W, float[] B) Primal(IPlasticityRule rule, Layer at, bool feedback)
    {
        float[] w = (float[])at.W.Clone(), b = feedback ? (float[])at.B.Clone() : [];
        var signals = new LayerSignals(w, b, Rows, Columns, at.Y, at.Yp, at.Z, at.E, at.Ep, Activation.Softplus);
        rule.Apply(in signals, at.Theta, new float[rule.ScratchLength(Rows, Columns)]);
        return (w, b);
    }

    private static Layer Move(Layer x, Layer dx, double h) => new(
        Along(x.W, dx.W, h), Along(x.B, dx.B, h), Along(x.Y, dx.Y, h), Along(x.Yp, dx.Yp, h), Along(x.Z, dx.Z, h),
        Along(x.E, dx.E, h), Along(x.Ep, dx.Ep, h), Along(x.Theta, dx.Theta, h));

    private static double RelativeError(float[] actual, double[] expected)
    {
        double diff = 0, norm = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            norm += expected[i] * expected[i];
        }
        return Math.Sqrt(diff / norm);
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(true, 2)]
    [InlineData(false, 3)]
    public void Oracle_tangent_matches_central_differences_of_the_generated_kernel(bool full, int seed)
    {
        Eq9Oracle rule = full ? Eq9Oracle.Full : Eq9Oracle.WeightsOnly;
        var random = new Random(seed);
        Layer x = RandomLayer(random, 10), dx = RandomLayer(random, 10);

        // Oracle: Ẇ_out = Ẇ + D(ΔW)[ẋ, θ̇] (and Ḃ), at x.
        float[] wDot = (float[])dx.W.Clone(), bDot = full ? (float[])dx.B.Clone() : [];
        var signals = new LayerSignals(x.W, full ? x.B : default, Rows, Columns, x.Y, x.Yp, x.Z, x.E, x.Ep, Activation.Softplus);
        var tangent = new LayerTangents(wDot, bDot, dx.Y, dx.Yp, dx.Z, dx.E, dx.Ep);
        float[] wBefore = (float[])x.W.Clone();
        rule.ApplyTangent(in signals, in tangent, x.Theta, dx.Theta, new float[rule.TangentScratchLength(Rows, Columns)]);
        Assert.Equal(wBefore, x.W); // the tangent leaves W alone

        // Central differences of the primal update W + ΔW along (ẋ, θ̇). The update is a polynomial of degree 4, so the
        // truncation error is h²/6 times a third derivative of order 10: about 1e-4 relative at h = 1e-2 in float.
        const double h = 1e-2;
        var (wPlus, bPlus) = Primal(rule, Move(x, dx, h), full);
        var (wMinus, bMinus) = Primal(rule, Move(x, dx, -h), full);
        double[] wExpected = wPlus.Select((v, i) => (v - (double)wMinus[i]) / (2 * h)).ToArray();
        double errorW = RelativeError(wDot, wExpected);
        Assert.True(errorW < 2e-3, $"Ẇ relative error {errorW:E2}");
        if (full)
        {
            double[] bExpected = bPlus.Select((v, i) => (v - (double)bMinus[i]) / (2 * h)).ToArray();
            double errorB = RelativeError(bDot, bExpected);
            Assert.True(errorB < 2e-3, $"Ḃ relative error {errorB:E2}");
        }
    }

    /// <summary>The compiler's tangent of Eq. 9 (the generated <see cref="PlasticityDsl.Rules.Eq9Rule"/>) and the hand-written
    /// oracle, two independent derivations, agree to float rounding.</summary>
    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void Generated_tangent_equals_the_hand_written_oracle(int seed)
    {
        var random = new Random(seed);
        Layer x = RandomLayer(random, 10), dx = RandomLayer(random, 10);
        float[] Tangent(IDifferentiableRule rule, out float[] bDot)
        {
            var signals = new LayerSignals(x.W, x.B, Rows, Columns, x.Y, x.Yp, x.Z, x.E, x.Ep, Activation.Softplus);
            float[] wDot = (float[])dx.W.Clone();
            bDot = (float[])dx.B.Clone();
            var tangent = new LayerTangents(wDot, bDot, dx.Y, dx.Yp, dx.Z, dx.E, dx.Ep);
            rule.ApplyTangent(in signals, in tangent, x.Theta, dx.Theta, new float[rule.TangentScratchLength(Rows, Columns)]);
            return wDot;
        }

        float[] generatedW = Tangent(PlasticityDsl.Rules.Eq9Rule.Instance, out float[] generatedB);
        float[] oracleW = Tangent(Eq9Oracle.Full, out float[] oracleB);
        Assert.True(RelativeError(generatedW, oracleW.Select(v => (double)v).ToArray()) < 1e-5);
        Assert.True(RelativeError(generatedB, oracleB.Select(v => (double)v).ToArray()) < 1e-5);
    }

    [Fact]
    public void Layer_tangents_check_their_lengths()
    {
        float[] w = new float[Rows * Columns], y = new float[Rows], yp = new float[Columns];
        _ = new LayerTangents(w, default, y, yp, y, default, default); // errors and Ḃ may be empty
        Assert.Throws<ArgumentException>(() => new LayerTangents(new float[Rows * Columns - 1], default, y, yp, y, default, default));
        Assert.Throws<ArgumentException>(() => new LayerTangents(w, new float[3], y, yp, y, default, default));
        Assert.Throws<ArgumentException>(() => new LayerTangents(w, default, y, yp, new float[Rows + 1], default, default));
        Assert.Throws<ArgumentException>(() => new LayerTangents(w, default, y, yp, y, new float[Columns], default));
        Assert.Throws<ArgumentException>(() => new LayerTangents(w, default, y, yp, y, y, new float[Rows]));
    }

    [Theory]
    [InlineData("softplus")]
    [InlineData("tanh")]
    [InlineData("elu")]
    [InlineData("relu")]
    public void Second_derivative_is_the_derivative_of_the_first(string name)
    {
        Activation activation = Activation.Parse(name);
        float[] z = Enumerable.Range(0, 41).Select(i => -1f + 0.05f * i + 0.013f).ToArray(); // no kinks hit exactly
        var second = new float[z.Length];
        activation.SecondDerivative(z, second);
        const float h = 1e-3f;
        for (int i = 0; i < z.Length; i++)
        {
            double expected = ((double)activation.Derivative(z[i] + h) - activation.Derivative(z[i] - h)) / (2 * h);
            Assert.True(Math.Abs(second[i] - expected) <= 1e-2 * Math.Max(1, Math.Abs(expected)), $"{name} σ''({z[i]}) = {second[i]}, differences give {expected}");
            Assert.Equal(second[i], activation.SecondDerivative(z[i]), 5);
        }
        if (name == "softplus") Assert.Contains(second, v => v > 1f); // β = 10 makes σ'' large near 0: the check has teeth
    }
}
