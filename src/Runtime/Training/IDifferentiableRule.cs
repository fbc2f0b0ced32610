namespace PlasticityDsl.Runtime;

/// <summary>
/// Tangents (directional derivatives along one direction of θ) of layer l's signals, all at the pre-update state:
/// the forward-mode companions of a <see cref="LayerSignals"/>. A dot denotes d/dε of the quantity when θ moves to
/// θ + ε θ̇ (the whole episode up to this step is differentiated, so the tangents carry the dependence of W, B, y and
/// e on every earlier update).
/// </summary>
/// <remarks>Lengths are those of the matching <see cref="LayerSignals"/>: W's shape n_l × n_(l-1) for
/// <see cref="Weights"/> and <see cref="Feedback"/>, n_l for <see cref="Post"/>, <see cref="PreActivation"/> and
/// <see cref="PostError"/>, n_(l-1) for <see cref="Pre"/> and <see cref="PreError"/>.</remarks>
public readonly ref struct LayerTangents
{
    /// <param name="weights">Ẇ_l, to which the kernel adds the tangent of ΔW_l in place.</param>
    /// <param name="feedback">Ḃ_l, to which the kernel adds the tangent of ΔB_l; empty when the layer has no separate B
    /// or B is not plastic (its tangent is then zero).</param>
    /// <param name="post">ẏ_l.</param>
    /// <param name="pre">ẏ_(l-1).</param>
    /// <param name="preActivation">ż_l.</param>
    /// <param name="postError">ė_l, or empty when the rule does not read e_l.</param>
    /// <param name="preError">ė_(l-1), or empty when the rule does not read e_(l-1).</param>
    public LayerTangents(Span<float> weights, Span<float> feedback, ReadOnlySpan<float> post, ReadOnlySpan<float> pre,
        ReadOnlySpan<float> preActivation, ReadOnlySpan<float> postError, ReadOnlySpan<float> preError)
    {
        LayerDerivativeShapes.Check(weights.Length, feedback.Length, post.Length, pre.Length, preActivation.Length, postError.Length, preError.Length, Dot);
        Weights = weights; Feedback = feedback;
        Post = post; Pre = pre; PreActivation = preActivation; PostError = postError; PreError = preError;
    }

    // ẋ: x with a dot above (U+0307).
    private static string Dot(string symbol) => symbol + "\u0307";

    /// <summary>Ẇ_l; the kernel adds the tangent of ΔW_l in place.</summary>
    public Span<float> Weights { get; }
    /// <summary>Ḃ_l, or empty (no separate B, or B not plastic).</summary>
    public Span<float> Feedback { get; }
    /// <summary>ẏ_l.</summary>
    public ReadOnlySpan<float> Post { get; }
    /// <summary>ẏ_(l-1).</summary>
    public ReadOnlySpan<float> Pre { get; }
    /// <summary>ż_l.</summary>
    public ReadOnlySpan<float> PreActivation { get; }
    /// <summary>ė_l; empty if the rule does not read e_l.</summary>
    public ReadOnlySpan<float> PostError { get; }
    /// <summary>ė_(l-1); empty if the rule does not read e_(l-1).</summary>
    public ReadOnlySpan<float> PreError { get; }
}

/// <summary>The length checks of <see cref="LayerTangents"/> and <see cref="LayerAdjoints"/>: the lengths of
/// <see cref="LayerSignals"/>, the errors and B's derivative possibly empty.</summary>
internal static class LayerDerivativeShapes
{
    /// <param name="marked">The name of a derivative of the symbol it is given (W → Ẇ or W̄).</param>
    public static void Check(int weights, int feedback, int rows, int columns, int preActivation, int postError, int preError, Func<string, string> marked)
    {
        if (weights != rows * columns) throw new ArgumentException($"{marked("W")} must hold n_l·n_(l-1) values (the lengths of {marked("y")}_l and {marked("y")}_(l-1)).", nameof(weights));
        if (feedback != 0 && feedback != weights) throw new ArgumentException($"{marked("B")} must have {marked("W")}'s shape.", nameof(feedback));
        if (preActivation != rows) throw new ArgumentException($"{marked("z")}_l must have n_l entries.", nameof(preActivation));
        if (postError != 0 && postError != rows) throw new ArgumentException($"{marked("e")}_l must have n_l entries.", nameof(postError));
        if (preError != 0 && preError != columns) throw new ArgumentException($"{marked("e")}_(l-1) must have n_(l-1) entries.", nameof(preError));
    }
}

/// <summary>
/// A plasticity rule that also gives the directional derivative of its update: what forward-mode meta-learning
/// (<see cref="MetaLearning.ForwardModeEpisode"/>) needs to carry tangents of the weights through an online episode.
/// </summary>
public interface IDifferentiableRule : IPlasticityRule
{
    /// <summary>Floats of scratch space <see cref="ApplyTangent"/> needs for a layer of the given shape.</summary>
    int TangentScratchLength(int rows, int columns);

    /// <summary>
    /// Ẇ += D(ΔW)[tangents, θ̇] and Ḃ += D(ΔB)[…]: the directional derivative of <see cref="IPlasticityRule.Apply"/>'s
    /// update, evaluated at the pre-update state in <paramref name="layer"/> (call it before Apply changes W and B).
    /// <paramref name="theta"/> and <paramref name="thetaTangent"/> hold t0..t9, then the parameters.
    /// </summary>
    /// <remarks>Neither <paramref name="layer"/>'s W or B nor the signals change. Under backprop (no separate B) the
    /// caller's tangent of B is Ẇ itself; <see cref="LayerTangents.Feedback"/> is then empty.</remarks>
    void ApplyTangent(in LayerSignals layer, in LayerTangents tangent, ReadOnlySpan<float> theta, ReadOnlySpan<float> thetaTangent, Span<float> scratch);
}
