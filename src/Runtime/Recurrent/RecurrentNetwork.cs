namespace PlasticityDsl.Runtime.Recurrent;

/// <summary>
/// The vanilla recurrent network of Section 2.4 of the paper, without biases:
/// z_1 = Wx x_1 (z_0 = 0), z_(t+1) = Wh f(z_t) + Wx x_(t+1), readout y_T = Wo f(z_T) (logits; softmax is the loss's).
/// </summary>
/// <remarks>
/// Weights are row-major: Wh is n_h × n_h, Wx is n_h × n_x, Wo is n_o × n_h. The arrays are fixed at construction;
/// their contents change in place (training, <see cref="Initialize"/>).
/// </remarks>
public sealed class RecurrentNetwork
{
    /// <summary>A network with tanh hidden units (the usual choice for a vanilla RNN; docs/recurrent.md says why).</summary>
    public RecurrentNetwork(int inputs, int hidden, int outputs) : this(inputs, hidden, outputs, Activation.Tanh)
    {
    }

    /// <summary>A network of the given sizes (each ≥ 1); weights start at zero.</summary>
    public RecurrentNetwork(int inputs, int hidden, int outputs, Activation activation)
    {
        ArgumentNullException.ThrowIfNull(activation);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hidden, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputs, 1);
        if ((long)hidden * Math.Max(hidden, inputs) > Array.MaxLength)
        {
            throw new ArgumentException($"n_h = {hidden} and n_x = {inputs} make a weight matrix larger than an array can hold.");
        }
        Inputs = inputs;
        Hidden = hidden;
        Outputs = outputs;
        Activation = activation;
        RecurrentWeights = new float[hidden * hidden];
        InputWeights = new float[hidden * inputs];
        ReadoutWeights = new float[outputs * hidden];
    }

    /// <summary>n_x.</summary>
    public int Inputs { get; }

    /// <summary>n_h.</summary>
    public int Hidden { get; }

    /// <summary>n_o, the number of classes.</summary>
    public int Outputs { get; }

    /// <summary>f, the hidden nonlinearity.</summary>
    public Activation Activation { get; }

    /// <summary>Wh, n_h × n_h.</summary>
    public float[] RecurrentWeights { get; }

    /// <summary>Wx, n_h × n_x.</summary>
    public float[] InputWeights { get; }

    /// <summary>Wo, n_o × n_h.</summary>
    public float[] ReadoutWeights { get; }

    /// <summary>
    /// Draws Wh, Wx and Wo, in that order, from one generator seeded with <paramref name="seed"/>. Xavier treats each
    /// as a layer of its own: U(±√(6 / (fan_in + fan_out))) with Wh's fans n_h and n_h (entry variance 1/n_h, so the
    /// spectral radius of Wh starts near 1), Wx's n_x and n_h, Wo's n_h and n_o.
    /// </summary>
    public void Initialize(InitScheme scheme, ulong seed)
    {
        var random = new DeterministicRandom(seed);
        Initialization.Fill(RecurrentWeights, Hidden, Hidden, scheme, random);
        Initialization.Fill(InputWeights, Hidden, Inputs, scheme, random);
        Initialization.Fill(ReadoutWeights, Outputs, Hidden, scheme, random);
    }

    public override string ToString() => $"RNN {Inputs}-{Hidden}-{Outputs} {Activation}";
}
