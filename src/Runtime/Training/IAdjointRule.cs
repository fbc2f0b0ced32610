using System.Runtime.CompilerServices;

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

    /// <summary>
    /// The first part of <see cref="ApplyAdjoint"/>: everything but the pass that updates W̄ and B̄ — the products of Ū,
    /// the vector adjoints and θ̄. <see cref="ApplyAdjointUpdate"/> with the same arguments and scratch, called before
    /// anything changes them, finishes it; in between the caller may compute what it adds to W̄ and B̄ in that pass.
    /// </summary>
    void ApplyAdjointProducts(in LayerSignals layer, in LayerAdjoints adjoint, ReadOnlySpan<float> theta, Span<float> thetaAdjoint, Span<float> scratch);

    /// <summary>
    /// The second part of <see cref="ApplyAdjoint"/>: the one pass over W̄ and B̄ that turns Ū into W̄, reading what
    /// <see cref="ApplyAdjointProducts"/> left in <paramref name="scratch"/>; each row then gains the caller's
    /// <paramref name="weightsTerms"/> (<paramref name="feedbackTerms"/> for B̄) while it is in cache, bit for bit as if
    /// they were added after the pass.
    /// </summary>
    void ApplyAdjointUpdate(in LayerSignals layer, in LayerAdjoints adjoint, ReadOnlySpan<float> theta, Span<float> scratch,
        in RankOneTerms weightsTerms, in RankOneTerms feedbackTerms);
}

/// <summary>
/// Up to two rank-one terms a bᵀ for <see cref="IAdjointRule.ApplyAdjointUpdate"/> to add to a matrix after the rule's
/// own terms, row i gaining a_i·b in that order: the reverse-mode engine's W̄_l += z̄_l y_(l−1)ᵀ and its error pass's
/// e_l c̄_(l−1)ᵀ, added while each row is in cache instead of in passes of their own. Default: no terms.
/// </summary>
public readonly ref struct RankOneTerms
{
    private readonly ReadOnlySpan<float> _a0, _b0, _a1, _b1;

    /// <summary>The terms a0 b0ᵀ and then a1 b1ᵀ; leave a1 and b1 empty for one term.</summary>
    public RankOneTerms(ReadOnlySpan<float> a0, ReadOnlySpan<float> b0, ReadOnlySpan<float> a1 = default, ReadOnlySpan<float> b1 = default)
    {
        if (a0.IsEmpty != b0.IsEmpty || a1.IsEmpty != b1.IsEmpty || (a0.IsEmpty && !a1.IsEmpty))
        {
            throw new ArgumentException("each rank-one term needs both its vectors, and the first term comes first.");
        }
        _a0 = a0; _b0 = b0; _a1 = a1; _b1 = b1;
    }

    /// <summary>Adds the terms' row <paramref name="i"/> to <paramref name="row"/>, as <see cref="KernelPrimitives.AddScaled(Span{float}, float, ReadOnlySpan{float})"/> per term.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called once per row, like KernelPrimitives.AddScaled
    public void AddToRow(Span<float> row, int i)
    {
        if (_a0.IsEmpty) return;
        KernelPrimitives.AddScaled(row, _a0[i], _b0);
        if (!_a1.IsEmpty) KernelPrimitives.AddScaled(row, _a1[i], _b1);
    }

    /// <summary>Adds the terms to every row of <paramref name="matrix"/> (<paramref name="columns"/> values per row).</summary>
    public void AddTo(Span<float> matrix, int columns)
    {
        if (_a0.IsEmpty) return;
        if (matrix.Length != _a0.Length * columns)
        {
            throw new ArgumentException($"the matrix holds {matrix.Length} values, not {_a0.Length}×{columns} as the terms' vectors need.", nameof(matrix));
        }
        for (int i = 0; i < _a0.Length; i++) AddToRow(matrix.Slice(i * columns, columns), i);
    }
}
