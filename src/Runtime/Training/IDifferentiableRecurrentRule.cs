namespace PlasticityDsl.Runtime;

/// <summary>
/// Tangents (directional derivatives along one direction of θ) of a recurrent network's signals over one sequence,
/// all at the pre-update state: the forward-mode companions of a <see cref="RecurrentSignals"/>. A dot denotes d/dε
/// of the quantity when θ moves to θ + ε θ̇.
/// </summary>
/// <remarks>Shapes and layouts are those of the matching <see cref="RecurrentSignals"/>: Ẇh n_h × n_h, Ẇx n_h × n_x,
/// Ẇo n_o × n_h, row-major; ż and ė T × n_h and ẋ T × n_x, one row per time step; ẏ_T and ė_o n_o entries. There is no
/// ẏ_t: y_t = f(z_t), so the kernel takes f'(z_t) ⊙ ż_t. A span the tangent kernel neither reads nor updates may be
/// empty; the kernel checks the ones it needs against the network's sizes.</remarks>
public readonly ref struct RecurrentTangents
{
    /// <param name="recurrentWeights">Ẇh; the kernel adds the tangent of ΔWh in place when the rule updates Wh.</param>
    /// <param name="inputWeights">Ẇx; updated in place like Ẇh when the rule updates Wx.</param>
    /// <param name="readoutWeights">Ẇo; updated in place like Ẇh when the rule updates Wo.</param>
    /// <param name="hiddenStates">ż_1…ż_T.</param>
    /// <param name="inputSequence">ẋ_1…ẋ_T (zero for a fixed input sequence, or empty when the rule reads no x).</param>
    /// <param name="errors">ė_1…ė_T.</param>
    /// <param name="output">ẏ_T.</param>
    /// <param name="outputError">ė_o.</param>
    public RecurrentTangents(Span<float> recurrentWeights, Span<float> inputWeights, Span<float> readoutWeights,
        ReadOnlySpan<float> hiddenStates, ReadOnlySpan<float> inputSequence, ReadOnlySpan<float> errors,
        ReadOnlySpan<float> output, ReadOnlySpan<float> outputError)
    {
        RecurrentWeights = recurrentWeights; InputWeights = inputWeights; ReadoutWeights = readoutWeights;
        HiddenStates = hiddenStates; InputSequence = inputSequence; Errors = errors;
        Output = output; OutputError = outputError;
    }

    /// <summary>Ẇh (n_h × n_h), or empty.</summary>
    public Span<float> RecurrentWeights { get; }
    /// <summary>Ẇx (n_h × n_x), or empty.</summary>
    public Span<float> InputWeights { get; }
    /// <summary>Ẇo (n_o × n_h), or empty.</summary>
    public Span<float> ReadoutWeights { get; }
    /// <summary>ż_1…ż_T, T × n_h, or empty.</summary>
    public ReadOnlySpan<float> HiddenStates { get; }
    /// <summary>ẋ_1…ẋ_T, T × n_x, or empty.</summary>
    public ReadOnlySpan<float> InputSequence { get; }
    /// <summary>ė_1…ė_T, T × n_h, or empty.</summary>
    public ReadOnlySpan<float> Errors { get; }
    /// <summary>ẏ_T, or empty.</summary>
    public ReadOnlySpan<float> Output { get; }
    /// <summary>ė_o, or empty.</summary>
    public ReadOnlySpan<float> OutputError { get; }
}

/// <summary>
/// A recurrent plasticity rule that also gives the directional derivative of its update over one sequence: the
/// recurrent counterpart of <see cref="IDifferentiableRule"/>, derived by the compiler from the rule (docs/metalearning.md).
/// </summary>
/// <remarks>Every matrix the rule reads has a tangent, the ones it does not update included: a recurrent learner may train
/// Wx and Wo by gradient descent while the rule updates Wh. Nothing in the runtime carries tangents through a recurrent
/// episode yet: meta-learning trains layer rules.</remarks>
public interface IDifferentiableRecurrentRule : IRecurrentRule
{
    /// <summary>Floats of scratch space <see cref="ApplyTangent"/> needs for a network of the given sizes and a sequence
    /// of T = <paramref name="steps"/> steps.</summary>
    int TangentScratchLength(int hidden, int inputs, int outputs, int steps);

    /// <summary>
    /// Ẇh += D(ΔWh)[tangents, θ̇], and likewise Ẇx and Ẇo for the targets the rule updates: the directional derivative of
    /// <see cref="IRecurrentRule.Apply"/>'s update, sums over t included, evaluated at the pre-update state in
    /// <paramref name="network"/> (call it before Apply changes the weights). <paramref name="theta"/> and
    /// <paramref name="thetaTangent"/> hold t0..t9, then the parameters.
    /// </summary>
    /// <remarks>Neither <paramref name="network"/>'s weights nor the signals change; Ẇ of a matrix the rule only reads is
    /// read, not changed.</remarks>
    void ApplyTangent(in RecurrentSignals network, in RecurrentTangents tangent, ReadOnlySpan<float> theta, ReadOnlySpan<float> thetaTangent, Span<float> scratch);
}
