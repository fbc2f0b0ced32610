namespace PlasticityDsl.Runtime;

/// <summary>
/// The signals of a vanilla recurrent network over one sequence (Section 2.4 of the paper, docs/recurrent.md):
/// z_(t+1) = Wh f(z_t) + Wx x_(t+1), y_T = Wo f(z_T), all taken from the pre-update weights.
/// </summary>
/// <remarks>
/// Matrices are row-major: Wh is n_h × n_h, Wx is n_h × n_x, Wo is n_o × n_h. Sequences hold one row per time
/// step t = 1…T (row t−1 is step t): z and e are T × n_h, x is T × n_x. e_t = ∂L/∂z_t. A span the rule neither
/// reads nor updates may be empty; the kernel checks the ones it needs.
/// </remarks>
public readonly ref struct RecurrentSignals
{
    public RecurrentSignals(Span<float> recurrentWeights, Span<float> inputWeights, Span<float> readoutWeights,
        int hidden, int inputs, int outputs, int steps,
        ReadOnlySpan<float> hiddenStates, ReadOnlySpan<float> inputSequence, ReadOnlySpan<float> errors,
        ReadOnlySpan<float> output, ReadOnlySpan<float> outputError, Activation? activation)
    {
        if (hidden < 0 || inputs < 0 || outputs < 0) throw new ArgumentException("sizes must not be negative.");
        if (steps < 1) throw new ArgumentException("a sequence has at least one time step.", nameof(steps));
        Check(recurrentWeights.Length, (long)hidden * hidden, "Wh must hold n_h*n_h values.", nameof(recurrentWeights));
        Check(inputWeights.Length, (long)hidden * inputs, "Wx must hold n_h*n_x values.", nameof(inputWeights));
        Check(readoutWeights.Length, (long)outputs * hidden, "Wo must hold n_o*n_h values.", nameof(readoutWeights));
        Check(hiddenStates.Length, (long)steps * hidden, "z must hold T*n_h values.", nameof(hiddenStates));
        Check(inputSequence.Length, (long)steps * inputs, "x must hold T*n_x values.", nameof(inputSequence));
        Check(errors.Length, (long)steps * hidden, "e must hold T*n_h values.", nameof(errors));
        Check(output.Length, outputs, "y_T must have n_o entries.", nameof(output));
        Check(outputError.Length, outputs, "e_o must have n_o entries.", nameof(outputError));
        RecurrentWeights = recurrentWeights; InputWeights = inputWeights; ReadoutWeights = readoutWeights;
        Hidden = hidden; Inputs = inputs; Outputs = outputs; Steps = steps;
        HiddenStates = hiddenStates; InputSequence = inputSequence; Errors = errors;
        Output = output; OutputError = outputError; Activation = activation;
    }

    private static void Check(int length, long expected, string message, string name)
    {
        if (length != 0 && length != expected) throw new ArgumentException(message, name);
    }

    /// <summary>Wh (n_h × n_h), or empty.</summary>
    public Span<float> RecurrentWeights { get; }
    /// <summary>Wx (n_h × n_x), or empty.</summary>
    public Span<float> InputWeights { get; }
    /// <summary>Wo (n_o × n_h), or empty.</summary>
    public Span<float> ReadoutWeights { get; }
    /// <summary>n_h.</summary>
    public int Hidden { get; }
    /// <summary>n_x.</summary>
    public int Inputs { get; }
    /// <summary>n_o.</summary>
    public int Outputs { get; }
    /// <summary>T, the length of the sequence; sum_t runs over t = 1…T−1.</summary>
    public int Steps { get; }
    /// <summary>z_1…z_T, T × n_h.</summary>
    public ReadOnlySpan<float> HiddenStates { get; }
    /// <summary>x_1…x_T, T × n_x, or empty.</summary>
    public ReadOnlySpan<float> InputSequence { get; }
    /// <summary>e_1…e_T (e_t = ∂L/∂z_t), T × n_h, or empty.</summary>
    public ReadOnlySpan<float> Errors { get; }
    /// <summary>y_T = Wo f(z_T), or empty.</summary>
    public ReadOnlySpan<float> Output { get; }
    /// <summary>e_o = ∂L/∂y_T, or empty.</summary>
    public ReadOnlySpan<float> OutputError { get; }
    /// <summary>f, for rules that apply <c>f</c> or <c>df</c> or read <c>y_t</c>.</summary>
    public Activation? Activation { get; }
}

/// <summary>A compiled recurrent plasticity rule (one that updates dWh, dWx or dWo), applied in place.</summary>
/// <remarks>Implementations hold no state. Every sum over t is computed from the pre-update weights, then all
/// updates are applied.</remarks>
public interface IRecurrentRule : ICompiledRule
{
    /// <summary>The targets the rule updates, in the order dWh, dWx, dWo.</summary>
    IReadOnlyList<string> Targets { get; }
    /// <summary>Floats of scratch space <see cref="Apply"/> needs for a network of the given sizes and a sequence of T = <paramref name="steps"/> steps.</summary>
    int ScratchLength(int hidden, int inputs, int outputs, int steps);
    /// <summary>Applies ΔWh, ΔWx and ΔWo in place. θ holds t0..t9, then the parameters.</summary>
    void Apply(in RecurrentSignals network, ReadOnlySpan<float> theta, Span<float> scratch);
}
