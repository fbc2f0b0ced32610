using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.Instruments;

/// <summary>Small networks and probe sets for the instrument tests.</summary>
internal static class ProbeNetworks
{
    /// <summary>A network of the given sizes and σ with W_1 … W_L as given (row-major).</summary>
    public static Mlp WithWeights(int[] sizes, Activation activation, params float[][] weights)
    {
        var network = new Mlp(sizes, activation);
        network.LoadWeights(weights);
        return network;
    }

    /// <summary>A Xavier-initialized network.</summary>
    public static Mlp Xavier(int[] sizes, ulong seed, Activation? activation = null)
    {
        var network = new Mlp(sizes, activation ?? Activation.Softplus);
        network.Initialize(InitScheme.Xavier, seed);
        return network;
    }

    /// <summary><paramref name="count"/> inputs of <paramref name="size"/> values uniform in [0, 1), back to back.</summary>
    public static float[] RandomInputs(int count, int size, ulong seed)
    {
        var random = new DeterministicRandom(seed);
        var inputs = new float[count * size];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = (float)random.NextDouble();
        }
        return inputs;
    }

    /// <summary>A copy of every W_l (and B_l), to check that an instrument left them alone.</summary>
    public static float[][] Snapshot(IReadOnlyList<float[]> matrices) => matrices.Select(m => (float[])m.Clone()).ToArray();

    /// <summary>Asserts that the matrices hold exactly the values of <paramref name="snapshot"/>.</summary>
    public static void AssertUnchanged(float[][] snapshot, IReadOnlyList<float[]> matrices)
    {
        Assert.Equal(snapshot.Length, matrices.Count);
        for (int l = 0; l < snapshot.Length; l++)
        {
            Assert.Equal(snapshot[l], matrices[l]);
        }
    }

    public static double Norm(IEnumerable<double> v) => Math.Sqrt(v.Sum(x => x * x));
}
