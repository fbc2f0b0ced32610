using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.Recurrent;
using Xunit;
using Xunit.Abstractions;

namespace PlasticityDsl.Tests.Recurrent;

/// <summary>The delayed-memory protocol, its evaluation, and runs and sweeps on a small synthetic version of it.</summary>
public sealed class DelayedMemoryTaskTests(ITestOutputHelper output)
{
    private static IRecurrentRule Bptt => GeneratedRules.Recurrent.Single(r => r.Name == "bptt");
    private static IRecurrentRule BpttOja => GeneratedRules.Recurrent.Single(r => r.Name == "bptt_oja");

    [Fact]
    public void The_image_is_shown_for_the_first_P_steps_and_zeros_follow_up_to_T()
    {
        var task = new DelayedMemoryTask(IdxReader.PixelsPerImage);
        Assert.Equal((50, 5), (task.Steps, task.PresentationSteps));
        float[] first = Image(1), second = Image(2);

        ReadOnlySpan<float> sequence = task.Sequence(first);
        Assert.Equal(50 * 784, sequence.Length);
        AssertProtocol(sequence, first);

        // The buffer is reused: the next image overwrites the presentation rows and the delay stays zero.
        ReadOnlySpan<float> next = task.Sequence(second);
        Assert.True(next == sequence);
        AssertProtocol(next, second);

        static void AssertProtocol(ReadOnlySpan<float> sequence, float[] image)
        {
            for (int t = 0; t < 5; t++) Assert.True(sequence.Slice(t * 784, 784).SequenceEqual(image), $"step {t + 1}");
            for (int t = 5; t < 50; t++) Assert.True(sequence.Slice(t * 784, 784).IndexOfAnyExcept(0f) < 0, $"step {t + 1}");
        }
    }

    [Fact]
    public void Making_a_sequence_allocates_nothing()
    {
        var task = new DelayedMemoryTask(IdxReader.PixelsPerImage);
        float[] image = Image(3);
        Allocations.AssertNone(() => task.Sequence(image));
    }

    [Fact]
    public void The_settings_are_checked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new DelayedMemoryTask(10, steps: 4, presentationSteps: 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DelayedMemoryTask(10, steps: 4, presentationSteps: 0));
        Assert.Throws<ArgumentException>(() => new DelayedMemoryTask(10).Sequence(new float[9]));
        var task = new DelayedMemoryTask(10, steps: 1, presentationSteps: 1);
        Assert.Equal(10, task.Sequence(new float[10]).Length);
    }

    [Fact]
    public void Accuracy_counts_the_predictions_of_the_first_count_images()
    {
        var network = new RecurrentNetwork(IdxReader.PixelsPerImage, 24, 10);
        network.Initialize(InitScheme.Xavier, 4);
        var learner = new RecurrentLearner(network, 9);
        var task = new DelayedMemoryTask(IdxReader.PixelsPerImage, steps: 9, presentationSteps: 3);
        Dataset data = Synthetic(37, seed: 1, classes: 10);
        byte[] predicted = Enumerable.Range(0, 37).Select(i => (byte)learner.Predict(task.Sequence(data.Image(i)))).ToArray();

        Assert.Equal(1.0, task.Accuracy(learner, data.Images, predicted, 37));
        predicted[36] = (byte)((predicted[36] + 1) % 10);
        Assert.Equal(1.0, task.Accuracy(learner, data.Images, predicted, 36));
        Assert.Equal(36 / 37.0, task.Accuracy(learner, data.Images, predicted, 37));
        Assert.Throws<ArgumentException>(() => task.Accuracy(learner, data.Images, predicted, 38));
        Assert.Throws<ArgumentException>(() => task.Accuracy(new RecurrentLearner(network, 8), data.Images, predicted, 1));
    }

    [Fact]
    public void BPTT_learns_a_small_delayed_memory_task_well_above_chance()
    {
        // Four classes (chance 25 %), shown for 2 steps and read out 8 steps later.
        Dataset train = Synthetic(600, seed: 10), held = Synthetic(300, seed: 11);
        RecurrentRunSpec spec = Spec(samples: 600, seed: 3) with { EvalEvery = 200 };
        RunResult result = RecurrentRun.Run(spec, Bptt, RecurrentRun.CreateNetwork(spec), train, held);
        output.WriteLine($"held-out accuracy: {string.Join(", ", result.Curve.Select(p => $"{p.Samples}: {p.TestAccuracy:P1}"))}");
        Assert.Null(result.Divergence);
        Assert.Equal(new[] { 0, 200, 400, 600 }, result.Curve.Select(p => p.Samples));
        Assert.True(result.FinalTestAccuracy > 0.6, $"final accuracy {result.FinalTestAccuracy:P1}");
        Assert.True(result.FinalTestAccuracy > result.Curve[0].TestAccuracy + 0.2);
    }

    [Fact]
    public void A_run_is_reproducible_and_a_diverged_run_is_recorded()
    {
        Dataset train = Synthetic(200, seed: 10), held = Synthetic(50, seed: 11);
        RecurrentRunSpec spec = Spec(samples: 200, seed: 5);
        RunResult a = RecurrentRun.Run(spec, BpttOja, RecurrentRun.CreateNetwork(spec), train, held);
        RunResult b = RecurrentRun.Run(spec, BpttOja, RecurrentRun.CreateNetwork(spec), train, held);
        Assert.Equal(a.Curve, b.Curve);

        RecurrentRunSpec diverging = spec with { Theta = Theta(t1: float.NaN) };
        Assert.Throws<TrainingDivergedException>(() => RecurrentRun.Run(diverging, Bptt, RecurrentRun.CreateNetwork(diverging), train, held));
        RunResult recorded = RecurrentRun.Run(diverging, Bptt, RecurrentRun.CreateNetwork(diverging), train, held, new RunOptions { ContinueOnDivergence = true });
        Assert.Contains("Wh", recorded.Divergence);
        Assert.Equal(OnlineRun.ChanceAccuracy, recorded.FinalTestAccuracy);
        Assert.Single(recorded.Curve);
    }

    [Fact]
    public void A_sweep_summarizes_each_arm_over_the_same_seeds()
    {
        Dataset train = Synthetic(300, seed: 10), held = Synthetic(60, seed: 11);
        var comparison = new RecurrentComparison("n_h = 16", 16, new[]
        {
            new RecurrentArm("BPTT", Bptt, Theta(t1: -0.05f), GradientRate: 0.05f),
            new RecurrentArm("BPTT+Oja", BpttOja, Theta(t1: -0.05f, t2: 0.005f), GradientRate: 0.05f),
        });
        var options = new RecurrentSweepOptions(Seeds: 3, Samples: 300, EvalEvery: 150, FirstSeed: 7, Steps: 10, PresentationSteps: 2,
            Init: "xavier", Activation: "tanh", Order: SampleOrder.Shuffle, Parallelism: 2);
        IReadOnlyList<ArmSummary> summaries = RecurrentSweep.Run(new[] { comparison }, options, train, held);

        Assert.Equal(new[] { "BPTT", "BPTT+Oja" }, summaries.Select(s => s.Arm));
        Assert.Equal(new[] { "bptt", "bptt_oja" }, summaries.Select(s => s.Rule));
        Assert.Equal(new[] { "t1" }, summaries[0].Theta.Keys);
        Assert.Equal(new[] { "t1", "t2" }, summaries[1].Theta.Keys);
        foreach (ArmSummary s in summaries)
        {
            Assert.Equal(new ulong[] { 7, 8, 9 }, s.Seeds);
            Assert.Equal(new[] { 0, 150, 300 }, s.Samples);
            Assert.Equal(3, s.Accuracy.Mean.Length);
            Assert.InRange(s.FinalAccuracyMean, s.FinalAccuracyLower, s.FinalAccuracyUpper);
            Assert.Empty(s.Diverged);
        }
        // Same seeds, same initial weights: the arms start from the same accuracy.
        Assert.Equal(summaries[0].Accuracy.Mean[0], summaries[1].Accuracy.Mean[0]);
    }

    private static RecurrentRunSpec Spec(int samples, ulong seed) =>
        new(Hidden: 32, Steps: 10, PresentationSteps: 2, Activation: "tanh", Init: "xavier", Theta: Theta(t1: -0.05f), GradientRate: 0.05f,
            Samples: samples, Order: SampleOrder.Shuffle, Seed: seed, EvalEvery: 500);

    private static float[] Theta(float t1 = 0f, float t2 = 0f)
    {
        var theta = new float[10];
        theta[1] = t1;
        theta[2] = t2;
        return theta;
    }

    private static float[] Image(int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, IdxReader.PixelsPerImage).Select(_ => (float)random.NextDouble()).ToArray();
    }

    /// <summary>
    /// Images of <paramref name="classes"/> fixed random binary patterns (15 % of the pixels on), each pixel of a sample
    /// flipped with probability 5 %: a class is recognizable from one image but not from any single pixel.
    /// </summary>
    private static Dataset Synthetic(int count, int seed, int classes = 4)
    {
        var patterns = new Random(99);
        bool[][] on = Enumerable.Range(0, classes)
            .Select(_ => Enumerable.Range(0, IdxReader.PixelsPerImage).Select(_ => patterns.NextDouble() < 0.15).ToArray()).ToArray();
        var random = new Random(seed);
        var images = new float[count * IdxReader.PixelsPerImage];
        var labels = new byte[count];
        for (int n = 0; n < count; n++)
        {
            int label = random.Next(classes);
            labels[n] = (byte)label;
            for (int i = 0; i < IdxReader.PixelsPerImage; i++)
            {
                images[n * IdxReader.PixelsPerImage + i] = on[label][i] ^ (random.NextDouble() < 0.05) ? 1f : 0f;
            }
        }

        return new Dataset(images, labels);
    }
}
