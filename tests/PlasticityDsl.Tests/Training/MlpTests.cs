using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.Training;

public class MlpTests
{
    [Fact]
    public void HasOneRowMajorMatrixPerLayer()
    {
        var network = new Mlp([784, 170, 130, 100, 70, 10]);
        Assert.Equal(5, network.LayerCount);
        Assert.Equal(784, network.InputSize);
        Assert.Equal(10, network.OutputSize);
        Assert.Equal(Activation.Softplus, network.Activation);
        Assert.Equal(170 * 784, network.Weights[0].Length);
        Assert.Equal(10 * 70, network.Weights[4].Length);
        Assert.Equal(170 * 784 + 130 * 170 + 100 * 130 + 70 * 100 + 10 * 70, network.ParameterCount);
        Assert.Equal("784-170-130-100-70-10 softplus", network.ToString());
    }

    [Fact]
    public void RejectsBadSizesWithClearMessages()
    {
        var tooFew = Assert.Throws<ArgumentException>(() => new Mlp([784]));
        Assert.Contains("at least two layer sizes", tooFew.Message);
        var zero = Assert.Throws<ArgumentException>(() => new Mlp([784, 0, 10]));
        Assert.Contains("n_1 must be at least 1, got 0", zero.Message);
    }

    [Fact]
    public void LoadsCopiesAndClonesWeights()
    {
        var network = new Mlp([5, 4, 3], Activation.Relu);
        network.Initialize(InitScheme.Naive, seed: 8);
        float[][] copy = network.CopyWeights();
        Assert.NotSame(copy[0], network.Weights[0]);
        Assert.Equal(network.Weights[0], copy[0]);

        var clone = network.Clone();
        Assert.True(clone.HasSameShape(network));
        Assert.Equal(Activation.Relu, clone.Activation);
        clone.Weights[1][2] = 42f;
        Assert.NotEqual(42f, network.Weights[1][2]);

        network.LoadWeights(clone);
        Assert.Equal(42f, network.Weights[1][2]);
        var destination = new[] { new float[20], new float[12] };
        network.CopyWeightsTo(destination);
        Assert.Equal(42f, destination[1][2]);

        var wrongShape = Assert.Throws<ArgumentException>(() => network.LoadWeights(new[] { new float[20], new float[11] }));
        Assert.Contains("W_2 must hold 3×4 = 12 values, got 11", wrongShape.Message);
        Assert.Throws<ArgumentException>(() => network.LoadWeights(new[] { new float[20] }));
    }
}
