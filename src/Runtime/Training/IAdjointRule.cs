namespace PlasticityDsl.Runtime;

/// <summary>
/// Adjoints (reverse-mode derivatives of a meta-objective L) of layer l's signals and weights at one update: the
/// reverse-mode companions of a <see cref="LayerSignals"/>. A bar denotes ∂L/∂ of the quantity. <see cref="Weights"/>
/// (and <see cref="Feedback"/>) holds the cotangent Ū = ∂L/∂W after the update when the kernel starts and ∂L/∂W before
/// it when it ends; the vector adjoints are only added to.
/// </summary>
/// <remarks>Lengths are those of the matching <see cref="LayerSignals"/>, as in <see cref="LayerTangents"/>.</remarks>
public readonly ref struct LayerAdjoints
{
    /// <param name="weights">W̄_l: Ū_W in, W̄ = Ū_W + (∂ΔW/∂W)ᵀŪ (+ (∂ΔB/∂W)ᵀŪ_B) out.</param>
    /// <param name="feedback">B̄_l, likewise; empty when the layer has no separate B or B is not plastic.</param>
    /// <param name="post">ȳ_l, added to.</param>
    /// <param name="pre">ȳ_(l-1), added to.</param>
    /// <param name="preActivation">z̄_l, added to.</param>
    /// <param name="postError">ē_l, added to; empty when the rule does not read e_l.</param>
    /// <param name="preError">ē_(l-1), added to; empty when the rule does not read e_(l-1).</param>
    public LayerAdjoints(Span<float> weights, Span<float> feedback, Span<float> post, Span<float> pre,
        Span<float> preActivation, Span<float> postError, Span<float> preError)
    {
        LayerDerivativeShapes.Check(weights.Length, feedback.Length, post.Length, pre.Length, preActivation.Length, postError.Length, preError.Length, Bar);
        Weights = weights; Feedback = feedback;
        Post = post; Pre = pre; PreActivation = preActivation; PostError = postError; PreError = preError;
    }

    // x̄: x with a bar above (U+0304).
    private static string Bar(string symbol) => symbol + "\u0304";

    /// <summary>W̄_l: the cotangent Ū in, W̄ out.</summary>
    public Span<float> Weights { get; }
    /// <summary>B̄_l, or empty (no separate B, or B not plastic).</summary>
    public Span<float> Feedback { get; }
    /// <summary>ȳ_l.</summary>
    public Span<float> Post { get; }
    /// <summary>ȳ_(l-1).</summary>
    public Span<float> Pre { get; }
    /// <summary>z̄_l.</summary>
    public Span<float> PreActivation { get; }
    /// <summary>ē_l; empty if the rule does not read e_l.</summary>
    public Span<float> PostError { get; }
    /// <summary>ē_(l-1); empty if the rule does not read e_(l-1).</summary>
    public Span<float> PreError { get; }
}

/// <summary>
/// A differentiable rule that also gives the vector-Jacobian product of its update, whatever the number of
/// meta-parameters: what reverse-mode meta-learning needs to sweep an episode backward.
/// </summary>
public interface IAdjointRule : IDifferentiableRule
{
    /// <summary>Floats of scratch space <see cref="ApplyAdjoint"/> needs for a layer of the given shape.</summary>
    int AdjointScratchLength(int rows, int columns);

    /// <summary>
    /// W̄ += (∂ΔW/∂W)ᵀŪ_W + (∂ΔB/∂W)ᵀŪ_B in place (Ū the value W̄ holds on entry; B̄ likewise), v̄ += (∂ΔW/∂v)ᵀŪ for
    /// each signal v the rule reads, and θ̄_k += ⟨Ū, ∂ΔW/∂θ_k⟩: the transpose of <see cref="IDifferentiableRule.ApplyTangent"/>,
    /// at the pre-update state in <paramref name="layer"/>. <paramref name="theta"/> and <paramref name="thetaAdjoint"/>
    /// hold t0..t9, then the parameters.
    /// </summary>
    /// <remarks>Neither <paramref name="layer"/>'s W or B nor the signals change. Under backprop (no separate B) the
    /// caller's adjoint of B is W̄ itself; <see cref="LayerAdjoints.Feedback"/> is then empty.</remarks>
    void ApplyAdjoint(in LayerSignals layer, in LayerAdjoints adjoint, ReadOnlySpan<float> theta, Span<float> thetaAdjoint, Span<float> scratch);
}
