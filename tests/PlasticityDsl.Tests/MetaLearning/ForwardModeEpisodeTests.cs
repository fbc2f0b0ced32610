using PlasticityDsl.Compiler;
using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.MetaLearning;
using PlasticityDsl.Tests.Training;
using Xunit;
using Xunit.Abstractions;
using static PlasticityDsl.Tests.MetaLearning.EpisodeFixture;

namespace PlasticityDsl.Tests.MetaLearning;

/// <summary>
/// The forward-mode engine against an independent double-precision episode (<see cref="ReferenceMlp.StepEq9"/>):
/// meta-gradients against central differences of the reference query loss, the primal trajectory against
/// <see cref="OnlineLearner.Step"/>, divergence reporting, validation and allocations.
/// </summary>
public sealed class ForwardModeEpisodeTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("sym", false, "softplus")]
    [InlineData("fa", false, "softplus")] // fixed B
    [InlineData("fa", true, "softplus")]  // plastic B (dB = −t4 y_l e_(l−1)ᵀ + t9 B)
    [InlineData("sym", false, "tanh")]    // another σ''. Not elu or relu: σ' has a kink at 0 there, so the episode is not
    [InlineData("fa", true, "tanh")]      // differentiable wherever some z_l crosses 0, and differences straddle kinks.
    public void Meta_gradient_matches_central_differences_of_a_double_precision_episode(string feedback, bool plasticFeedback, string activation)
    {
        // The compiler's tangent kernels: the generated Eq9Rule, and Eq. 9's dW compiled at run time.
        IDifferentiableRule rule = plasticFeedback ? Eq9Rule.Instance : (IDifferentiableRule)RuleCompiler.Compile(Eq9Oracle.WeightsOnlySource, "eq9_dw");
        Mlp network = Network(FeedbackModes.Parse(feedback), seed: 7, activation);
        Mlp start = network.Clone();
        int[] directions = [.. rule.Coefficients];
        var engine = new ForwardModeEpisode(network, rule, directions);
        var gradient = new double[directions.Length];

        EpisodeResult result = engine.Run(Theta, EpisodeData.Images, EpisodeData.Labels, Train, Query, gradient);

        Assert.False(result.Diverged, result.Divergence.ToString());
        double[] theta = Theta.Select(t => (double)t).ToArray();
        double referenceLoss = ReferenceQueryLoss(start, theta, plasticFeedback);
        output.WriteLine($"query loss {result.QueryLoss:G8} (reference {referenceLoss:G8})");
        Assert.Equal(referenceLoss, result.QueryLoss, referenceLoss * 1e-4);
        for (int d = 0; d < directions.Length; d++)
        {
            int k = directions[d];
            double expected = CentralDifference(start, theta, k, plasticFeedback);
            double relative = Math.Abs(gradient[d] - expected) / Math.Abs(expected);
            output.WriteLine($"{rule.CoefficientName(k)}: forward mode {gradient[d]:G8}, differences {expected:G8}, relative error {relative:E2}");
            Assert.True(relative < 1e-3, $"{feedback}: d/d{rule.CoefficientName(k)} = {gradient[d]}, central differences {expected} (relative error {relative:E2})");
        }
    }

    [Theory]
    [InlineData("sym", false)]
    [InlineData("fa", true)]
    public void Trains_exactly_as_OnlineLearner_Step(string feedback, bool plasticFeedback)
    {
        Eq9Oracle rule = plasticFeedback ? Eq9Oracle.Full : Eq9Oracle.WeightsOnly;
        Mlp network = Network(FeedbackModes.Parse(feedback), seed: 8);
        Mlp plain = network.Clone();
        var engine = new ForwardModeEpisode(network, rule, [0, 2]);
        var learner = new OnlineLearner(plain, rule);

        engine.Run(Theta, EpisodeData.Images, EpisodeData.Labels, Train, Query, new double[2]);
        foreach (int i in Train) learner.Step(Image(i), EpisodeData.Labels[i], rule, Theta);

        for (int l = 0; l < network.LayerCount; l++)
        {
            Assert.Equal(plain.Weights[l], network.Weights[l]);
            if (plasticFeedback) Assert.Equal(plain.Feedback[l], network.Feedback[l]);
        }
        Assert.Equal(TrainCount, engine.StepCount);
    }

    /// <summary>A step given the next input prepares its forward pass in the primal update (as Run's steps are):
    /// weights, tangents, the query loss and the gradient are bit for bit those of steps without it.</summary>
    [Fact]
    public void Steps_given_the_next_input_carry_the_same_weights_and_tangents_bit_for_bit()
    {
        IDifferentiableRule rule = Eq9Rule.Instance;
        Mlp plain = Network(FeedbackMode.Random, seed: 12), prepared = plain.Clone();
        int[] directions = [.. rule.Coefficients];
        var plainEngine = new ForwardModeEpisode(plain, rule, directions);
        var preparedEngine = new ForwardModeEpisode(prepared, rule, directions);
        for (int k = 0; k < TrainCount; k++)
        {
            int i = Train[k];
            Assert.Null(plainEngine.Step(Image(i), EpisodeData.Labels[i], Theta));
            Assert.Null(preparedEngine.Step(Image(i), EpisodeData.Labels[i], Theta, k + 1 < TrainCount ? Image(Train[k + 1]) : default));
        }

        static int[] Bits(ReadOnlySpan<float> values) => System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(values).ToArray();
        for (int l = 1; l <= plain.LayerCount; l++)
        {
            Assert.Equal(Bits(plain.Weights[l - 1]), Bits(prepared.Weights[l - 1]));
            Assert.Equal(Bits(plain.Feedback[l - 1]), Bits(prepared.Feedback[l - 1]));
            for (int d = 0; d < directions.Length; d++)
            {
                Assert.Equal(Bits(plainEngine.WeightTangent(d, l)), Bits(preparedEngine.WeightTangent(d, l)));
                Assert.Equal(Bits(plainEngine.FeedbackTangent(d, l)), Bits(preparedEngine.FeedbackTangent(d, l)));
            }
        }
        double[] plainGradient = new double[directions.Length], preparedGradient = new double[directions.Length];
        Assert.Equal(plainEngine.QueryLoss(EpisodeData.Images, EpisodeData.Labels, Query, plainGradient),
            preparedEngine.QueryLoss(EpisodeData.Images, EpisodeData.Labels, Query, preparedGradient));
        Assert.Equal(plainGradient, preparedGradient);
        Assert.Throws<ArgumentException>(() => preparedEngine.Step(Image(0), EpisodeData.Labels[0], Theta, new float[Sizes[0] - 1]));
    }

    [Fact]
    public void A_diverging_episode_is_reported_not_thrown()
    {
        Mlp network = Network(FeedbackMode.Random, seed: 9);
        var engine = new ForwardModeEpisode(network, Eq9Oracle.Full, [0, 3]);
        float[] theta = (float[])Theta.Clone();
        theta[3] = -1000f; // W ← 1001 W every step: overflows within a few steps
        var gradient = new double[2];

        EpisodeResult result = engine.Run(theta, EpisodeData.Images, EpisodeData.Labels, Train, Query, gradient);

        Assert.True(result.Diverged);
        EpisodeDivergence divergence = result.Divergence!.Value;
        Assert.InRange(divergence.Step, 2, TrainCount);
        Assert.InRange(divergence.Layer, 1, Sizes.Length - 1);
        Assert.True(double.IsNaN(result.QueryLoss));
        Assert.All(gradient, g => Assert.True(double.IsNaN(g)));
        // Later steps do nothing and say so again.
        long steps = engine.StepCount;
        Assert.Equal(divergence, engine.Step(Image(0), EpisodeData.Labels[0], theta));
        Assert.Equal(steps, engine.StepCount);
        output.WriteLine(divergence.ToString());
    }

    /// <summary>Eq. 9 whose tangent kernel spoils one tangent (Ẇ or Ḃ of one layer along one direction) at one step.</summary>
    private sealed class SpoiledTangent(int step, int layerColumns, int direction, bool feedback) : IDifferentiableRule
    {
        private readonly IDifferentiableRule _rule = Eq9Oracle.Full;
        private int _calls;

        public string Name => _rule.Name;
        public string Source => _rule.Source;
        public IReadOnlyList<int> Coefficients => _rule.Coefficients;
        public RuleSignals Signals => _rule.Signals;
        public int ScratchLength(int rows, int columns) => _rule.ScratchLength(rows, columns);
        public void Apply(in LayerSignals layer, ReadOnlySpan<float> theta, Span<float> scratch) => _rule.Apply(in layer, theta, scratch);
        public int TangentScratchLength(int rows, int columns) => _rule.TangentScratchLength(rows, columns);

        public void ApplyTangent(in LayerSignals layer, in LayerTangents tangent, ReadOnlySpan<float> theta, ReadOnlySpan<float> thetaTangent, Span<float> scratch)
        {
            _rule.ApplyTangent(in layer, in tangent, theta, thetaTangent, scratch);
            // The engine calls the kernel once per layer and direction, layers in order, directions in order within each.
            int layers = Sizes.Length - 1, directions = 2, perStep = layers * directions;
            int call = _calls++, atStep = call / perStep + 1, d = call % directions;
            if (atStep == step && layer.Columns == layerColumns && d == direction)
            {
                (feedback ? tangent.Feedback : tangent.Weights)[3] = float.NaN;
            }
        }
    }

    [Theory]
    [InlineData(5, 2, 1, false)]
    [InlineData(9, 1, 0, true)]
    public void A_non_finite_tangent_is_reported_with_its_step_layer_quantity_and_direction(int step, int layer, int direction, bool feedback)
    {
        Mlp network = Network(FeedbackMode.Random, seed: 11);
        var engine = new ForwardModeEpisode(network, new SpoiledTangent(step, Sizes[layer - 1], direction, feedback), [0, 3]);

        EpisodeResult result = engine.Run(Theta, EpisodeData.Images, EpisodeData.Labels, Train, Query, new double[2]);

        Assert.Equal(new EpisodeDivergence(step, layer, feedback ? "B" : "W", direction), result.Divergence);
        Assert.Equal(step, engine.StepCount);
    }

    [Fact]
    public void Bad_episodes_and_directions_are_argument_errors_naming_the_problem()
    {
        Mlp network = Network(FeedbackMode.Random, seed: 10);
        var engine = new ForwardModeEpisode(network, Eq9Oracle.Full, [0]);
        var gradient = new double[1];

        var empty = Assert.Throws<ArgumentException>(() => engine.Run(Theta, EpisodeData.Images, EpisodeData.Labels, [], Query, gradient));
        Assert.Contains("train list is empty", empty.Message);
        var outside = Assert.Throws<ArgumentException>(() => engine.Run(Theta, EpisodeData.Images, EpisodeData.Labels, Train, [3, 60], gradient));
        Assert.Contains("query[1] = 60", outside.Message);
        Assert.Throws<ArgumentException>(() => engine.Run(Theta, EpisodeData.Images, EpisodeData.Labels, Train, Query, new double[2]));
        var unread = Assert.Throws<ArgumentException>(() => new ForwardModeEpisode(network, Eq9Oracle.Full, [5]));
        Assert.Contains("does not read", unread.Message);
        Assert.Throws<ArgumentException>(() => new ForwardModeEpisode(Network(FeedbackMode.Symmetric, 1), Eq9Oracle.Full, [0]));
    }

    [Fact]
    public void Steps_and_query_allocate_nothing()
    {
        Mlp network = Network(FeedbackMode.Random, seed: 11);
        var engine = new ForwardModeEpisode(network, Eq9Oracle.Full, [0, 1, 2, 3, 4, 9]);
        var gradient = new double[6];
        engine.Step(Image(0), EpisodeData.Labels[0], Theta); // sizes θ's tangents

        Allocations.AssertNone(() =>
        {
            for (int i = 1; i < 4; i++) engine.Step(Image(i), EpisodeData.Labels[i], Theta);
            engine.QueryLoss(EpisodeData.Images, EpisodeData.Labels, Query, gradient);
        });
    }
}
