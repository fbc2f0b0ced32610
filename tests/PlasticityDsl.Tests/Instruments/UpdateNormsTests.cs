using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Instruments;
using PlasticityDsl.Tests.Training;
using Xunit;

namespace PlasticityDsl.Tests.Instruments;

public class UpdateNormsTests
{
    private static readonly int[] Sizes = [5, 4, 3, 2];
    private static readonly float[] Inputs = ProbeNetworks.RandomInputs(3, 5, seed: 10);
    private static readonly byte[] Labels = [0, 1, 1];

    private static IPlasticityRule Rule(string name) => GeneratedRules.All.Single(r => r.Name == name);

    private static float[] Theta(IPlasticityRule rule, params (int Index, float Value)[] values)
    {
        var theta = new float[10 + rule.Parameters.Count];
        foreach (RuleParameter p in rule.Parameters) theta[p.Index] = p.Default;
        foreach ((int index, float value) in values) theta[index] = value;
        return theta;
    }

    // mean over the probe of |t0|·‖e_l‖·‖y_(l−1)‖, the Frobenius norm of the rank-one −t0 e_l y_(l−1)ᵀ, with errors carried
    // down through the weights of errorNetwork (the network itself for backprop).
    private static double BackpropNorm(Mlp network, Mlp errorNetwork, int layer, double t0)
    {
        var forward = new ReferenceMlp(network);
        var backward = new ReferenceMlp(errorNetwork);
        double sum = 0;
        for (int i = 0; i < Labels.Length; i++)
        {
            var (z, y) = forward.Forward(Inputs.AsSpan(5 * i, 5));
            double[][] e = backward.Errors(z, y, Labels[i]);
            sum += Math.Abs(t0) * ProbeNetworks.Norm(e[layer]) * ProbeNetworks.Norm(y[layer - 1]);
        }
        return sum / Labels.Length;
    }

    /// <summary>A rule with per-layer state is measured with the network's state (its initial values before a first step),
    /// which the measurement leaves as it was.</summary>
    [Fact]
    public void A_rule_with_state_is_measured_with_the_networks_state_and_leaves_it_unchanged()
    {
        Mlp network = ProbeNetworks.Xavier(Sizes, seed: 12);
        IPlasticityRule bcm = Rule("bcm");
        float[] theta = Theta(bcm, (2, 0.05f), (5, 0.1f));
        LayerProfile beforeAnyStep = UpdateNorms.Measure(network, null, Inputs, Labels, bcm, theta).Total;
        network.ResetState(bcm);
        Assert.Equal(beforeAnyStep.Values, UpdateNorms.Measure(network, null, Inputs, Labels, bcm, theta).Total.Values);

        Array.Fill(network.State[0], -2f);
        float[][] state = ProbeNetworks.Snapshot(network.State);
        LayerProfile lowered = UpdateNorms.Measure(network, null, Inputs, Labels, bcm, theta).Total;
        ProbeNetworks.AssertUnchanged(state, network.State);
        Assert.NotEqual(beforeAnyStep[1], lowered[1]);
        Assert.Equal(beforeAnyStep[2], lowered[2]);
    }

    [Fact]
    public void Backprop_updates_are_all_backprop_component_and_rank_one()
    {
        Mlp network = ProbeNetworks.Xavier(Sizes, seed: 11);
        float[][] before = ProbeNetworks.Snapshot(network.Weights);
        IPlasticityRule bp = Rule("bp");

        UpdateNormProfile profile = UpdateNorms.Measure(network, null, Inputs, Labels, bp, Theta(bp, (0, 0.05f)));

        Assert.Equal([0], profile.ByCoefficient.Keys);
        Assert.Equal(profile.Total.Values, profile.ByCoefficient[0].Values);
        Assert.Equal("update_norm_t0", profile.ByCoefficient[0].Quantity);
        for (int l = 1; l <= 3; l++)
        {
            double expected = BackpropNorm(network, network, l, 0.05);
            Assert.Equal(expected, profile.Total[l], expected * 1e-4);
            Assert.Equal(0, profile.Interaction[l]);
        }
        ProbeNetworks.AssertUnchanged(before, network.Weights);
    }

    [Fact]
    public void Backprop_and_Oja_split_into_their_two_terms()
    {
        Mlp network = ProbeNetworks.Xavier(Sizes, seed: 12);
        IPlasticityRule bpOja = Rule("bp_oja"), bp = Rule("bp"), oja = Rule("oja");

        UpdateNormProfile both = UpdateNorms.Measure(network, null, Inputs, Labels, bpOja, Theta(bpOja, (0, 0.05f), (2, 0.2f)));
        LayerProfile bpAlone = UpdateNorms.Measure(network, null, Inputs, Labels, bp, Theta(bp, (0, 0.05f))).Total;
        LayerProfile ojaAlone = UpdateNorms.Measure(network, null, Inputs, Labels, oja, Theta(oja, (2, 0.2f))).Total;

        Assert.Equal([0, 2], both.ByCoefficient.Keys);
        for (int l = 1; l <= 3; l++)
        {
            Assert.Equal(bpAlone[l], both.ByCoefficient[0][l], bpAlone[l] * 1e-5);
            Assert.Equal(ojaAlone[l], both.ByCoefficient[2][l], ojaAlone[l] * 1e-5);
            // The terms add up (up to float round-off): the total is neither part, and at most their sum.
            Assert.True(both.Interaction[l] < 1e-4 * both.Total[l], $"layer {l}: interaction {both.Interaction[l]} of {both.Total[l]}");
            Assert.True(both.Total[l] <= bpAlone[l] + ojaAlone[l] + 1e-9);
        }
    }

    [Fact]
    public void Feedback_rules_use_B_for_errors_and_leave_W_and_B_alone()
    {
        Mlp network = ProbeNetworks.Xavier(Sizes, seed: 13);
        Mlp feedbackNetwork = ProbeNetworks.Xavier(Sizes, seed: 14); // its weights serve as B_1 … B_L
        float[][] feedback = ProbeNetworks.Snapshot(feedbackNetwork.Weights);
        float[][] weightsBefore = ProbeNetworks.Snapshot(network.Weights);
        IPlasticityRule eq9 = Rule("eq9");

        UpdateNormProfile profile = UpdateNorms.Measure(network, feedback, Inputs, Labels, eq9,
            Theta(eq9, (0, 0.05f), (1, 0.01f), (2, 0.1f), (3, 0.001f), (4, 0.02f), (9, 0.001f)));

        Assert.Equal([0, 1, 2, 3, 4, 9], profile.ByCoefficient.Keys);
        for (int l = 1; l <= 3; l++)
        {
            double expected = BackpropNorm(network, feedbackNetwork, l, 0.05);
            Assert.Equal(expected, profile.ByCoefficient[0][l], expected * 1e-4);
            // t4 and t9 only change B.
            Assert.Equal(0, profile.ByCoefficient[4][l]);
            Assert.Equal(0, profile.ByCoefficient[9][l]);
            Assert.True(profile.Interaction[l] < 1e-4 * profile.Total[l]);
        }
        ProbeNetworks.AssertUnchanged(weightsBefore, network.Weights);
        ProbeNetworks.AssertUnchanged(ProbeNetworks.Snapshot(feedbackNetwork.Weights), feedback);
    }

    [Fact]
    public void Named_parameters_are_not_split_off()
    {
        Mlp network = ProbeNetworks.Xavier(Sizes, seed: 15);
        IPlasticityRule covariance = Rule("covariance");

        UpdateNormProfile profile = UpdateNorms.Measure(network, null, Inputs, Labels, covariance, Theta(covariance, (0, 0.1f)));

        Assert.Equal([0], profile.ByCoefficient.Keys);
        Assert.Equal(profile.Total.Values, profile.ByCoefficient[0].Values);
        Assert.True(profile.Total[1] > 0);
    }

    [Fact]
    public void Rows_carry_every_part()
    {
        Mlp network = ProbeNetworks.Xavier(Sizes, seed: 16);
        IPlasticityRule bpOja = Rule("bp_oja");

        LayerMeasurement[] rows = UpdateNorms.Measure(network, null, Inputs, Labels, bpOja, Theta(bpOja, (0, 0.05f), (2, 0.2f))).At(100).ToArray();

        Assert.Equal(4 * 3, rows.Length);
        Assert.Equal(["update_norm_t0", "update_norm_t2", UpdateNorms.TotalQuantity, UpdateNorms.InteractionQuantity], rows.Select(r => r.Quantity).Distinct());
        Assert.All(rows, r => Assert.Equal(100, r.Samples));
    }

    [Fact]
    public void Invalid_requests_are_rejected()
    {
        Mlp network = ProbeNetworks.Xavier(Sizes, seed: 17);
        IPlasticityRule eq9 = Rule("eq9"), bp = Rule("bp");

        Assert.Throws<ArgumentException>(() => UpdateNorms.Measure(network, null, Inputs, Labels, eq9, Theta(eq9)));
        Assert.Throws<ArgumentException>(() => UpdateNorms.Measure(network, null, Inputs, Labels, bp, new float[0]));
        Assert.Throws<ArgumentException>(() => UpdateNorms.Measure(network, null, Inputs, [0, 1], bp, Theta(bp)));
        Assert.Throws<ArgumentException>(() => UpdateNorms.Measure(network, null, Inputs, [0, 1, 2], bp, Theta(bp)));
        Assert.Throws<ArgumentException>(() => UpdateNorms.Measure(network, [new float[20]], Inputs, Labels, bp, Theta(bp)));
    }
}
