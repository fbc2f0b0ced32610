using PlasticityDsl.Runtime.Data;

namespace PlasticityDsl.Runtime.Instruments;

/// <summary>
/// Mean Euclidean norm of the activations of every layer over probe samples (Figure 6): (1/T) Σ_i ‖y_l⁽ⁱ⁾‖ for
/// l = 0 … L, to be tracked during training.
/// </summary>
/// <remarks>
/// The figure's caption speaks of activation norms, and Eq. 1 names the activations y_l = σ(z_l); the predecessor's code
/// logged the same quantity, mean ‖y_l‖ over a batch of test images, for every y_l from the input to the softmax output.
/// So do we: ‖y_0‖ is the constant reference that §2.3's argument compares with (‖z_l‖ = ‖y_(l−1)‖ for orthonormal W_l),
/// and y_L is the softmax output (its norm lies in [1/√n_L, 1], so it shows confidence rather than scale).
/// </remarks>
public static class ActivationNorms
{
    public const string Quantity = "activation_norm";

    /// <summary>Mean ‖y_0‖ … ‖y_L‖ over the probe samples in <paramref name="inputs"/> (n_0 values each, back to back).</summary>
    public static LayerProfile Measure(Mlp network, ReadOnlySpan<float> inputs) =>
        ProbeSignals.MeanOverSamples(Quantity, network, inputs, firstLayer: 0, (probe, l) => KernelPrimitives.Norm2(probe.Activations(l)));

    /// <summary>Mean ‖y_0‖ … ‖y_L‖ over the images of <paramref name="probe"/>.</summary>
    public static LayerProfile Measure(Mlp network, Dataset probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        return Measure(network, probe.Images);
    }
}
