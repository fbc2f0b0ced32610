using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.Training;

public class OnlineLearnerTests
{
    private static readonly int[] PaperSizes = [784, 170, 130, 100, 70, 10];

    private static float[] Theta(float t0 = 0f, float t1 = 0f, float t2 = 0f, float t9 = 0f)
    {
        var theta = new float[10];
        theta[0] = t0;
        theta[1] = t1;
        theta[2] = t2;
        theta[9] = t9;
        return theta;
    }

    private static float[] RandomInput(DeterministicRandom random, int length)
    {
        var x = new float[length];
        for (int i = 0; i < length; i++)
        {
            x[i] = (float)random.NextDouble();
        }
        return x;
    }

    [Theory]
    [InlineData("softplus")]
    [InlineData("tanh")]
    [InlineData("elu")]
    public void BackpropStepEqualsMinusEtaTimesFiniteDifferenceGradient(string activation)
    {
        var network = new Mlp([6, 5, 4, 3], Activation.Parse(activation));
        network.Initialize(InitScheme.Xavier, seed: 7);
        var random = new DeterministicRandom(99);
        float[] x = RandomInput(random, 6);
        const int label = 1;
        const float eta = 0.5f;
        float[][] before = network.Weights.Select(w => (float[])w.Clone()).ToArray();
        var reference = new ReferenceMlp(network);

        new OnlineLearner(network).Step(x, label, HandWrittenRules.Backprop, Theta(t0: eta));

        const double h = 1e-6;
        for (int l = 1; l <= network.LayerCount; l++)
        {
            var w = reference.W[l - 1];
            int n = w.GetLength(1);
            double diff = 0, norm = 0;
            for (int i = 0; i < w.GetLength(0); i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double original = w[i, j];
                    w[i, j] = original + h;
                    double plus = reference.Loss(x, label);
                    w[i, j] = original - h;
                    double minus = reference.Loss(x, label);
                    w[i, j] = original;
                    double expected = -eta * (plus - minus) / (2 * h);
                    double actual = network.Weights[l - 1][i * n + j] - (double)before[l - 1][i * n + j];
                    diff += (actual - expected) * (actual - expected);
                    norm += expected * expected;
                }
            }
            Assert.True(norm > 1e-12, $"layer {l}: gradient vanished, the test would be vacuous");
            double relative = Math.Sqrt(diff / norm);
            Assert.True(relative < 1e-3, $"{activation}, W_{l}: ‖ΔW + η∇L‖/‖η∇L‖ = {relative:E2}");
        }
    }

    public static TheoryData<string, string, float, float, float> ReferenceCases => new()
    {
        { "softplus", "backprop_oja", 0.05f, 0f, 0.01f },
        { "tanh", "backprop_oja", 0.05f, 0f, 0.01f },
        { "softplus", "oja", 0f, 0f, 0.02f },
        { "softplus", "backprop_error_product", 0.05f, 0.01f, 0f },
    };

    [Theory]
    [MemberData(nameof(ReferenceCases))]
    public void ThreeHundredStepsAgreeWithNaiveDoublePrecisionReference(string activation, string ruleName, float t0, float t1, float t2)
    {
        IPlasticityRule rule = ruleName switch
        {
            "backprop_oja" => HandWrittenRules.BackpropOja,
            "oja" => HandWrittenRules.Oja,
            _ => HandWrittenRules.BackpropErrorProduct,
        };
        var network = new Mlp([12, 9, 7, 5, 4], Activation.Parse(activation));
        network.Initialize(InitScheme.Xavier, seed: 3);
        var reference = new ReferenceMlp(network);
        float[][] initial = network.CopyWeights();
        var learner = new OnlineLearner(network, rule);
        var random = new DeterministicRandom(2024);
        float[] theta = Theta(t0, t1, t2);
        for (int step = 0; step < 300; step++)
        {
            float[] x = RandomInput(random, 12);
            int label = random.NextInt(4);
            double expectedLoss = reference.Loss(x, label);
            reference.Step(x, label, t0, t1, t2);
            learner.Step(x, label, rule, theta);
            Assert.Equal(expectedLoss, learner.LastLoss, 1e-4 * Math.Max(1, expectedLoss));
        }
        Assert.Equal(300, learner.StepCount);
        for (int l = 1; l <= network.LayerCount; l++)
        {
            double relative = reference.RelativeDifference(network, l);
            Assert.True(relative < 1e-4, $"{activation}/{ruleName}, W_{l}: relative difference {relative:E2} after 300 steps");
            double moved = Math.Sqrt(network.Weights[l - 1].Zip(initial[l - 1], (a, b) => (double)(a - b) * (a - b)).Sum()
                / initial[l - 1].Sum(v => (double)v * v));
            Assert.True(moved > 1e-2, $"W_{l} moved only {moved:E2}: the comparison would be vacuous");
        }
    }

    [Fact]
    public void ExposesSignalsOfTheLastStepAndComputesOnlyTheErrorsTheRuleReads()
    {
        var network = new Mlp([8, 6, 5, 3]);
        network.Initialize(InitScheme.Xavier, seed: 11);
        var learner = new OnlineLearner(network);
        var random = new DeterministicRandom(5);
        float[] x = RandomInput(random, 8);

        var reference = new ReferenceMlp(network);
        var (z, y) = reference.Forward(x);
        var e = reference.Errors(z, y, label: 2);
        learner.Step(x, 2, HandWrittenRules.BackpropErrorProduct, Theta(t0: 0.1f, t1: 0.1f));
        Assert.Equal(RuleSignals.PostError | RuleSignals.PreError, learner.ComputedErrors);
        for (int l = 0; l <= 3; l++)
        {
            AssertClose(y[l], learner.Activations(l), $"y_{l}");
            AssertClose(e[l], learner.Errors(l), $"e_{l}");
            if (l > 0)
            {
                AssertClose(z[l], learner.PreActivations(l), $"z_{l}");
            }
        }
        Assert.Equal(1.0, learner.Activations(3).ToArray().Sum(), 1e-6);

        learner.Step(x, 2, HandWrittenRules.Backprop, Theta(t0: 0.1f));
        Assert.Equal(RuleSignals.PostError, learner.ComputedErrors);
        Assert.All(learner.Errors(0).ToArray(), v => Assert.Equal(0f, v));
        Assert.Contains(learner.Errors(1).ToArray(), v => v != 0f);

        learner.Step(x, 2, HandWrittenRules.Oja, Theta(t2: 0.1f));
        Assert.Equal(RuleSignals.None, learner.ComputedErrors);
        for (int l = 0; l <= 3; l++)
        {
            Assert.All(learner.Errors(l).ToArray(), v => Assert.Equal(0f, v));
        }
    }

    private static void AssertClose(double[] expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
        }
    }

    [Fact]
    public void StepPredictAndAccuracyAllocateNothing()
    {
        var network = new Mlp(PaperSizes);
        network.Initialize(InitScheme.Xavier, seed: 1);
        var learner = new OnlineLearner(network);
        var random = new DeterministicRandom(8);
        const int samples = 16;
        float[] images = RandomInput(random, samples * 784);
        var labels = new byte[samples];
        for (int i = 0; i < samples; i++)
        {
            labels[i] = (byte)random.NextInt(10);
        }
        float[] bp = Theta(t0: 0.01f);
        float[] bpOja = Theta(t0: 0.01f, t2: 0.001f);

        void Run(int steps)
        {
            for (int s = 0; s < steps; s++)
            {
                int i = s % samples;
                learner.Step(images.AsSpan(i * 784, 784), labels[i], HandWrittenRules.Backprop, bp);
                learner.Step(images.AsSpan(i * 784, 784), labels[i], HandWrittenRules.BackpropOja, bpOja);
                learner.Step(images.AsSpan(i * 784, 784), labels[i], HandWrittenRules.BackpropErrorProduct, bp);
            }
        }

        Run(20); // warm up: JIT, kernel scratch
        Allocations.AssertNone(() => Run(100));

        int sink = 0;
        for (int s = 0; s < 20; s++)
        {
            sink += learner.Predict(images.AsSpan((s % samples) * 784, 784));
        }
        _ = learner.Accuracy(images, labels, samples);
        double accuracy = 0;
        Allocations.AssertNone(() =>
        {
            for (int s = 0; s < 100; s++)
            {
                sink += learner.Predict(images.AsSpan((s % samples) * 784, 784));
            }
            accuracy = learner.Accuracy(images, labels, samples);
        });
        Assert.InRange(accuracy, 0, 1);
        Assert.True(sink >= 0);
    }

    [Fact]
    public void PredictAndAccuracyMatchTheReference()
    {
        var network = new Mlp([10, 8, 4], Activation.Tanh);
        network.Initialize(InitScheme.Xavier, seed: 21);
        var reference = new ReferenceMlp(network);
        var learner = new OnlineLearner(network);
        var random = new DeterministicRandom(4);
        const int count = 50;
        float[] images = RandomInput(random, count * 10);
        var labels = new byte[count];
        int expectedCorrect = 0;
        for (int i = 0; i < count; i++)
        {
            labels[i] = (byte)random.NextInt(4);
            var (_, y) = reference.Forward(images.AsSpan(i * 10, 10));
            int argmax = Array.IndexOf(y[2], y[2].Max());
            Assert.Equal(argmax, learner.Predict(images.AsSpan(i * 10, 10)));
            expectedCorrect += argmax == labels[i] ? 1 : 0;
        }
        Assert.Equal(expectedCorrect / (double)count, learner.Accuracy(images, labels, count));
        Assert.Equal(0, learner.StepCount); // prediction is not a step
    }

    [Fact]
    public void AccuracyIsTheSameOnAnyNumberOfThreads()
    {
        var network = new Mlp([10, 8, 4], Activation.Softplus);
        network.Initialize(InitScheme.Xavier, seed: 5);
        var learner = new OnlineLearner(network);
        var random = new DeterministicRandom(6);
        const int block = PackedGemm.BlockInputs, count = 7 * block + 5; // 8 blocks, the last partial
        float[] images = RandomInput(random, count * 10);
        var labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            // Block b is labelled as predicted for its first 13·b samples, wrongly after: a block counted twice or
            // skipped changes the total.
            int predicted = learner.Predict(images.AsSpan(i * 10, 10));
            labels[i] = (byte)(i % block < 13 * (i / block) ? predicted : (predicted + 1) % 4);
        }

        double single = learner.Accuracy(images, labels, count);
        Assert.InRange(single * count, 13 * 21 + 5 - 3, 13 * 21 + 5 + 3); // Σ 13·b over b < 7 and the 5 of block 7, give or take near-ties
        foreach (int threads in new[] { 2, 3, 4, 16 })
        {
            Assert.Equal(single, learner.Accuracy(images, labels, count, threads));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => learner.Accuracy(images, labels, count, 0));
    }

    [Fact]
    public void HugeLearningRateThrowsTrainingDivergedNamingLayerAndStep()
    {
        var network = new Mlp([20, 16, 12, 8, 5]);
        network.Initialize(InitScheme.Xavier, seed: 2);
        var learner = new OnlineLearner(network);
        var random = new DeterministicRandom(3);
        float[] theta = Theta(t0: 1e12f);
        var exception = Assert.Throws<TrainingDivergedException>(() =>
        {
            for (int s = 0; s < 100; s++)
            {
                learner.Step(RandomInput(random, 20), random.NextInt(5), HandWrittenRules.Backprop, theta);
            }
        });
        Assert.InRange(exception.Layer, 1, 4);
        Assert.InRange(exception.Step, 2, 100); // one step of 1e12 leaves finite (huge) weights
        Assert.Equal(learner.StepCount, exception.Step);
        // The weights (W_l) or, first, the output they produce (z_L) overflow.
        Assert.Matches($@"^training diverged: [Wz]_{exception.Layer} has a non-finite value after step {exception.Step} \(lower the learning rate\)$", exception.Message);
    }

    [Fact]
    public void InjectedNaNIsReportedForItsLayerAndStep()
    {
        var network = new Mlp([9, 7, 6, 5, 3]);
        network.Initialize(InitScheme.Xavier, seed: 4);
        var learner = new OnlineLearner(network);
        float[] x = RandomInput(new DeterministicRandom(1), 9);
        float[] theta = Theta(t9: 0.001f);
        for (int s = 0; s < 41; s++)
        {
            learner.Step(x, 0, HandWrittenRules.Decay, theta);
        }
        network.Weights[2][7] = float.NaN; // W_3

        var exception = Assert.Throws<TrainingDivergedException>(() => learner.Step(x, 0, HandWrittenRules.Decay, theta));
        Assert.Equal(3, exception.Layer);
        Assert.Equal(42, exception.Step);
        Assert.Contains("W_3", exception.Message);
        Assert.Contains("after step 42", exception.Message);

        network.Initialize(InitScheme.Xavier, seed: 4);
        network.Weights[1][0] = float.PositiveInfinity; // W_2, under backprop the bad value spreads to every layer
        exception = Assert.Throws<TrainingDivergedException>(() => learner.Step(x, 0, HandWrittenRules.Backprop, Theta(t0: 0.01f)));
        Assert.Equal(43, exception.Step);
        Assert.InRange(exception.Layer, 1, 2);
    }

    [Fact]
    public void RejectsBadInputs()
    {
        var network = new Mlp([4, 3, 2]);
        var learner = new OnlineLearner(network);
        float[] theta = Theta(t0: 0.1f);
        Assert.Throws<ArgumentException>(() => learner.Step(new float[5], 0, HandWrittenRules.Backprop, theta));
        var nanInput = Assert.Throws<ArgumentException>(() => learner.Step([0f, float.NaN, 0f, 0f], 0, HandWrittenRules.Backprop, theta));
        Assert.Contains("non-finite", nanInput.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => learner.Step(new float[4], 2, HandWrittenRules.Backprop, theta));
        Assert.Throws<ArgumentOutOfRangeException>(() => learner.Step(new float[4], -1, HandWrittenRules.Backprop, theta));
        var shortTheta = Assert.Throws<ArgumentException>(() => learner.Step(new float[4], 0, HandWrittenRules.Oja, new float[2]));
        Assert.Contains("t2", shortTheta.Message);
        Assert.Throws<ArgumentException>(() => learner.Accuracy(new float[7], new byte[2], 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => learner.Activations(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => learner.PreActivations(0));
        Assert.Equal(0, learner.StepCount);
    }

    [Fact]
    public void StepIsAFunctionOfWeightsSampleAndTheta()
    {
        // Two learners on copies of one network, one of which first runs unrelated forward passes, stay identical.
        var a = new Mlp([10, 7, 3]);
        a.Initialize(InitScheme.Xavier, seed: 9);
        var b = a.Clone();
        var learnerA = new OnlineLearner(a);
        var learnerB = new OnlineLearner(b);
        var random = new DeterministicRandom(6);
        learnerB.Forward(RandomInput(random, 10));
        learnerB.Step(RandomInput(random, 10), 1, HandWrittenRules.Oja, Theta(t2: 0.1f));
        b.LoadWeights(a);
        float[] theta = Theta(t0: 0.1f, t2: 0.01f);
        for (int s = 0; s < 20; s++)
        {
            float[] x = RandomInput(random, 10);
            int label = random.NextInt(3);
            learnerA.Step(x, label, HandWrittenRules.BackpropOja, theta);
            learnerB.Step(x, label, HandWrittenRules.BackpropOja, theta);
        }
        for (int l = 0; l < 2; l++)
        {
            Assert.Equal(a.Weights[l], b.Weights[l]);
        }
    }
}
