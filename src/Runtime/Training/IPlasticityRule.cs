namespace PlasticityDsl.Runtime;

/// <summary>The signals of one layer l during an online step, all computed from the pre-update state.</summary>
/// <remarks>W is row-major, <see cref="Rows"/> = n_l by <see cref="Columns"/> = n_(l-1).</remarks>
public readonly ref struct LayerSignals
{
    public LayerSignals(Span<float> weights, int rows, int columns,
        ReadOnlySpan<float> post, ReadOnlySpan<float> pre, ReadOnlySpan<float> preActivation,
        ReadOnlySpan<float> postError, ReadOnlySpan<float> preError)
        : this(weights, default, rows, columns, post, pre, preActivation, postError, preError, null)
    {
    }

    /// <param name="feedback">B_l in W's shape, updated in place by rules with <c>dB</c>; empty when the layer has none (backprop).</param>
    /// <param name="activation">σ of layer l, for rules that apply <c>f</c> or <c>df</c>.</param>
    public LayerSignals(Span<float> weights, Span<float> feedback, int rows, int columns,
        ReadOnlySpan<float> post, ReadOnlySpan<float> pre, ReadOnlySpan<float> preActivation,
        ReadOnlySpan<float> postError, ReadOnlySpan<float> preError, Activation? activation)
    {
        if (feedback.Length != 0 && feedback.Length != weights.Length) throw new ArgumentException("B must have W's shape.", nameof(feedback));
        Feedback = feedback;
        Activation = activation;
        if (weights.Length != rows * columns) throw new ArgumentException("W must hold rows*columns values.", nameof(weights));
        if (post.Length != rows || preActivation.Length != rows) throw new ArgumentException("y_l and z_l must have n_l entries.");
        if (pre.Length != columns) throw new ArgumentException("y_(l-1) must have n_(l-1) entries.", nameof(pre));
        if (postError.Length != 0 && postError.Length != rows) throw new ArgumentException("e_l must have n_l entries.", nameof(postError));
        if (preError.Length != 0 && preError.Length != columns) throw new ArgumentException("e_(l-1) must have n_(l-1) entries.", nameof(preError));
        Weights = weights; Rows = rows; Columns = columns;
        Post = post; Pre = pre; PreActivation = preActivation; PostError = postError; PreError = preError;
    }

    /// <summary>W_l, updated in place by the kernel.</summary>
    public Span<float> Weights { get; }
    public int Rows { get; }
    public int Columns { get; }
    /// <summary>B_l (n_l × n_(l-1)), or empty.</summary>
    public Span<float> Feedback { get; }

    /// <summary>σ of the layer, or null.</summary>
    public Activation? Activation { get; }

    /// <summary>y_l.</summary>
    public ReadOnlySpan<float> Post { get; }
    /// <summary>y_(l-1).</summary>
    public ReadOnlySpan<float> Pre { get; }
    /// <summary>z_l.</summary>
    public ReadOnlySpan<float> PreActivation { get; }
    /// <summary>e_l; empty when the rule does not read errors.</summary>
    public ReadOnlySpan<float> PostError { get; }
    /// <summary>e_(l-1); empty when the rule does not read it.</summary>
    public ReadOnlySpan<float> PreError { get; }

    /// <summary>The layer's state (<c>state</c> variables of the rule, <see cref="IPlasticityRule.StateLength"/> floats),
    /// updated in place; empty for rules without state.</summary>
    public Span<float> State { get; init; }
}

/// <summary>Which signals a rule reads, so that the runtime computes only those.</summary>
[Flags]
public enum RuleSignals
{
    None = 0,
    PostError = 1,
    PreError = 2,
    /// <summary>The rule reads B.</summary>
    Feedback = 4,
    /// <summary>The rule updates B (it has a dB statement).</summary>
    FeedbackUpdate = 8,
}

/// <summary>A named coefficient declared with <c>param</c>: θ[Index], <see cref="Default"/> unless given.</summary>
public sealed record RuleParameter(string Name, int Index, float Default);

/// <summary>What every compiled rule, layer or recurrent, says about itself.</summary>
public interface ICompiledRule
{
    /// <summary>The rule's name (the .rule file stem, or its <c>rule</c> header).</summary>
    string Name { get; }
    /// <summary>The rule as written, pretty-printed.</summary>
    string Source { get; }
    /// <summary>Indices k of the coefficients t_k the rule reads, ascending.</summary>
    IReadOnlyList<int> Coefficients { get; }
    /// <summary>Named coefficients (<c>param</c>), at θ indices 10 and up.</summary>
    IReadOnlyList<RuleParameter> Parameters => Array.Empty<RuleParameter>();
}

/// <summary>A compiled plasticity rule: W_l += ΔW_l(signals, θ), applied in place.</summary>
/// <remarks>Implementations hold no state: the update is a function of the layer's signals (its <c>state</c> variables among them) and θ alone.</remarks>
public interface IPlasticityRule : ICompiledRule
{
    RuleSignals Signals { get; }
    /// <summary>Floats of scratch space <see cref="Apply"/> needs for a layer of the given shape.</summary>
    int ScratchLength(int rows, int columns);
    /// <summary>Floats of per-layer state (the rule's <c>state</c> variables, one after another) for a layer of the
    /// given shape; 0 for a rule without state.</summary>
    int StateLength(int rows, int columns) => 0;

    /// <summary>Sets a layer's state to the rule's initial values.</summary>
    void InitializeState(Span<float> state, int rows, int columns)
    {
    }

    /// <summary>Applies ΔW (and ΔB, and the state's updates) in place, all from the pre-update values. θ holds t0..t9,
    /// then the parameters.</summary>
    void Apply(in LayerSignals layer, ReadOnlySpan<float> theta, Span<float> scratch);

    /// <summary>
    /// <see cref="Apply"/>, then <paramref name="nextProduct"/> = W <paramref name="nextInput"/> through the updated W,
    /// bit for bit as <see cref="KernelPrimitives.MultiplyVector"/> computes it: the forward product of the next sample in
    /// online training, whose input is known before the update. A generated kernel that updates W row by row computes
    /// it in its update pass, from each row just written and still in cache, instead of streaming W again.
    /// </summary>
    /// <param name="nextInput">n_(l−1) values, or empty for no product (<see cref="Apply"/> alone).</param>
    /// <param name="nextProduct">Receives n_l values.</param>
    void ApplyAndMultiply(in LayerSignals layer, ReadOnlySpan<float> theta, Span<float> scratch, ReadOnlySpan<float> nextInput, Span<float> nextProduct)
    {
        Apply(in layer, theta, scratch);
        if (!nextInput.IsEmpty) KernelPrimitives.MultiplyVector(layer.Weights, layer.Rows, layer.Columns, nextInput, nextProduct);
    }
}

public static class CompiledRuleExtensions
{
    /// <summary>How a coefficient is written in the rule: t0..t9, or a parameter's name.</summary>
    public static string CoefficientName(this ICompiledRule rule, int index) =>
        rule.Parameters.FirstOrDefault(p => p.Index == index)?.Name ?? "t" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
