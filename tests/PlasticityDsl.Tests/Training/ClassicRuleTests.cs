using MathNet.Numerics.LinearAlgebra;
using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.Training;

/// <summary>
/// The catalogue of classic rules in examples/rules, compiled by the generator, each on the small synthetic
/// case where the literature says what it does. Linear units (y = W x) as in the original analyses.
/// </summary>
public sealed class ClassicRuleTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static IPlasticityRule Rule(string name) => GeneratedRules.All.Single(r => r.Name == name);

    /// <summary>Inputs x = A g with g standard normal: covariance A Aᵀ.</summary>
    private sealed class GaussianSource(int dimension, double[] scales, ulong seed)
    {
        private readonly DeterministicRandom _random = new(seed);

        public void Next(Span<float> x)
        {
            for (int i = 0; i < dimension; i++) x[i] = (float)(scales[i] * _random.NextNormal());
        }
    }

    /// <summary>One update of a layer of linear units: y = W x, the rule applied in place.</summary>
    private static void Step(IPlasticityRule rule, float[] weights, float[]? feedback, int rows, int columns, float[] x, float[] theta, float[] scratch)
    {
        var y = new float[rows];
        KernelPrimitives.MultiplyVector(weights, rows, columns, x, y);
        var layer = new LayerSignals(weights, feedback ?? default(Span<float>), rows, columns, y, x, y, default, default, Activation.Tanh);
        rule.Apply(in layer, theta, scratch);
    }

    private static float[] Theta(IPlasticityRule rule, params (int Index, float Value)[] values)
    {
        var theta = new float[10 + rule.Parameters.Count];
        foreach (RuleParameter p in rule.Parameters) theta[p.Index] = p.Default;
        foreach ((int index, float value) in values) theta[index] = value;
        return theta;
    }

    private static float[] Random(int length, ulong seed, double scale)
    {
        var random = new DeterministicRandom(seed);
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(scale * random.NextNormal());
        return values;
    }

    [Fact]
    public void Ojas_single_unit_rule_finds_the_unit_norm_principal_component_in_every_unit()
    {
        IPlasticityRule rule = Rule("oja_single");
        const int inputs = 6, units = 3;
        double[] scales = [3, 1.5, 1, 0.7, 0.5, 0.3]; // principal axis: e_0
        var source = new GaussianSource(inputs, scales, seed: 1);
        float[] weights = Random(units * inputs, seed: 2, scale: 0.3);
        var x = new float[inputs];
        var scratch = new float[rule.ScratchLength(units, inputs)];
        for (int step = 0; step < 20000; step++)
        {
            source.Next(x);
            Step(rule, weights, null, units, inputs, x, Theta(rule, (2, 0.002f / (1 + step / 5000f))), scratch);
        }

        for (int unit = 0; unit < units; unit++)
        {
            ReadOnlySpan<float> w = weights.AsSpan(unit * inputs, inputs);
            double norm = Math.Sqrt(KernelPrimitives.Dot(w, w));
            Assert.InRange(norm, 0.95, 1.05);
            Assert.InRange(Math.Abs(w[0]) / norm, 0.99, 1.0);
        }
    }

    [Fact]
    public void Hebbian_learning_with_decay_grows_along_the_principal_component()
    {
        IPlasticityRule rule = Rule("hebb_decay");
        const int inputs = 4;
        var source = new GaussianSource(inputs, [2, 1, 0.5, 0.25], seed: 3);
        float[] weights = Random(inputs, seed: 4, scale: 0.1);
        var x = new float[inputs];
        var scratch = new float[rule.ScratchLength(1, inputs)];
        double start = Math.Abs(weights[0]);
        for (int step = 0; step < 300; step++)
        {
            source.Next(x);
            Step(rule, weights, null, 1, inputs, x, Theta(rule, (0, 0.005f), (3, 0.001f)), scratch);
        }

        // Plain Hebb is unstable: the weight along the largest-variance input grows and dominates.
        Assert.True(Math.Abs(weights[0]) > 3 * start);
        Assert.True(Math.Abs(weights[0]) > 3 * Math.Abs(weights[3]));
    }

    [Fact]
    public void Anti_hebbian_learning_shrinks_the_output_variance()
    {
        IPlasticityRule rule = Rule("anti_hebbian");
        const int inputs = 5, units = 2;
        var source = new GaussianSource(inputs, [2, 1, 1, 0.5, 0.5], seed: 5);
        float[] weights = Random(units * inputs, seed: 6, scale: 0.5);
        var x = new float[inputs];
        var y = new float[units];
        var scratch = new float[rule.ScratchLength(units, inputs)];

        double OutputVariance()
        {
            var probe = new GaussianSource(inputs, [2, 1, 1, 0.5, 0.5], seed: 99);
            double sum = 0;
            for (int s = 0; s < 2000; s++)
            {
                probe.Next(x);
                KernelPrimitives.MultiplyVector(weights, units, inputs, x, y);
                sum += KernelPrimitives.Dot(y, y);
            }

            return sum / 2000;
        }

        double before = OutputVariance();
        for (int step = 0; step < 2000; step++)
        {
            source.Next(x);
            Step(rule, weights, null, units, inputs, x, Theta(rule, (0, 0.002f)), scratch);
        }

        Assert.True(OutputVariance() < 0.2 * before, $"variance {before} → {OutputVariance()}");
    }

    [Fact]
    public void The_covariance_rule_follows_the_covariance_of_rates_around_their_means()
    {
        IPlasticityRule rule = Rule("covariance");
        Assert.Equal(new[] { "post_mean", "pre_mean" }, rule.Parameters.Select(p => p.Name));
        // One synapse, rates at their means: no change; both above: potentiation; one above, one below: depression.
        foreach ((float post, float pre, int sign) in new[] { (0.5f, 0.5f, 0), (0.9f, 0.8f, 1), (0.9f, 0.1f, -1) })
        {
            float[] w = [0.3f];
            var layer = new LayerSignals(w, default, 1, 1, [post], [pre], [post], default, default, null);
            rule.Apply(in layer, Theta(rule, (0, 0.1f)), new float[rule.ScratchLength(1, 1)]);
            Assert.Equal(sign, Math.Sign(Math.Round(w[0] - 0.3f, 6)));
            Assert.Equal(0.1 * (post - 0.5) * (pre - 0.5), w[0] - 0.3, 6);
        }
    }

    [Fact]
    public void Kolen_pollack_makes_feedback_mirror_the_weights()
    {
        IPlasticityRule rule = Rule("kolen_pollack");
        Assert.True(rule.Signals.HasFlag(RuleSignals.FeedbackUpdate));
        const int rows = 4, columns = 6;
        float[] weights = Random(rows * columns, seed: 7, scale: 0.5), feedback = Random(rows * columns, seed: 8, scale: 0.5);
        double Distance() => Math.Sqrt(weights.Zip(feedback, (w, b) => (double)(w - b) * (w - b)).Sum());
        double start = Distance();
        var random = new DeterministicRandom(9);
        var scratch = new float[rule.ScratchLength(rows, columns)];
        const int steps = 200;
        const float decay = 0.02f;
        for (int s = 0; s < steps; s++)
        {
            float[] x = Random(columns, (ulong)(100 + s), 1), e = Random(rows, (ulong)(1000 + s), 1), y = new float[rows];
            var layer = new LayerSignals(weights, feedback, rows, columns, y, x, y, e, default, null);
            rule.Apply(in layer, Theta(rule, (0, 0.01f), (3, decay)), scratch);
        }

        // Identical updates cancel in W − B; the decay shrinks it by (1 − t3) per step.
        Assert.Equal(start * Math.Pow(1 - decay, steps), Distance(), start * 1e-4);
    }

    [Fact]
    public void The_weight_mirror_turns_feedback_toward_the_weights()
    {
        IPlasticityRule rule = Rule("weight_mirror");
        const int rows = 5, columns = 8;
        float[] weights = Random(rows * columns, seed: 10, scale: 0.4), feedback = Random(rows * columns, seed: 11, scale: 0.4);
        double Cosine() => weights.Zip(feedback, (w, b) => (double)w * b).Sum()
            / Math.Sqrt(weights.Sum(w => (double)w * w) * feedback.Sum(b => (double)b * b));
        Assert.InRange(Cosine(), -0.5, 0.5);
        var source = new GaussianSource(columns, Enumerable.Repeat(1.0, columns).ToArray(), seed: 12);
        var x = new float[columns];
        var scratch = new float[rule.ScratchLength(rows, columns)];
        float[] before = (float[])weights.Clone();
        for (int s = 0; s < 3000; s++)
        {
            source.Next(x);
            Step(rule, weights, feedback, rows, columns, x, Theta(rule, (0, 0.01f), (3, 0.01f)), scratch);
        }

        Assert.Equal(before, weights); // the rule has no dW
        Assert.True(Cosine() > 0.97, $"cosine {Cosine()}");
    }

    /// <summary>An orthonormal basis (rows) from Gram–Schmidt on normal vectors: principal axes that are not the
    /// coordinate axes.</summary>
    private static double[][] RandomBasis(int dimension, ulong seed)
    {
        var random = new DeterministicRandom(seed);
        var basis = new double[dimension][];
        for (int k = 0; k < dimension; k++)
        {
            double[] v = Enumerable.Range(0, dimension).Select(_ => random.NextNormal()).ToArray();
            for (int j = 0; j < k; j++)
            {
                double dot = v.Zip(basis[j], (a, b) => a * b).Sum();
                for (int i = 0; i < dimension; i++) v[i] -= dot * basis[j][i];
            }

            double norm = Math.Sqrt(v.Sum(a => a * a));
            basis[k] = v.Select(a => a / norm).ToArray();
        }

        return basis;
    }

    /// <summary>|cos| of the angle between row <paramref name="unit"/> of W and <paramref name="axis"/>.</summary>
    private static double Cosine(float[] weights, int unit, int inputs, double[] axis)
    {
        double dot = 0, norm = 0;
        for (int j = 0; j < inputs; j++)
        {
            dot += weights[unit * inputs + j] * axis[j];
            norm += weights[unit * inputs + j] * (double)weights[unit * inputs + j];
        }

        return Math.Abs(dot) / Math.Sqrt(norm);
    }

    [Fact]
    public void Sangers_rule_finds_the_leading_principal_components_in_order()
    {
        IPlasticityRule rule = Rule("sanger");
        const int inputs = 8, units = 4;
        double[] variances = [4, 2.5, 1.5, 0.8, 0.4, 0.3, 0.2, 0.1];
        double[][] axes = RandomBasis(inputs, seed: 11);
        var random = new DeterministicRandom(12);
        float[] weights = Random(units * inputs, seed: 13, scale: 0.1);
        var x = new float[inputs];
        var scratch = new float[rule.ScratchLength(units, inputs)];
        for (int step = 0; step < 30000; step++)
        {
            // x = Σ_k sqrt(λ_k) g_k q_k: covariance Σ_k λ_k q_k q_kᵀ, eigenvectors q_k in order of λ_k.
            Array.Clear(x);
            for (int k = 0; k < inputs; k++)
            {
                double g = Math.Sqrt(variances[k]) * random.NextNormal();
                for (int j = 0; j < inputs; j++) x[j] += (float)(g * axes[k][j]);
            }

            Step(rule, weights, null, units, inputs, x, Theta(rule, (2, 0.005f / (1 + step / 3000f))), scratch);
        }

        // Row k of W is the k-th principal component (up to sign), with unit norm; rows are ordered by eigenvalue.
        double[] cosines = Enumerable.Range(0, units).Select(k => Cosine(weights, k, inputs, axes[k])).ToArray();
        string report = "cosines " + string.Join(", ", cosines.Select(c => c.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)));
        output.WriteLine(report);
        for (int k = 0; k < 3; k++) Assert.True(cosines[k] >= 0.99, report);
        for (int k = 0; k < 3; k++)
        {
            double norm = Math.Sqrt(KernelPrimitives.Dot(weights.AsSpan(k * inputs, inputs), weights.AsSpan(k * inputs, inputs)));
            Assert.InRange(norm, 0.95, 1.05);
        }
    }

    /// <summary>
    /// BCM: four orthonormal input patterns, presented at random with equal probability, to three linear units. The
    /// measure of selectivity: a unit's response to its preferred pattern (its largest) is at least 2 (the selective fixed
    /// point is 4 = 1/p) and every other response at most 5 % of it. At the start, all responses are within a factor 2.
    /// With the threshold held at its initial value (t5 = 0), no unit becomes selective: every response decays to zero.
    /// </summary>
    [Fact]
    public void Bcm_makes_each_unit_selective_for_one_of_several_input_patterns()
    {
        IPlasticityRule rule = Rule("bcm");
        const int inputs = 8, units = 3, patterns = 4;
        float[][] pattern = Enumerable.Range(0, patterns).Select(k =>
            Enumerable.Range(0, inputs).Select(j => j / 2 == k ? (float)Math.Sqrt(0.5) : 0f).ToArray()).ToArray();
        double[][] Responses(float[] weights) => Enumerable.Range(0, units).Select(u =>
            pattern.Select(p => (double)KernelPrimitives.Dot(weights.AsSpan(u * inputs, inputs), p)).ToArray()).ToArray();

        (double[][] Before, double[][] After) Train(float slidingRate)
        {
            var random = new DeterministicRandom(31);
            float[] weights = Enumerable.Range(0, units * inputs).Select(_ => (float)random.NextDouble(0.1, 0.3)).ToArray();
            double[][] before = Responses(weights);
            var state = new float[rule.StateLength(units, inputs)];
            rule.InitializeState(state, units, inputs);
            Assert.All(state, th => Assert.Equal(1f, th));
            var scratch = new float[rule.ScratchLength(units, inputs)];
            var y = new float[units];
            float[] theta = Theta(rule, (2, 0.02f), (5, slidingRate));
            for (int step = 0; step < 5000; step++)
            {
                float[] x = pattern[random.NextInt(patterns)];
                KernelPrimitives.MultiplyVector(weights, units, inputs, x, y);
                var layer = new LayerSignals(weights, default, units, inputs, y, x, y, default, default, null) { State = state };
                rule.Apply(in layer, theta, scratch);
            }

            return (before, Responses(weights));
        }

        (double[][] start, double[][] selective) = Train(0.1f);
        foreach (double[] r in start) Assert.True(r.Max() < 2 * r.Min(), $"already selective at the start: {string.Join(", ", r)}");
        foreach (double[] r in selective)
        {
            output.WriteLine("BCM responses: " + string.Join(", ", r.Select(v => v.ToString("F3", System.Globalization.CultureInfo.InvariantCulture))));
            double preferred = r.Max();
            Assert.True(preferred >= 2, $"preferred response {preferred}");
            Assert.All(r.Where(v => v != preferred), v => Assert.True(Math.Abs(v) <= 0.05 * preferred, $"a non-preferred response {v} of {preferred}"));
        }

        (_, double[][] fixedThreshold) = Train(0f);
        Assert.All(fixedThreshold.SelectMany(r => r), v => Assert.True(Math.Abs(v) < 0.01, $"with a fixed threshold: {v}"));
    }

    [Fact]
    public void Weight_bounded_hebbian_learning_saturates_at_one_where_plain_hebb_grows_without_bound()
    {
        IPlasticityRule bounded = Rule("bounded_hebb"), plain = Rule("hebb_decay");
        const int inputs = 4;
        float[] Train(IPlasticityRule rule, float[] theta)
        {
            // Positive, correlated inputs: x_j = |g_0| + 0.2·|g_j|, so every synapse sees positive correlations.
            var random = new DeterministicRandom(21);
            float[] weights = Random(inputs, seed: 22, scale: 0.1);
            var x = new float[inputs];
            var scratch = new float[rule.ScratchLength(1, inputs)];
            for (int step = 0; step < 3000; step++)
            {
                double common = Math.Abs(random.NextNormal());
                for (int j = 0; j < inputs; j++) x[j] = (float)(common + 0.2 * Math.Abs(random.NextNormal()));
                Step(rule, weights, null, 1, inputs, x, theta, scratch);
            }

            return weights;
        }

        float[] soft = Train(bounded, Theta(bounded, (2, 0.01f)));
        float[] unbounded = Train(plain, Theta(plain, (0, 0.01f)));
        output.WriteLine($"bounded: {string.Join(", ", soft)}; plain: {string.Join(", ", unbounded)}");
        Assert.All(soft, w => Assert.InRange(w, 0.95f, 1.0f));
        Assert.All(unbounded, w => Assert.True(w > 10, $"plain Hebb: {w}"));
    }

    [Fact]
    public void L1_decayed_backprop_gives_sparser_weights_than_backprop_at_equal_accuracy()
    {
        // Three classes: the largest of x_0, x_1, x_2 (inputs uniform in [-1, 1]); inputs 3…19 are noise the task does not need.
        const int inputs = 20, classes = 3;
        (double Accuracy, double Sparsity) Train(IPlasticityRule rule, float[] theta)
        {
            var network = new Mlp([inputs, classes], Activation.Tanh);
            network.Initialize(InitScheme.Xavier, seed: 31);
            var learner = new OnlineLearner(network);
            var random = new DeterministicRandom(32);
            var x = new float[inputs];
            int Sample()
            {
                for (int j = 0; j < inputs; j++) x[j] = (float)(2 * random.NextDouble() - 1);
                return x[0] > x[1] ? (x[0] > x[2] ? 0 : 2) : (x[1] > x[2] ? 1 : 2);
            }

            for (int step = 0; step < 20000; step++)
            {
                int label = Sample();
                learner.Step(x, label, rule, theta);
            }

            int correct = 0;
            for (int t = 0; t < 2000; t++)
            {
                int label = Sample();
                if (learner.Predict(x) == label) correct++;
            }

            float[] w = network.Weights[0];
            return (correct / 2000.0, w.Count(v => Math.Abs(v) < 0.01f) / (double)w.Length);
        }

        IPlasticityRule l1 = Rule("l1_bp"), bp = Rule("bp");
        (double l1Accuracy, double l1Sparsity) = Train(l1, Theta(l1, (0, 0.02f), (3, 3e-4f)));
        (double bpAccuracy, double bpSparsity) = Train(bp, Theta(bp, (0, 0.02f)));
        output.WriteLine($"L1: accuracy {l1Accuracy:F3}, |w| < 0.01: {l1Sparsity:F3}; BP: accuracy {bpAccuracy:F3}, |w| < 0.01: {bpSparsity:F3}");
        // Equal accuracy within 2 points; most of the 51 weights from noise inputs exactly (within λ) zero.
        Assert.True(l1Accuracy >= bpAccuracy - 0.02, $"L1 accuracy {l1Accuracy} vs BP {bpAccuracy}");
        Assert.True(bpAccuracy > 0.8, $"BP accuracy {bpAccuracy}");
        Assert.True(l1Sparsity >= 0.5 && l1Sparsity >= bpSparsity + 0.4, $"sparsity L1 {l1Sparsity} vs BP {bpSparsity}");
    }
}
