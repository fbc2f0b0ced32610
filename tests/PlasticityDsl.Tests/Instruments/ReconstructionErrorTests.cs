using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Instruments;
using PlasticityDsl.Tests.Training;
using Xunit;

namespace PlasticityDsl.Tests.Instruments;

public class ReconstructionErrorTests
{
    // W_1 (3×4) has orthonormal rows e_1, e_2, e_3 of R⁴; W_2 (3×3) is a permutation; W_3 maps to two classes.
    private static Mlp OrthonormalRelu() => ProbeNetworks.WithWeights([4, 3, 3, 2], Activation.Relu,
        [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
        [0, 1, 0, 0, 0, 1, 1, 0, 0],
        [1, 0, 0, 0, 1, 0]);

    [Fact]
    public void Orthonormal_rows_on_their_row_space_reconstruct_exactly()
    {
        // Non-negative inputs keep ReLU linear, and x_4 = 0 keeps x in W_1's row space, so W_lᵀ W_l y_(l−1) = y_(l−1).
        float[] inputs = [0.5f, 0.25f, 1f, 0f, 2f, 0f, 0.75f, 0f];

        LayerProfile profile = ReconstructionError.Measure(OrthonormalRelu(), inputs);

        Assert.Equal(ReconstructionError.Quantity, profile.Quantity);
        Assert.Equal([1, 2, 3], profile.Layers);
        Assert.Equal(0, profile[1]);
        Assert.Equal(0, profile[2]);
    }

    [Fact]
    public void The_part_outside_the_row_space_is_the_error()
    {
        // W_1ᵀ W_1 projects x onto its first three coordinates: the error is x_4², averaged over the samples.
        float[] inputs = [0.5f, 0.25f, 1f, 0.5f, 2f, 0f, 0.75f, 1.5f];

        LayerProfile profile = ReconstructionError.Measure(OrthonormalRelu(), inputs);

        Assert.Equal((0.25 + 2.25) / 2, profile[1], 1e-6);
        Assert.Equal(0, profile[2]);
    }

    [Fact]
    public void Matches_Eq2_computed_by_hand_on_a_softplus_network()
    {
        Mlp network = ProbeNetworks.WithWeights([3, 2, 2], Activation.Softplus,
            [0.5f, -0.25f, 0.1f, 0.3f, 0.2f, -0.4f],
            [1f, -0.5f, 0.25f, 0.75f]);
        float[] inputs = [0.2f, 0.9f, 0.4f, 1f, 0f, 0.6f];
        var reference = new ReferenceMlp(network);

        LayerProfile profile = ReconstructionError.Measure(network, inputs);

        for (int l = 1; l <= 2; l++)
        {
            double expected = 0;
            for (int i = 0; i < 2; i++)
            {
                var (_, y) = reference.Forward(inputs.AsSpan(3 * i, 3));
                double[] w = network.Weights[l - 1].Select(v => (double)v).ToArray();
                int rows = network.LayerSizes[l], columns = network.LayerSizes[l - 1];
                for (int j = 0; j < columns; j++)
                {
                    double estimate = 0;
                    for (int k = 0; k < rows; k++)
                    {
                        estimate += w[k * columns + j] * y[l][k];
                    }
                    expected += (y[l - 1][j] - estimate) * (y[l - 1][j] - estimate) / 2;
                }
            }
            Assert.Equal(expected, profile[l], 1e-6);
        }
    }

    [Fact]
    public void Leaves_the_network_alone_and_rejects_partial_samples()
    {
        Mlp network = ProbeNetworks.Xavier([4, 3, 2], seed: 1);
        float[][] before = ProbeNetworks.Snapshot(network.Weights);

        ReconstructionError.Measure(network, ProbeNetworks.RandomInputs(5, 4, seed: 2));

        ProbeNetworks.AssertUnchanged(before, network.Weights);
        Assert.Throws<ArgumentException>(() => ReconstructionError.Measure(network, new float[6]));
        Assert.Throws<ArgumentException>(() => ReconstructionError.Measure(network, ReadOnlySpan<float>.Empty));
    }
}
