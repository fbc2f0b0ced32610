using PlasticityDsl.Runtime.Data;

namespace PlasticityDsl.Runtime.Instruments;

/// <summary>
/// The nonlinear-PCA objective of Eq. 2 per layer (Figure 2): J_l = (1/T) Σ_i ‖y_(l−1)⁽ⁱ⁾ − W_lᵀ σ(W_l y_(l−1)⁽ⁱ⁾)‖²,
/// the squared Euclidean error of reconstructing a layer's input linearly from its output, averaged over T probe samples.
/// </summary>
/// <remarks>
/// σ(W_l y_(l−1)) is y_l itself, so J_l = mean ‖y_(l−1) − W_lᵀ y_l‖². Every layer l = 1 … L is measured. At the output
/// layer y_L is the softmax output, the same vector the rules' Oja term uses there (y_L y_(L−1)ᵀ − (y_L y_Lᵀ) W_L), so
/// J_L is the objective that term descends at that layer; callers after hidden layers only drop layer L.
/// The predecessor's code logged a variant, the squared mean of ‖y_(l−1) − W_lᵀ W_l y_(l−1)‖ (no σ); this follows the paper.
/// </remarks>
public static class ReconstructionError
{
    public const string Quantity = "reconstruction_error";

    /// <summary>J_1 … J_L over the probe samples in <paramref name="inputs"/> (n_0 values each, back to back).</summary>
    public static LayerProfile Measure(Mlp network, ReadOnlySpan<float> inputs)
    {
        ArgumentNullException.ThrowIfNull(network);
        var reconstruction = new float[network.LayerSizes.Max()];
        return ProbeSignals.MeanOverSamples(Quantity, network, inputs, firstLayer: 1, (probe, l) =>
        {
            ReadOnlySpan<float> input = probe.Activations(l - 1);
            Span<float> estimate = reconstruction.AsSpan(0, input.Length);
            KernelPrimitives.MultiplyTransposedVector(network.Weights[l - 1], probe.Size(l), probe.Size(l - 1), probe.Activations(l), estimate);
            return SquaredDistance(input, estimate);
        });
    }

    /// <summary>J_1 … J_L over the images of <paramref name="probe"/>.</summary>
    public static LayerProfile Measure(Mlp network, Dataset probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        return Measure(network, probe.Images);
    }

    private static double SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int j = 0; j < a.Length; j++)
        {
            double d = (double)a[j] - b[j];
            sum += d * d;
        }
        return sum;
    }
}
