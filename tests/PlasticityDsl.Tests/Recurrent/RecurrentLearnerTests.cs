using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Compiler;
using PlasticityDsl.Runtime.Recurrent;
using Xunit;
using Xunit.Abstractions;

namespace PlasticityDsl.Tests.Recurrent;

/// <summary>
/// BPTT of the RNN runtime against central finite differences of a double-precision reference, the split between the
/// rule's targets and the gradient steps, zero allocation per step, reproducibility and divergence reporting.
/// </summary>
public sealed class RecurrentLearnerTests(ITestOutputHelper output)
{
    private const int Inputs = 3, Hidden = 4, Outputs = 3, Steps = 6;

    private static IRecurrentRule Bptt => GeneratedRules.Recurrent.Single(r => r.Name == "bptt");
    private static IRecurrentRule BpttOja => GeneratedRules.Recurrent.Single(r => r.Name == "bptt_oja");

    private static float[] Theta(float t1 = 0f, float t2 = 0f)
    {
        var theta = new float[10];
        theta[1] = t1;
        theta[2] = t2;
        return theta;
    }

    private static RecurrentNetwork SmallNetwork(ulong seed = 7)
    {
        var network = new RecurrentNetwork(Inputs, Hidden, Outputs);
        network.Initialize(InitScheme.Xavier, seed);
        return network;
    }

    /// <summary>Every kind of input row: steps 1 and 2 equal, step 3 zero, the rest distinct; x_T is not zero, so ∂L/∂Wx has its e_T x_Tᵀ term.</summary>
    private static float[] SmallSequence()
    {
        var random = new Random(5);
        var x = new float[Steps * Inputs];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        x.AsSpan(0, Inputs).CopyTo(x.AsSpan(Inputs, Inputs));
        x.AsSpan(2 * Inputs, Inputs).Clear();
        return x;
    }

    [Fact]
    public void One_step_of_bptt_is_a_gradient_descent_step_on_every_matrix()
    {
        const float rate = 0.1f;
        const int label = 2;
        RecurrentNetwork network = SmallNetwork();
        float[] x = SmallSequence();
        (double[] wh, double[] wx, double[] wo) = (ToDouble(network.RecurrentWeights), ToDouble(network.InputWeights), ToDouble(network.ReadoutWeights));
        double loss = ReferenceLoss(wh, wx, wo, x, label);

        var learner = new RecurrentLearner(network, Steps, Bptt);
        learner.Step(x, label, Bptt, Theta(t1: -rate), rate);

        Assert.Equal(loss, learner.LastLoss, 1e-5);
        foreach ((string name, double[] before, float[] after) in new[] { ("Wh", wh, network.RecurrentWeights), ("Wx", wx, network.InputWeights), ("Wo", wo, network.ReadoutWeights) })
        {
            double[] expected = FiniteDifferenceGradient(before, () => ReferenceLoss(wh, wx, wo, x, label));
            double error = 0, norm = 0;
            for (int k = 0; k < before.Length; k++)
            {
                double gradient = -(after[k] - before[k]) / rate;
                error += (gradient - expected[k]) * (gradient - expected[k]);
                norm += expected[k] * expected[k];
            }

            double relative = Math.Sqrt(error / norm);
            output.WriteLine($"{name}: ‖∂L/∂W‖ = {Math.Sqrt(norm):G4}, relative error of the step against central differences {relative:G3}");
            Assert.True(norm > 1e-6, $"{name}: the gradient is too small to test");
            Assert.True(relative < 1e-4, $"{name}: relative error {relative:G3}");
        }
    }

    [Fact]
    public void The_errors_are_the_gradients_of_the_loss_with_respect_to_the_hidden_states()
    {
        // e_t = ∂L/∂z_t: perturbing z_t is perturbing the drive of step t, which a bias on step t's input does.
        RecurrentNetwork network = SmallNetwork(3);
        float[] x = SmallSequence();
        var learner = new RecurrentLearner(network, Steps, Bptt);
        (double[] wh, double[] wx, double[] wo) = (ToDouble(network.RecurrentWeights), ToDouble(network.InputWeights), ToDouble(network.ReadoutWeights));
        learner.Step(x, 1, Bptt, Theta(), 0f);
        for (int t = 0; t < Steps; t++)
        {
            for (int i = 0; i < Hidden; i++)
            {
                const double h = 1e-5;
                double up = ReferenceLoss(wh, wx, wo, x, 1, (t, i, h)), down = ReferenceLoss(wh, wx, wo, x, 1, (t, i, -h));
                Assert.Equal((up - down) / (2 * h), learner.Errors[t * Hidden + i], 1e-5);
            }
        }
    }

    [Fact]
    public void The_rule_updates_its_targets_and_the_gradient_rate_trains_the_rest()
    {
        float[] x = SmallSequence();
        RecurrentNetwork fixedRest = SmallNetwork(), reference = SmallNetwork();
        float[] wx = (float[])fixedRest.InputWeights.Clone(), wo = (float[])fixedRest.ReadoutWeights.Clone();
        new RecurrentLearner(fixedRest, Steps).Step(x, 0, Bptt, Theta(t1: -0.1f), 0f);
        Assert.Equal(wx, fixedRest.InputWeights);
        Assert.Equal(wo, fixedRest.ReadoutWeights);

        // With a zero rule coefficient only the gradient steps on Wx and Wo move anything.
        float[] wh = (float[])reference.RecurrentWeights.Clone();
        new RecurrentLearner(reference, Steps).Step(x, 0, Bptt, Theta(), 0.1f);
        Assert.Equal(wh, reference.RecurrentWeights);
        Assert.NotEqual(wx, reference.InputWeights);
        Assert.NotEqual(wo, reference.ReadoutWeights);
    }

    [Fact]
    public void A_rule_that_writes_dWx_and_dWo_takes_them_over_and_complete_BPTT_is_expressible_when_x_T_is_zero()
    {
        // sum_t runs over t = 1…T−1, so sum_t(e_t*x_t') is all of ∂L/∂Wx exactly when x_T = 0, as in the delayed-memory task.
        IRecurrentRule complete = RuleCompiler.Compile<IRecurrentRule>(
            "dWh = t1*sum_t(e_<t+1>*f(z_t)')\ndWx = t1*sum_t(e_t*x_t')\ndWo = t1*e_o*f(z_T)'", "bptt_complete");
        Assert.Equal(new[] { "dWh", "dWx", "dWo" }, complete.Targets);
        var task = new DelayedMemoryTask(Inputs, Steps, presentationSteps: 2);
        ReadOnlySpan<float> x = task.Sequence([0.5f, -1f, 0.25f]);

        RecurrentNetwork byRule = SmallNetwork(), byGradient = SmallNetwork();
        // The gradient rate would double every step of Wx and Wo if the learner applied it to the rule's targets too.
        new RecurrentLearner(byRule, Steps).Step(x, 1, complete, Theta(t1: -0.1f), 0.1f);
        new RecurrentLearner(byGradient, Steps).Step(x, 1, Bptt, Theta(t1: -0.1f), 0.1f);
        AssertClose(byGradient.RecurrentWeights, byRule.RecurrentWeights);
        AssertClose(byGradient.InputWeights, byRule.InputWeights);
        AssertClose(byGradient.ReadoutWeights, byRule.ReadoutWeights);
    }

    [Fact]
    public void A_step_allocates_nothing()
    {
        var network = new RecurrentNetwork(20, 16, 10);
        network.Initialize(InitScheme.Xavier, 1);
        var task = new DelayedMemoryTask(20, steps: 12, presentationSteps: 3);
        var learner = new RecurrentLearner(network, 12, BpttOja);
        float[] image = Enumerable.Range(0, 20).Select(i => i / 20f).ToArray();
        float[] images = Enumerable.Range(0, 20 * 40).Select(i => (i % 7) / 7f).ToArray();
        byte[] labels = Enumerable.Range(0, 40).Select(i => (byte)(i % 10)).ToArray();
        float[] theta = Theta(t1: -0.01f, t2: 0.001f);
        learner.Step(task.Sequence(image), 3, BpttOja, theta, 0.01f);

        Allocations.AssertNone(() =>
        {
            for (int i = 0; i < 5; i++)
            {
                learner.Step(task.Sequence(image), i, BpttOja, theta, 0.01f);
                learner.Predict(task.Sequence(image));
            }
            task.Accuracy(learner, images, labels, 40);
        });
    }

    [Fact]
    public void The_same_seed_gives_bit_identical_weights_before_and_after_training()
    {
        float[][] Train(ulong seed)
        {
            var network = new RecurrentNetwork(Inputs, Hidden, Outputs);
            network.Initialize(InitScheme.Xavier, seed);
            var learner = new RecurrentLearner(network, Steps);
            float[] x = SmallSequence();
            for (int i = 0; i < 20; i++) learner.Step(x, i % Outputs, BpttOja, Theta(t1: -0.05f, t2: 0.01f), 0.05f);
            return [network.RecurrentWeights, network.InputWeights, network.ReadoutWeights];
        }

        Assert.Equal(Train(42), Train(42));
        Assert.NotEqual(Train(42)[0], Train(43)[0]);

        RecurrentNetwork a = SmallNetwork(9), b = SmallNetwork(9);
        Assert.Equal(a.RecurrentWeights, b.RecurrentWeights);
        Assert.Equal(a.InputWeights, b.InputWeights);
        Assert.Equal(a.ReadoutWeights, b.ReadoutWeights);
    }

    [Fact]
    public void Xavier_bounds_each_matrix_by_its_own_fans()
    {
        var network = new RecurrentNetwork(30, 20, 5);
        network.Initialize(InitScheme.Xavier, 1);
        // The largest of ≥ 100 uniform draws lies within 10 % of the bound (failure probability below 0.9^100).
        foreach ((float[] weights, double bound) in new[]
        {
            (network.RecurrentWeights, Initialization.XavierBound(20, 20)),
            (network.InputWeights, Initialization.XavierBound(30, 20)),
            (network.ReadoutWeights, Initialization.XavierBound(20, 5)),
        })
        {
            Assert.InRange(weights.Max(Math.Abs), 0.9 * bound, bound);
        }
    }

    [Fact]
    public void Divergence_names_the_matrix_and_the_step()
    {
        RecurrentNetwork network = SmallNetwork();
        var learner = new RecurrentLearner(network, Steps);
        float[] x = SmallSequence();
        learner.Step(x, 0, Bptt, Theta(t1: -0.1f), 0.1f);
        learner.Step(x, 1, Bptt, Theta(t1: -0.1f), 0.1f);
        var error = Assert.Throws<TrainingDivergedException>(() => learner.Step(x, 2, Bptt, Theta(t1: float.NaN), 0.1f));
        Assert.Equal("Wh", error.Matrix);
        Assert.Equal(3, error.Step);
        Assert.Contains("Wh", error.Message);
    }

    [Fact]
    public void Bad_arguments_are_rejected_before_anything_changes()
    {
        RecurrentNetwork network = SmallNetwork();
        float[] wh = (float[])network.RecurrentWeights.Clone();
        var learner = new RecurrentLearner(network, Steps);
        float[] x = SmallSequence();
        Assert.Throws<ArgumentOutOfRangeException>(() => learner.Step(x, Outputs, Bptt, Theta(), 0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => learner.Step(x, 0, Bptt, Theta(), -0.1f));
        Assert.Throws<ArgumentException>(() => learner.Step(x.AsSpan(1), 0, Bptt, Theta(), 0.1f));
        Assert.Throws<ArgumentException>(() => learner.Step(x, 0, BpttOja, new float[2], 0.1f));
        x[4] = float.NaN;
        Assert.Throws<ArgumentException>(() => learner.Step(x, 0, Bptt, Theta(), 0.1f));
        Assert.Equal(wh, network.RecurrentWeights);
        Assert.Equal(0, learner.StepCount);
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        for (int k = 0; k < expected.Length; k++) Assert.Equal(expected[k], actual[k], 1e-6f);
    }

    private static double[] ToDouble(float[] values) => values.Select(v => (double)v).ToArray();

    /// <summary>Central differences of <paramref name="loss"/> with respect to each entry of <paramref name="weights"/>, perturbed in place.</summary>
    private static double[] FiniteDifferenceGradient(double[] weights, Func<double> loss)
    {
        const double h = 1e-6;
        var gradient = new double[weights.Length];
        for (int k = 0; k < weights.Length; k++)
        {
            double w = weights[k];
            weights[k] = w + h;
            double up = loss();
            weights[k] = w - h;
            double down = loss();
            weights[k] = w;
            gradient[k] = (up - down) / (2 * h);
        }

        return gradient;
    }

    /// <summary>
    /// The loss of the network written out in doubles: z_1 = Wx x_1, z_(t+1) = Wh tanh(z_t) + Wx x_(t+1),
    /// −log softmax(Wo tanh(z_T))[label]; <paramref name="shift"/> adds to one entry of one z_t.
    /// </summary>
    private static double ReferenceLoss(double[] wh, double[] wx, double[] wo, float[] x, int label, (int Step, int Unit, double Amount) shift = default)
    {
        var z = new double[Hidden];
        var y = new double[Hidden];
        for (int t = 0; t < Steps; t++)
        {
            for (int i = 0; i < Hidden; i++)
            {
                double sum = 0;
                if (t > 0) for (int j = 0; j < Hidden; j++) sum += wh[i * Hidden + j] * y[j];
                for (int j = 0; j < Inputs; j++) sum += wx[i * Inputs + j] * x[t * Inputs + j];
                z[i] = sum + (shift.Step == t && shift.Unit == i ? shift.Amount : 0);
            }
            for (int i = 0; i < Hidden; i++) y[i] = Math.Tanh(z[i]);
        }

        var logits = new double[Outputs];
        for (int o = 0; o < Outputs; o++)
        {
            for (int j = 0; j < Hidden; j++) logits[o] += wo[o * Hidden + j] * y[j];
        }
        double max = logits.Max();
        return Math.Log(logits.Sum(v => Math.Exp(v - max))) + max - logits[label];
    }
}
