using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Instruments;
using Xunit;

namespace PlasticityDsl.Tests.Instruments;

public class ExplainedVarianceTests
{
    // Layer 0 is the input itself, so the data below are the activations whose spectrum is measured.
    private static readonly Mlp ThreeInputs = ProbeNetworks.Xavier([3, 2, 2], seed: 3);

    // Points ±2 e_1 and ±1 e_2 around a common offset: sample variances 8/3, 2/3 and 0 along the axes (ratio 4 : 1 : 0).
    private static float[] AxisData(Func<float, float, (float X, float Y)> place) =>
        new[] { (2f, 0f), (-2f, 0f), (0f, 1f), (0f, -1f) }
            .SelectMany(p => { var (x, y) = place(p.Item1, p.Item2); return new[] { x + 0.5f, y + 0.5f, 0.5f }; })
            .ToArray();

    [Fact]
    public void Known_spectrum_gives_the_cumulative_fractions()
    {
        ExplainedVarianceCurve curve = Assert.Single(ExplainedVariance.Measure(ThreeInputs, AxisData((x, y) => (x, y)), [0]));

        Assert.Equal(0, curve.Layer);
        Assert.Equal([8.0 / 3, 2.0 / 3, 0], curve.Variances, (a, b) => Math.Abs(a - b) < 1e-9);
        Assert.Equal([0.8, 1.0, 1.0], curve.CumulativeFraction, (a, b) => Math.Abs(a - b) < 1e-9);
        Assert.Equal(1.0, curve.CumulativeFraction[^1]);
    }

    [Fact]
    public void Principal_axes_need_not_be_the_coordinate_axes()
    {
        // The same cloud turned by 45°: per-coordinate variances are equal (5/3 each), the principal ones still 8/3 and 2/3.
        float c = MathF.Sqrt(0.5f);
        ExplainedVarianceCurve curve = ExplainedVariance.Measure(ThreeInputs, AxisData((x, y) => (c * (x - y), c * (x + y))), [0])[0];

        Assert.Equal([0.8, 1.0, 1.0], curve.CumulativeFraction, (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Fact]
    public void Components_needed_for_a_fraction_of_the_variance()
    {
        ExplainedVarianceCurve curve = ExplainedVariance.Measure(ThreeInputs, AxisData((x, y) => (x, y)), [0])[0];

        Assert.Equal(1, curve.ComponentsFor(0.5));
        Assert.Equal(1, curve.ComponentsFor(0.8 - 1e-9));
        Assert.Equal(2, curve.ComponentsFor(0.9));
        Assert.Equal(2, curve.ComponentsFor(1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => curve.ComponentsFor(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => curve.ComponentsFor(1.5));
    }

    [Fact]
    public void A_layer_that_does_not_vary_has_nothing_to_explain()
    {
        // With W = 0 every hidden unit is softplus(0) whatever the input.
        var network = new Mlp([3, 4, 2], Activation.Softplus);

        ExplainedVarianceCurve curve = ExplainedVariance.Measure(network, ProbeNetworks.RandomInputs(10, 3, seed: 4), [1])[0];

        Assert.Equal(new double[4], curve.Variances);
        Assert.All(curve.CumulativeFraction, f => Assert.True(double.IsNaN(f)));
        Assert.Equal(0, curve.ComponentsFor(0.9));
    }

    [Fact]
    public void A_paper_sized_layer_keeps_all_its_variance()
    {
        // 5000 samples of the 170 units of y_1: the eigenvalues add up to the total variance (the covariance's trace).
        const int count = 5000;
        Mlp network = ProbeNetworks.Xavier([784, 170, 10], seed: 5);
        float[] inputs = ProbeNetworks.RandomInputs(count, 784, seed: 6);

        ExplainedVarianceCurve curve = ExplainedVariance.Measure(network, inputs, [1])[0];

        var learner = new OnlineLearner(network);
        var sums = new double[170];
        var squares = new double[170];
        for (int i = 0; i < count; i++)
        {
            learner.Forward(inputs.AsSpan(i * 784, 784));
            ReadOnlySpan<float> y = learner.Activations(1);
            for (int j = 0; j < 170; j++)
            {
                sums[j] += y[j];
                squares[j] += (double)y[j] * y[j];
            }
        }
        double trace = Enumerable.Range(0, 170).Sum(j => (squares[j] - sums[j] * sums[j] / count) / (count - 1));
        Assert.Equal(170, curve.Variances.Length);
        Assert.Equal(trace, curve.Variances.Sum(), trace * 1e-6);
        Assert.True(curve.Variances.Zip(curve.Variances.Skip(1)).All(p => p.First >= p.Second), "variances must descend");
    }

    [Fact]
    public void Rejects_a_single_sample_and_unknown_layers()
    {
        Assert.Throws<ArgumentException>(() => ExplainedVariance.Measure(ThreeInputs, new float[3], [0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExplainedVariance.Measure(ThreeInputs, new float[6], [3]));
    }
}
