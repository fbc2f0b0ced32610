using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Instruments;
using Xunit;

namespace PlasticityDsl.Tests.Instruments;

public class ActivationNormsTests
{
    [Fact]
    public void Mean_norms_of_every_layer_match_a_hand_computation()
    {
        // ReLU, W_1 = [[1, 0], [0, −1], [1, 1]], W_2 = 0: for x = (3, 4) y_1 = (3, 0, 7), for x = (0, 1) y_1 = (0, 0, 1);
        // z_2 = 0 makes y_2 = (1/2, 1/2).
        Mlp network = ProbeNetworks.WithWeights([2, 3, 2], Activation.Relu, [1, 0, 0, -1, 1, 1], new float[6]);

        LayerProfile profile = ActivationNorms.Measure(network, [3f, 4f, 0f, 1f]);

        Assert.Equal(ActivationNorms.Quantity, profile.Quantity);
        Assert.Equal([0, 1, 2], profile.Layers);
        Assert.Equal((5 + 1) / 2.0, profile[0], 1e-6);
        Assert.Equal((Math.Sqrt(58) + 1) / 2, profile[1], 1e-6);
        Assert.Equal(Math.Sqrt(0.5), profile[2], 1e-6);
    }

    [Fact]
    public void Layers_outside_the_network_are_not_in_the_profile()
    {
        LayerProfile profile = ActivationNorms.Measure(ProbeNetworks.Xavier([2, 3, 2], seed: 9), [1f, 1f]);

        Assert.Throws<ArgumentOutOfRangeException>(() => profile[3]);
    }
}
