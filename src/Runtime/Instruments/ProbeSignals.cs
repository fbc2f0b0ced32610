namespace PlasticityDsl.Runtime.Instruments;

/// <summary>
/// The signals of one probe sample (y_l, z_l and errors e_l), recomputed from a network's current weights without
/// writing to them: the forward pass is a private <see cref="OnlineLearner"/>'s, which only reads W.
/// </summary>
/// <remarks>
/// Errors are computed here rather than by a training step, because an instrument chooses the matrices they travel
/// down through (W for backprop, or any feedback B_1 … B_L) and may need both for the same sample.
/// </remarks>
internal sealed class ProbeSignals
{
    private readonly OnlineLearner _forward;
    private readonly int[] _sizes;

    public ProbeSignals(Mlp network)
    {
        ArgumentNullException.ThrowIfNull(network);
        Network = network;
        _forward = new OnlineLearner(network);
        _sizes = network.LayerSizes.ToArray();
    }

    public Mlp Network { get; }

    public int LayerCount => _sizes.Length - 1;

    public int Size(int layer) => _sizes[layer];

    /// <summary>Runs the forward pass on <paramref name="x"/>.</summary>
    public void Forward(ReadOnlySpan<float> x) => _forward.Forward(x);

    /// <summary>y_l (l = 0 … L; y_L is the softmax output) of the last forward pass.</summary>
    public ReadOnlySpan<float> Activations(int layer) => _forward.Activations(layer);

    /// <summary>z_l (l = 1 … L) of the last forward pass.</summary>
    public ReadOnlySpan<float> PreActivations(int layer) => _forward.PreActivations(layer);

    /// <summary>A fresh e_0 … e_L, shaped for this network.</summary>
    public float[][] NewErrors() => _sizes.Select(n => new float[n]).ToArray();

    /// <summary>
    /// Errors of the last forward pass for <paramref name="label"/>: e_L = y_L − onehot(label),
    /// e_l = (B_(l+1)ᵀ e_(l+1)) ⊙ σ'(z_l) for l = L−1 … 1, and e_0 = B_1ᵀ e_1 (the input has no nonlinearity), as in a training step.
    /// </summary>
    /// <param name="backward">B_1 … B_L in W's shapes; pass the weights themselves for backprop.</param>
    /// <param name="errors">e_0 … e_L, overwritten.</param>
    public void ComputeErrors(int label, IReadOnlyList<float[]> backward, float[][] errors) =>
        _forward.ComputeErrors(label, backward, errors, inputError: true);

    /// <summary>
    /// The mean over the probe samples in <paramref name="inputs"/> of <paramref name="valueOfLayer"/>(probe, l), a value
    /// of layer l after the sample's forward pass, for layers <paramref name="firstLayer"/> … L.
    /// </summary>
    public static LayerProfile MeanOverSamples(string quantity, Mlp network, ReadOnlySpan<float> inputs, int firstLayer,
        Func<ProbeSignals, int, double> valueOfLayer)
    {
        int count = SampleCount(network, inputs);
        var probe = new ProbeSignals(network);
        int[] layers = Enumerable.Range(firstLayer, network.LayerCount - firstLayer + 1).ToArray();
        var sums = new double[layers.Length];
        for (int i = 0; i < count; i++)
        {
            probe.Forward(inputs.Slice(i * network.InputSize, network.InputSize));
            for (int k = 0; k < layers.Length; k++)
            {
                sums[k] += valueOfLayer(probe, layers[k]);
            }
        }
        return new LayerProfile(quantity, layers, sums.Select(s => s / count).ToArray());
    }

    /// <summary>How many samples of n_0 values <paramref name="inputs"/> holds; at least one, and no partial sample.</summary>
    public static int SampleCount(Mlp network, ReadOnlySpan<float> inputs)
    {
        ArgumentNullException.ThrowIfNull(network);
        int inputSize = network.InputSize;
        if (inputs.Length == 0 || inputs.Length % inputSize != 0)
        {
            throw new ArgumentException(
                $"the probe inputs must be whole samples of n_0 = {inputSize} values, at least one; got {inputs.Length} values.", nameof(inputs));
        }
        return inputs.Length / inputSize;
    }

    /// <summary><see cref="SampleCount"/>, also checking that there is one valid label per sample.</summary>
    public static int SampleCount(Mlp network, ReadOnlySpan<float> inputs, ReadOnlySpan<byte> labels)
    {
        int count = SampleCount(network, inputs);
        if (labels.Length != count)
        {
            throw new ArgumentException($"the probe has {count} samples but {labels.Length} labels.", nameof(labels));
        }
        foreach (byte label in labels)
        {
            if (label >= network.OutputSize)
            {
                throw new ArgumentException($"label {label} is not a class of a network with n_L = {network.OutputSize} outputs.", nameof(labels));
            }
        }
        return count;
    }

    /// <summary>
    /// The matrices errors travel down through: <paramref name="feedback"/> (B_1 … B_L, checked against W's shapes) or,
    /// when it is null or empty (the network's feedback is W itself), the weights.
    /// </summary>
    public static IReadOnlyList<float[]> BackwardMatrices(Mlp network, IReadOnlyList<float[]>? feedback)
    {
        if (feedback is null || feedback.Count == 0)
        {
            return network.Weights;
        }
        if (feedback.Count != network.LayerCount)
        {
            throw new ArgumentException($"expected B_1 … B_{network.LayerCount} for {network}, got {feedback.Count} matrices.", nameof(feedback));
        }
        for (int l = 1; l <= network.LayerCount; l++)
        {
            if (feedback[l - 1] is null || feedback[l - 1].Length != network.Weights[l - 1].Length)
            {
                throw new ArgumentException(
                    $"B_{l} must have W_{l}'s shape {network.LayerSizes[l]}×{network.LayerSizes[l - 1]} ({network.Weights[l - 1].Length} values).", nameof(feedback));
            }
        }
        return feedback;
    }
}
