using PlasticityDsl.Runtime.Data;

namespace PlasticityDsl.Runtime.Instruments;

/// <summary>One column of an image grid: a title and one image per row (a probe sample), each width × height pixels row-major.</summary>
public sealed record ImageColumn(string Title, IReadOnlyList<float[]> Images);

/// <summary>
/// Images reconstructed from hidden activations (Figure 4): y_l is mapped back to pixel space through the transposed
/// weights of the layers below, x̂ = W_1ᵀ W_2ᵀ … W_lᵀ y_l, and shown next to the original.
/// </summary>
/// <remarks>
/// The paper does not spell out the map; this is the decoder of Eq. 2 applied layer after layer: Eq. 2 reconstructs
/// y_(l−1) as W_lᵀ y_l, so each step down undoes one layer the way Oja's rule is trained to make possible. No inverse
/// of σ is applied between steps, as Eq. 2 applies none.
/// </remarks>
public static class ImageReconstruction
{
    /// <summary>x̂ = W_1ᵀ … W_lᵀ y_l for the input <paramref name="x"/>; layer 0 gives x itself.</summary>
    public static float[] Reconstruct(Mlp network, ReadOnlySpan<float> x, int layer)
    {
        CheckLayer(network, layer);
        var probe = new ProbeSignals(network);
        probe.Forward(x);
        return Reconstruct(probe, layer);
    }

    /// <summary>
    /// The columns of a Figure 4 grid for the probe samples in <paramref name="inputs"/> (n_0 values each, back to back):
    /// "x" (the originals), then "y_l" for each of <paramref name="layers"/> (reconstructions from y_l).
    /// </summary>
    public static IReadOnlyList<ImageColumn> Columns(Mlp network, ReadOnlySpan<float> inputs, IReadOnlyList<int> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        int count = ProbeSignals.SampleCount(network, inputs);
        foreach (int layer in layers)
        {
            CheckLayer(network, layer);
        }

        var probe = new ProbeSignals(network);
        var images = new float[layers.Count + 1][][];
        for (int c = 0; c < images.Length; c++)
        {
            images[c] = new float[count][];
        }
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<float> x = inputs.Slice(i * network.InputSize, network.InputSize);
            images[0][i] = x.ToArray();
            probe.Forward(x);
            for (int c = 0; c < layers.Count; c++)
            {
                images[c + 1][i] = Reconstruct(probe, layers[c]);
            }
        }

        var columns = new ImageColumn[images.Length];
        columns[0] = new ImageColumn("x", images[0]);
        for (int c = 0; c < layers.Count; c++)
        {
            columns[c + 1] = new ImageColumn($"y_{layers[c]}", images[c + 1]);
        }
        return columns;
    }

    /// <summary>The columns of a Figure 4 grid for the images of <paramref name="probe"/>.</summary>
    public static IReadOnlyList<ImageColumn> Columns(Mlp network, Dataset probe, IReadOnlyList<int> layers)
    {
        ArgumentNullException.ThrowIfNull(probe);
        return Columns(network, probe.Images, layers);
    }

    // x̂ = W_1ᵀ … W_lᵀ y_l from the last forward pass of the probe.
    private static float[] Reconstruct(ProbeSignals probe, int layer)
    {
        float[] current = probe.Activations(layer).ToArray();
        for (int l = layer; l >= 1; l--)
        {
            var below = new float[probe.Size(l - 1)];
            KernelPrimitives.MultiplyTransposedVector(probe.Network.Weights[l - 1], probe.Size(l), probe.Size(l - 1), current, below);
            current = below;
        }
        return current;
    }

    private static void CheckLayer(Mlp network, int layer)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (layer < 0 || layer > network.LayerCount)
        {
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"layer must be in 0 … {network.LayerCount}.");
        }
    }
}
