using System.Runtime.InteropServices;
using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.Training;

/// <summary>
/// A step given the next input (<c>Step(x, label, rule, θ, next)</c>) computes that input's forward pass fused with its
/// update, and the following step starts from it: every weight, signal, loss and divergence must be bit for bit those
/// of plain steps.
/// </summary>
public class PreparedStepTests
{
    private static readonly int[] PaperSizes = [784, 170, 130, 100, 70, 10];
    private const int Samples = 24;

    public static TheoryData<string> RuleNames()
    {
        var names = new TheoryData<string>();
        foreach (IPlasticityRule rule in GeneratedRules.All) names.Add(rule.Name);
        return names;
    }

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void PreparedStepsEqualPlainStepsBitForBit(string ruleName)
    {
        IPlasticityRule rule = GeneratedRules.All.Single(r => r.Name == ruleName);
        var (images, labels) = Data(seed: 5);
        float[] theta = Theta(rule, 0.01f);
        Mlp plain = Network(rule, seed: 3), prepared = plain.Clone();
        var plainLearner = new OnlineLearner(plain, rule);
        var preparedLearner = new OnlineLearner(prepared, rule);
        var random = new DeterministicRandom(11);
        int index = 0;
        for (int s = 0; s < 300; s++)
        {
            // Now and then the next step is not on the input prepared for it, or the weights are loaded anew, or a
            // forward pass of another input overwrites the workspace in between.
            int next = random.NextInt(8) == 0 ? random.NextInt(Samples) : (index + 1) % Samples;
            Exception? plainFailure = Record(() => plainLearner.Step(Image(images, index), labels[index], rule, theta));
            Exception? preparedFailure = Record(() => preparedLearner.Step(Image(images, index), labels[index], rule, theta, Image(images, next)));
            AssertSameOutcome(plainFailure, preparedFailure, s);
            AssertSameState(plainLearner, preparedLearner, s);
            if (plainFailure is not null) return;
            if (s == 150)
            {
                float[][] restart = plain.CopyWeights();
                restart[0][7] += 0.25f;
                plain.LoadWeights(restart);
                prepared.LoadWeights(restart);
            }
            if (s % 37 == 0)
            {
                Assert.Equal(plainLearner.Predict(Image(images, next)), preparedLearner.Predict(Image(images, next)));
            }
            index = random.NextInt(16) == 0 ? random.NextInt(Samples) : next;
        }
    }

    [Fact]
    public void DivergenceIsReportedForTheSameLayerStepAndMatrix()
    {
        var (images, labels) = Data(seed: 6);
        foreach (float rate in new[] { 1e6f, 1e12f, 1e30f })
        {
            IPlasticityRule rule = GeneratedRules.All.Single(r => r.Name == "bp_oja");
            float[] theta = Theta(rule, rate);
            Mlp plain = Network(rule, seed: 4), prepared = plain.Clone();
            var plainLearner = new OnlineLearner(plain, rule);
            var preparedLearner = new OnlineLearner(prepared, rule);
            var plainFailure = Assert.Throws<TrainingDivergedException>(() =>
            {
                for (int s = 0; s < 200; s++) plainLearner.Step(Image(images, s % Samples), labels[s % Samples], rule, theta);
            });
            var preparedFailure = Assert.Throws<TrainingDivergedException>(() =>
            {
                for (int s = 0; s < 200; s++) preparedLearner.Step(Image(images, s % Samples), labels[s % Samples], rule, theta, Image(images, (s + 1) % Samples));
            });
            Assert.Equal((plainFailure.Layer, plainFailure.Step, plainFailure.Message), (preparedFailure.Layer, preparedFailure.Step, preparedFailure.Message));
            AssertSameWeights(plain, prepared, (int)plainFailure.Step);
        }
    }

    [Fact]
    public void PreparedStepsAllocateNothing()
    {
        IPlasticityRule rule = GeneratedRules.All.Single(r => r.Name == "bp_oja");
        var (images, labels) = Data(seed: 7);
        float[] theta = Theta(rule, 0.001f);
        var learner = new OnlineLearner(Network(rule, seed: 5), rule);

        void Run(int steps)
        {
            for (int s = 0; s < steps; s++) learner.Step(Image(images, s % Samples), labels[s % Samples], rule, theta, Image(images, (s + 1) % Samples));
        }

        Run(20);
        Allocations.AssertNone(() => Run(100));
    }

    [Fact]
    public void RejectsABadNextInputBeforeTouchingTheNetwork()
    {
        IPlasticityRule rule = GeneratedRules.All.Single(r => r.Name == "bp");
        var (images, labels) = Data(seed: 8);
        Mlp network = Network(rule, seed: 6);
        float[][] before = network.CopyWeights();
        var learner = new OnlineLearner(network, rule);
        float[] theta = Theta(rule, 0.01f);
        var wrongLength = Assert.Throws<ArgumentException>(() => learner.Step(Image(images, 0), labels[0], rule, theta, new float[783]));
        Assert.Equal("next", wrongLength.ParamName);
        float[] nan = Image(images, 1).ToArray();
        nan[5] = float.NaN;
        var nonFinite = Assert.Throws<ArgumentException>(() => learner.Step(Image(images, 0), labels[0], rule, theta, nan));
        Assert.Contains("non-finite", nonFinite.Message);
        Assert.Equal(0, learner.StepCount);
        for (int l = 0; l < network.LayerCount; l++) AssertSameBits(before[l], network.Weights[l], $"W_{l + 1}", 0);
    }

    /// <summary>Each kernel's ApplyAndMultiply against Apply, then MultiplyVector, on shapes whose rows are and are not
    /// whole groups of four and whose columns are not whole vectors: the same W, B and state, and the same product.</summary>
    [Theory]
    [MemberData(nameof(RuleNames))]
    public void ApplyAndMultiplyEqualsApplyThenMultiplyVector(string ruleName)
    {
        IPlasticityRule rule = GeneratedRules.All.Single(r => r.Name == ruleName);
        float[] theta = Theta(rule, 0.01f);
        var random = new DeterministicRandom(21);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        foreach ((int rows, int columns) in new[] { (1, 3), (3, 17), (4, 16), (7, 33), (10, 70), (13, 130) })
        {
            float[] weights = Values(rows * columns), feedback = Values(rows * columns), next = Values(columns);
            float[] post = Values(rows), pre = Values(columns), z = Values(rows), postError = Values(rows), preError = Values(columns);
            var state = new float[rule.StateLength(rows, columns)];
            rule.InitializeState(state, rows, columns);
            float[] plainWeights = (float[])weights.Clone(), plainFeedback = (float[])feedback.Clone(), plainState = (float[])state.Clone();
            var scratch = new float[rule.ScratchLength(rows, columns)];
            var product = new float[rows];
            var plainProduct = new float[rows];

            rule.Apply(new LayerSignals(plainWeights, plainFeedback, rows, columns, post, pre, z, postError, preError, Activation.Softplus) { State = plainState }, theta, scratch);
            KernelPrimitives.MultiplyVector(plainWeights, rows, columns, next, plainProduct);
            rule.ApplyAndMultiply(new LayerSignals(weights, feedback, rows, columns, post, pre, z, postError, preError, Activation.Softplus) { State = state }, theta, scratch, next, product);

            string shape = $"{rows}×{columns}";
            AssertSameBits(plainWeights, weights, "W " + shape, 0);
            AssertSameBits(plainFeedback, feedback, "B " + shape, 0);
            AssertSameBits(plainState, state, "state " + shape, 0);
            AssertSameBits(plainProduct, product, "W x " + shape, 0);
        }
    }

    /// <summary>With no next input, ApplyAndMultiply is Apply alone: in a generated kernel and in the interface's default
    /// (a hand-written kernel).</summary>
    [Fact]
    public void ApplyAndMultiplyWithoutAnInputIsApply()
    {
        foreach (IPlasticityRule rule in new[] { GeneratedRules.All.Single(r => r.Name == "bp_oja"), HandWrittenRules.BackpropOja })
        {
            const int rows = 7, columns = 33;
            float[] theta = Theta(rule, 0.01f);
            var random = new DeterministicRandom(23);
            float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
            float[] weights = Values(rows * columns), post = Values(rows), pre = Values(columns), z = Values(rows), postError = Values(rows);
            float[] plainWeights = (float[])weights.Clone();
            var scratch = new float[rule.ScratchLength(rows, columns)];
            rule.Apply(new LayerSignals(plainWeights, default, rows, columns, post, pre, z, postError, default, Activation.Softplus), theta, scratch);
            rule.ApplyAndMultiply(new LayerSignals(weights, default, rows, columns, post, pre, z, postError, default, Activation.Softplus), theta, scratch, default, default);
            AssertSameBits(plainWeights, weights, rule.GetType().Name + " W", 0);
        }
    }

    private static Mlp Network(IPlasticityRule rule, ulong seed)
    {
        var network = new Mlp(PaperSizes, Activation.Softplus,
            (rule.Signals & RuleSignals.Feedback) != 0 ? FeedbackMode.Random : FeedbackMode.Symmetric);
        network.Initialize(InitScheme.Xavier, seed);
        return network;
    }

    // Every t_k set to value, the rule's parameters at their defaults.
    private static float[] Theta(IPlasticityRule rule, float value)
    {
        var theta = new float[10 + rule.Parameters.Count];
        theta.AsSpan(0, 10).Fill(value);
        foreach (RuleParameter parameter in rule.Parameters) theta[parameter.Index] = parameter.Default;
        return theta;
    }

    private static (float[] Images, byte[] Labels) Data(ulong seed)
    {
        var random = new DeterministicRandom(seed);
        var images = new float[Samples * 784];
        for (int i = 0; i < images.Length; i++) images[i] = random.NextInt(3) == 0 ? 0f : (float)random.NextDouble();
        var labels = new byte[Samples];
        for (int i = 0; i < Samples; i++) labels[i] = (byte)random.NextInt(10);
        return (images, labels);
    }

    private static ReadOnlySpan<float> Image(float[] images, int index) => images.AsSpan(index * 784, 784);

    private static Exception? Record(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (TrainingDivergedException ex)
        {
            return ex;
        }
    }

    private static void AssertSameOutcome(Exception? plain, Exception? prepared, int step) =>
        Assert.True(plain?.Message == prepared?.Message, $"step {step}: plain '{plain?.Message}', prepared '{prepared?.Message}'");

    private static void AssertSameState(OnlineLearner plain, OnlineLearner prepared, int step)
    {
        Assert.Equal(plain.StepCount, prepared.StepCount);
        Assert.True(Bits(plain.LastLoss) == Bits(prepared.LastLoss), $"step {step}: loss {plain.LastLoss} against {prepared.LastLoss}");
        for (int l = 0; l <= plain.LayerCount; l++)
        {
            AssertSameBits(plain.Activations(l), prepared.Activations(l), $"y_{l}", step);
            AssertSameBits(plain.Errors(l), prepared.Errors(l), $"e_{l}", step);
            if (l > 0) AssertSameBits(plain.PreActivations(l), prepared.PreActivations(l), $"z_{l}", step);
        }
        AssertSameWeights(plain.Network, prepared.Network, step);
    }

    private static void AssertSameWeights(Mlp plain, Mlp prepared, int step)
    {
        for (int l = 0; l < plain.LayerCount; l++)
        {
            AssertSameBits(plain.Weights[l], prepared.Weights[l], $"W_{l + 1}", step);
            if (plain.HasSeparateFeedback) AssertSameBits(plain.Feedback[l], prepared.Feedback[l], $"B_{l + 1}", step);
            AssertSameBits(plain.State[l], prepared.State[l], $"S_{l + 1}", step);
        }
    }

    private static void AssertSameBits(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what, int step) =>
        Assert.True(MemoryMarshal.Cast<float, int>(expected).SequenceEqual(MemoryMarshal.Cast<float, int>(actual)), $"step {step}: {what} differs");

    private static int Bits(float value) => BitConverter.SingleToInt32Bits(value);
}
