using PlasticityDsl.Compiler;
using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.MetaLearning;
using Xunit;
using Xunit.Abstractions;
using static PlasticityDsl.Tests.MetaLearning.EpisodeFixture;

namespace PlasticityDsl.Tests.MetaLearning;

/// <summary>
/// The reverse-mode engine against the forward-mode one (same episode, same gradient to float rounding: the sums run in
/// another order), against central differences of the independent double-precision episode, and under checkpointing
/// with fewer snapshots than steps (bit for bit the gradient of storing every state: recomputed steps are the same
/// float operations). Divergence reporting and allocations as for the forward mode.
/// </summary>
public sealed class ReverseModeEpisodeTests(ITestOutputHelper output)
{
    private static IAdjointRule Rule(string name) => name switch
    {
        "eq9" => Eq9Rule.Instance,
        "eq9_dw" => RuleCompiler.Compile<IAdjointRule>(Eq9Oracle.WeightsOnlySource, "eq9_dw"),
        "bp" => BpRule.Instance,
        "bp_oja" => BpOjaRule.Instance,
        "pool" => PoolRule.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    // Eq. 9's θ, or small random coefficients (40 steps of the pool and bp_oja stay finite with them).
    private static float[] ThetaFor(IAdjointRule rule)
    {
        if (rule.Name.StartsWith("eq9", StringComparison.Ordinal)) return EpisodeFixture.Theta;
        var random = new Random(3);
        var theta = new float[10 + rule.Parameters.Count];
        foreach (int k in rule.Coefficients) theta[k] = (float)((random.NextDouble() * 2 - 1) * 0.03);
        return theta;
    }

    private static double[] Forward(Mlp network, IAdjointRule rule, int[] directions, float[] theta, out EpisodeResult result)
    {
        var gradient = new double[directions.Length];
        result = new ForwardModeEpisode(network, rule, directions).Run(theta, EpisodeData.Images, EpisodeData.Labels, Train, Query, gradient);
        return gradient;
    }

    private static double[] Reverse(Mlp network, IAdjointRule rule, int[] directions, float[] theta, int snapshots, out EpisodeResult result, out long forwardSteps)
    {
        var gradient = new double[directions.Length];
        var engine = new ReverseModeEpisode(network, rule, directions, snapshots);
        result = engine.Run(theta, EpisodeData.Images, EpisodeData.Labels, Train, Query, gradient);
        forwardSteps = engine.ForwardSteps;
        return gradient;
    }

    [Theory]
    [InlineData("eq9", "fa")]     // plastic B
    [InlineData("eq9_dw", "fa")]  // fixed B
    [InlineData("eq9_dw", "sym")]
    [InlineData("bp", "sym")]
    [InlineData("bp_oja", "sym")]
    [InlineData("pool", "sym")]
    [InlineData("pool", "fa")]
    public void Reverse_mode_gradient_equals_forward_mode_to_rounding(string name, string feedback)
    {
        IAdjointRule rule = Rule(name);
        float[] theta = ThetaFor(rule);
        Mlp start = Network(FeedbackModes.Parse(feedback), seed: 7);
        int[] directions = [.. rule.Coefficients];
        Mlp forwardNetwork = start.Clone(), reverseNetwork = start.Clone();

        double[] forward = Forward(forwardNetwork, rule, directions, theta, out EpisodeResult forwardResult);
        double[] reverse = Reverse(reverseNetwork, rule, directions, theta, TrainCount, out EpisodeResult reverseResult, out long steps);

        Assert.False(forwardResult.Diverged, forwardResult.Divergence.ToString());
        Assert.False(reverseResult.Diverged, reverseResult.Divergence.ToString());
        Assert.Equal(forwardResult.QueryLoss, reverseResult.QueryLoss); // the same final weights, the same sum
        Assert.Equal(TrainCount, steps); // every state stored: each step run once
        for (int l = 0; l < start.LayerCount; l++) Assert.Equal(forwardNetwork.Weights[l], reverseNetwork.Weights[l]);
        double scale = forward.Max(Math.Abs);
        Assert.True(scale > 1e-4, $"{name}: the gradient vanishes, the comparison would have no teeth");
        for (int d = 0; d < directions.Length; d++)
        {
            double error = Math.Abs(reverse[d] - forward[d]) / scale;
            output.WriteLine($"{rule.CoefficientName(directions[d])}: forward {forward[d]:G9}, reverse {reverse[d]:G9}, error {error:E2} of the largest");
            Assert.True(error < 1e-4, $"{name} {feedback}: d/d{rule.CoefficientName(directions[d])} reverse {reverse[d]}, forward {forward[d]}");
        }
    }

    [Theory]
    [InlineData("sym", false)]
    [InlineData("fa", true)]
    public void Reverse_mode_gradient_matches_central_differences_of_a_double_precision_episode(string feedback, bool plasticFeedback)
    {
        IAdjointRule rule = Rule(plasticFeedback ? "eq9" : "eq9_dw");
        Mlp network = Network(FeedbackModes.Parse(feedback), seed: 7);
        Mlp start = network.Clone();
        int[] directions = [.. rule.Coefficients];
        double[] gradient = Reverse(network, rule, directions, Theta, snapshots: 5, out EpisodeResult result, out _);

        Assert.False(result.Diverged);
        double[] at = Theta.Select(t => (double)t).ToArray();
        for (int d = 0; d < directions.Length; d++)
        {
            int k = directions[d];
            double expected = CentralDifference(start, at, k, plasticFeedback);
            double relative = Math.Abs(gradient[d] - expected) / Math.Abs(expected);
            output.WriteLine($"{rule.CoefficientName(k)}: reverse mode {gradient[d]:G8}, differences {expected:G8}, relative error {relative:E2}");
            Assert.True(relative < 1e-3, $"{feedback}: d/d{rule.CoefficientName(k)} = {gradient[d]}, central differences {expected} (relative error {relative:E2})");
        }
    }

    [Theory]
    [InlineData("eq9", "fa")]
    [InlineData("bp", "sym")]
    public void Checkpointing_gives_the_gradient_of_storing_every_state_bit_for_bit(string name, string feedback)
    {
        IAdjointRule rule = Rule(name);
        float[] theta = ThetaFor(rule);
        Mlp start = Network(FeedbackModes.Parse(feedback), seed: 9);
        int[] directions = [.. rule.Coefficients];
        double[] stored = Reverse(start.Clone(), rule, directions, theta, TrainCount, out EpisodeResult storedResult, out _);
        long previous = long.MaxValue;
        foreach (int snapshots in new[] { 1, 2, 3, 7 })
        {
            Mlp network = start.Clone();
            double[] checkpointed = Reverse(network, rule, directions, theta, snapshots, out EpisodeResult result, out long steps);
            output.WriteLine($"{snapshots} snapshots: {steps} forward steps for {TrainCount}");
            Assert.Equal(storedResult.QueryLoss, result.QueryLoss);
            Assert.Equal(stored, checkpointed);
            Assert.True(steps > TrainCount && steps < previous, $"{snapshots} snapshots took {steps} forward steps");
            previous = steps;
        }
    }

    /// <summary>A sweep exchanges the network's arrays with its snapshots' (a Take) instead of copying: when Run returns the
    /// network holds its own arrays again, at the weights of the plain online steps, bit for bit.</summary>
    [Theory]
    [InlineData(3)]
    [InlineData(TrainCount)]
    public void The_network_ends_in_its_own_arrays_at_the_weights_of_the_plain_steps(int snapshots)
    {
        Mlp network = Network(FeedbackMode.Random, seed: 13);
        Mlp plain = network.Clone();
        float[][] weights = [.. network.Weights], feedback = [.. network.Feedback];
        var engine = new ReverseModeEpisode(network, Eq9Rule.Instance, [0, 1, 2, 3, 4, 9], snapshots);
        Assert.Contains(new CheckpointSchedule(TrainCount, snapshots).Instructions, i => i.Action == CheckpointAction.Take);

        EpisodeResult result = engine.Run(Theta, EpisodeData.Images, EpisodeData.Labels, Train, Query, new double[6]);
        var learner = new OnlineLearner(plain, Eq9Rule.Instance);
        foreach (int i in Train) learner.Step(Image(i), EpisodeData.Labels[i], Eq9Rule.Instance, Theta);

        Assert.False(result.Diverged);
        for (int l = 0; l < network.LayerCount; l++)
        {
            Assert.Same(weights[l], network.Weights[l]);
            Assert.Same(feedback[l], network.Feedback[l]);
            Assert.Equal(plain.Weights[l], network.Weights[l]);
            Assert.Equal(plain.Feedback[l], network.Feedback[l]);
        }
    }

    [Fact]
    public void A_diverging_episode_is_reported_not_thrown()
    {
        Mlp network = Network(FeedbackMode.Random, seed: 9);
        float[] theta = (float[])Theta.Clone();
        theta[3] = -1000f; // W ← 1001 W every step: overflows within a few steps
        var gradient = new double[2];

        EpisodeResult result = new ReverseModeEpisode(network, Eq9Rule.Instance, [0, 3], snapshots: 4).Run(theta, EpisodeData.Images, EpisodeData.Labels, Train, Query, gradient);

        Assert.True(result.Diverged);
        Assert.InRange(result.Divergence!.Value.Step, 2, TrainCount);
        Assert.True(double.IsNaN(result.QueryLoss));
        Assert.All(gradient, g => Assert.True(double.IsNaN(g)));
    }

    [Fact]
    public void An_episode_allocates_nothing_once_its_length_has_run()
    {
        Mlp network = Network(FeedbackMode.Random, seed: 11);
        Mlp start = network.Clone();
        var engine = new ReverseModeEpisode(network, Eq9Rule.Instance, [0, 1, 2, 3, 4, 9], snapshots: 6);
        var gradient = new double[6];
        engine.Run(Theta, EpisodeData.Images, EpisodeData.Labels, Train, Query, gradient); // builds the schedule for 40 steps

        Allocations.AssertNone(() =>
        {
            for (int l = 0; l < start.LayerCount; l++)
            {
                start.Weights[l].CopyTo(network.Weights[l], 0);
                start.Feedback[l].CopyTo(network.Feedback[l], 0);
            }
            engine.Run(Theta, EpisodeData.Images, EpisodeData.Labels, Train, Query, gradient);
        });
    }

    [Fact]
    public void Reverse_mode_is_used_when_the_rule_has_an_adjoint_and_enough_directions_are_wanted()
    {
        Assert.True(MetaGradient.UsesReverseMode(Eq9Rule.Instance, 6));
        Assert.True(MetaGradient.UsesReverseMode(PoolRule.Instance, 18));
        Assert.False(MetaGradient.UsesReverseMode(BpRule.Instance, 1));  // backprop's t0: forward mode is the cheaper
        Assert.False(MetaGradient.UsesReverseMode(Eq9Rule.Instance, 0)); // a meta-test: the plain episode
        Assert.False(MetaGradient.UsesReverseMode(Eq9Oracle.Full, 6));   // a tangent kernel only
        Assert.IsNotAssignableFrom<IAdjointRule>(SangerRule.Instance); // tril: the kernel says it has no adjoint
        Assert.False(MetaGradient.UsesReverseMode(SangerRule.Instance, 1));
    }
}
