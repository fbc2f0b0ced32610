using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.MetaLearning;
using Xunit;

namespace PlasticityDsl.Tests.MetaLearning;

/// <summary>The engines as the meta-trainer's objective (reverse mode for rules with adjoints), on a small pool of
/// class-patterned images.</summary>
public sealed class MetaGradientObjectiveTests
{
    private static readonly int[] Layers = [784, 16, 20];
    private static readonly EpisodeShape Shape = new(Classes: 3, TrainPerClass: 8, QueryPerClass: 4);
    private static readonly float[] Theta = [0.05f, 0.01f, 0.002f, 0.001f, 0.01f, 0, 0, 0, 0, -0.001f];

    /// <summary>Each class lights its own band of pixels, plus noise: learnable in a few online steps.</summary>
    private static ClassPool Pool()
    {
        var random = new Random(5);
        (string, Dataset) Source(string name, int offset)
        {
            const int perClass = 30;
            var pixels = new float[10 * perClass * 784];
            var labels = new byte[10 * perClass];
            for (int i = 0; i < labels.Length; i++)
            {
                labels[i] = (byte)(i % 10);
                for (int p = 0; p < 784; p++) pixels[i * 784 + p] = 0.2f * (float)random.NextDouble();
                for (int p = 0; p < 30; p++) pixels[i * 784 + (offset + labels[i]) * 30 + p] = 1f;
            }
            return (name, new Dataset(pixels, labels));
        }
        return new ClassPool([Source("a", 0), Source("b", 10)]);
    }

    [Fact]
    public void An_episode_gives_the_engines_loss_and_gradient_for_the_same_network_and_images()
    {
        Episode episode = new EpisodeSampler(Pool(), Shape, seed: 3).Sample(0);
        var objective = new MetaGradientObjective(Eq9Rule.Instance, Layers, Activation.Softplus, FeedbackMode.Random, Shape.QueryCount);
        int[] learn = [0, 1, 2, 3, 4, 9];
        var gradient = new double[learn.Length];
        EpisodeOutcome outcome = objective.Evaluate(episode, Theta, learn, gradient);

        var network = new Mlp(Layers, Activation.Softplus, FeedbackMode.Random);
        network.Initialize(InitScheme.Xavier, episode.InitSeed);
        float[] images = [.. episode.TrainImages, .. episode.QueryImages];
        byte[] labels = [.. episode.TrainLabels.Select(l => (byte)l), .. episode.QueryLabels.Select(l => (byte)l)];
        var expected = new double[learn.Length];
        EpisodeResult direct = new ReverseModeEpisode(network, Eq9Rule.Instance, learn, ReverseModeEpisode.DefaultSnapshots).Run(Theta, images, labels,
            [.. Enumerable.Range(0, episode.TrainCount)], [.. Enumerable.Range(episode.TrainCount, episode.QueryCount)], expected);

        Assert.False(outcome.Diverged);
        Assert.Equal(direct.QueryLoss, outcome.QueryLoss);
        Assert.Equal(expected, gradient);
        Assert.InRange(outcome.QueryAccuracy, 0, 1);
    }

    [Fact]
    public void A_meta_test_without_directions_scores_the_same_episode_alike()
    {
        Episode episode = new EpisodeSampler(Pool(), Shape, seed: 4).Sample(2);
        var objective = new MetaGradientObjective(Eq9Rule.Instance, Layers, Activation.Softplus, FeedbackMode.Random, Shape.QueryCount);
        EpisodeOutcome learning = objective.Evaluate(episode, Theta, [0, 2], new double[2]);
        EpisodeOutcome testing = objective.Evaluate(episode, Theta, [], []);
        Assert.Equal(learning.QueryLoss, testing.QueryLoss);
        Assert.Equal(learning.QueryAccuracy, testing.QueryAccuracy);
    }

    [Fact]
    public void A_diverging_inner_loop_is_an_outcome_not_an_exception()
    {
        Episode episode = new EpisodeSampler(Pool(), Shape, seed: 5).Sample(0);
        var objective = new MetaGradientObjective(Eq9Rule.Instance, Layers, Activation.Softplus, FeedbackMode.Random, Shape.QueryCount);
        float[] exploding = (float[])Theta.Clone();
        exploding[3] = -1000f; // W grows by 1000× per step
        EpisodeOutcome outcome = objective.Evaluate(episode, exploding, [0], new double[1]);
        Assert.True(outcome.Diverged);
        Assert.True(outcome.DivergedStep >= 0);
    }

    [Fact]
    public void Meta_training_backprop_raises_a_too_small_learning_rate()
    {
        ClassPool pool = Pool();
        var objective = new MetaGradientObjective(BpRule.Instance, Layers, Activation.Softplus, FeedbackMode.Symmetric, Shape.QueryCount);
        MetaTrainerOptions options = MetaTrainerOptions.ForRule(BpRule.Instance, [0]) with { Episodes = 8, LearningRate = 3e-3, MetaTestEvery = 8, MetaTestEpisodes = 4 };
        MetaTrainingResult result = new MetaTrainer(objective, new EpisodeSampler(pool, Shape, 1), new EpisodeSampler(pool, Shape, 2), options).Run();
        // θ0 starts at 1e-3, far too small to learn in 24 steps: every meta-gradient says "larger".
        Assert.All(result.Episodes.Skip(1), e => Assert.True(e.Theta[0] > result.Episodes[0].Theta[0]));
        Assert.True(result.MetaTests[^1].MeanAccuracy > result.MetaTests[0].MeanAccuracy,
            $"meta-test accuracy {result.MetaTests[0].MeanAccuracy} → {result.MetaTests[^1].MeanAccuracy}");
    }

    [Fact]
    public void The_output_layer_must_match_the_pool()
    {
        Episode episode = new EpisodeSampler(Pool(), Shape, seed: 3).Sample(0);
        var objective = new MetaGradientObjective(BpRule.Instance, [784, 16, 10], Activation.Softplus, FeedbackMode.Symmetric, Shape.QueryCount);
        Assert.Throws<ArgumentException>(() => objective.Evaluate(episode, Theta, [0], new double[1]));
    }
}
