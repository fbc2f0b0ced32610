using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Instruments;
using PlasticityDsl.Tests.Training;
using Xunit;

namespace PlasticityDsl.Tests.Instruments;

public class FeedbackAlignmentTests
{
    private static readonly int[] Sizes = [3, 4, 4, 2];
    private static readonly float[] Inputs = ProbeNetworks.RandomInputs(4, 3, seed: 20);
    private static readonly byte[] Labels = [0, 1, 0, 1];

    [Fact]
    public void Feedback_equal_to_W_is_perfectly_aligned()
    {
        Mlp network = ProbeNetworks.Xavier(Sizes, seed: 21);

        FeedbackAlignmentProfile profile = FeedbackAlignment.Measure(network, ProbeNetworks.Snapshot(network.Weights), Inputs, Labels);

        Assert.Equal([0, 1, 2], profile.MeanAngle.Layers);
        Assert.All(profile.MeanAngle.Values, a => Assert.Equal(0, a, 1e-3));
        Assert.All(profile.AngleOfMeanErrors.Values, a => Assert.Equal(0, a, 1e-3));
    }

    [Fact]
    public void Negated_feedback_flips_the_error_at_every_other_layer()
    {
        // B = −W flips the sign once per layer crossed: e_2 is reversed, e_1 reversed twice, e_0 three times.
        Mlp network = ProbeNetworks.Xavier(Sizes, seed: 22);
        float[][] negated = network.Weights.Select(w => w.Select(v => -v).ToArray()).ToArray();
        float[][] before = ProbeNetworks.Snapshot(network.Weights);

        FeedbackAlignmentProfile profile = FeedbackAlignment.Measure(network, negated, Inputs, Labels);

        Assert.Equal(180, profile.MeanAngle[2], 1e-3);
        Assert.Equal(0, profile.MeanAngle[1], 1e-3);
        Assert.Equal(180, profile.MeanAngle[0], 1e-3);
        Assert.Equal(180, profile.AngleOfMeanErrors[2], 1e-3);
        ProbeNetworks.AssertUnchanged(before, network.Weights);
    }

    [Fact]
    public void Matches_the_angle_computed_by_hand()
    {
        Mlp network = ProbeNetworks.Xavier(Sizes, seed: 23);
        Mlp feedbackNetwork = ProbeNetworks.Xavier(Sizes, seed: 24); // its weights serve as B_1 … B_L
        var forward = new ReferenceMlp(network);
        var viaFeedback = new ReferenceMlp(feedbackNetwork);
        var meanAngles = new double[3];
        var sumsFeedback = new double[3][];
        var sumsWeights = new double[3][];
        for (int l = 0; l < 3; l++)
        {
            sumsFeedback[l] = new double[Sizes[l]];
            sumsWeights[l] = new double[Sizes[l]];
        }
        for (int i = 0; i < Labels.Length; i++)
        {
            var (z, y) = forward.Forward(Inputs.AsSpan(3 * i, 3));
            double[][] fa = viaFeedback.Errors(z, y, Labels[i]), bp = forward.Errors(z, y, Labels[i]);
            for (int l = 0; l < 3; l++)
            {
                meanAngles[l] += Angle(fa[l], bp[l]) / Labels.Length;
                for (int j = 0; j < Sizes[l]; j++)
                {
                    sumsFeedback[l][j] += fa[l][j];
                    sumsWeights[l][j] += bp[l][j];
                }
            }
        }

        FeedbackAlignmentProfile profile = FeedbackAlignment.Measure(network, ProbeNetworks.Snapshot(feedbackNetwork.Weights), Inputs, Labels);

        for (int l = 0; l < 3; l++)
        {
            Assert.Equal(meanAngles[l], profile.MeanAngle[l], 1e-2);
            Assert.Equal(Angle(sumsFeedback[l], sumsWeights[l]), profile.AngleOfMeanErrors[l], 1e-2);
        }
        Assert.True(profile.MeanAngle[1] > 1, "random feedback should not be aligned");
    }

    [Fact]
    public void Needs_feedback_matrices_of_W_shapes()
    {
        Mlp network = ProbeNetworks.Xavier(Sizes, seed: 25);

        Assert.Throws<ArgumentException>(() => FeedbackAlignment.Measure(network, [], Inputs, Labels));
        Assert.Throws<ArgumentException>(() => FeedbackAlignment.Measure(network, [new float[12], new float[16], new float[7]], Inputs, Labels));
    }

    private static double Angle(double[] a, double[] b)
    {
        double dot = a.Zip(b, (x, y) => x * y).Sum();
        return Math.Acos(dot / (ProbeNetworks.Norm(a) * ProbeNetworks.Norm(b))) * 180 / Math.PI;
    }
}
