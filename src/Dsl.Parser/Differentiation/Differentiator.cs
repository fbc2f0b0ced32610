using PlasticityDsl.Language.Binding;

namespace PlasticityDsl.Language.Differentiation;

/// <summary>Why a rule has no tangent: the first node whose derivative the language cannot write.</summary>
internal sealed record NotDifferentiable(BoundExpression Node, string Message);

/// <summary>
/// Forward-mode differentiation of a bound rule: the tangent of an update ΔW(x, θ) along a direction (ẋ, θ̇) is
/// D ΔW[ẋ, θ̇] = Σ_v ∂ΔW/∂v · v̇ over everything the rule reads (W, B, y_l, y_(l-1), z_l, e_l, e_(l-1), the
/// recurrent symbols, t_k and params). The result is again a bound expression, in which
/// <see cref="BoundSignalTangent"/> and <see cref="BoundCoefficientTangent"/> stand for v̇ and θ̇, so the same
/// lowering, optimizer and emitter turn it into a fused kernel (docs/metalearning.md).
/// </summary>
/// <remarks>
/// Products follow the product rule, elementwise functions the chain rule with their derivative written in the
/// language itself (exp' = exp, tanh' = 1 − tanh², sigmoid' = σ − σ², relu' = sign(relu), abs' = sign,
/// sign' = 0, sq' = 2x, f' = df). Functions whose derivative needs a division or σ'' (log, sqrt, norm2, df)
/// make the rule not differentiable; <see cref="NotDifferentiable"/> names the node. A constant subtree has
/// the tangent null (zero), which keeps the derived expression free of zero terms.
/// </remarks>
internal static class Differentiator
{
    /// <summary>The tangent of every update, in order; an update whose tangent is zero is left out. In a layer rule, a
    /// matrix that no update of the rule changes (B of a rule without dB) is a constant of the episode: its tangent is
    /// zero. In a recurrent rule every matrix has a tangent: the learner may train Wx and Wo by gradient descent while
    /// the rule updates Wh.</summary>
    public static bool TryDifferentiate(IReadOnlyList<BoundUpdate> updates, out IReadOnlyList<BoundUpdate> tangents, out NotDifferentiable? reason)
    {
        bool recurrent = updates.Any(u => Binder.IsRecurrentTarget(u.Target));
        var walker = new Walker(recurrent ? null : new HashSet<Signal>(updates.Select(u => Binder.TargetMatrix(u.Target))));
        var result = new List<BoundUpdate>();
        foreach (BoundUpdate update in updates)
        {
            if (walker.Tangent(update.Value) is { } tangent) result.Add(new BoundUpdate(update.Target, tangent, update.Span));
        }

        reason = walker.Failure;
        tangents = reason is null ? result : Array.Empty<BoundUpdate>();
        return reason is null;
    }

    /// <summary>One differentiation; after the first node without a derivative, <see cref="Failure"/> says which
    /// and the rest of the walk is discarded. <paramref name="updated"/>: the matrices with a tangent, or null when
    /// all have one.</summary>
    private sealed class Walker(HashSet<Signal>? updated)
    {
        public NotDifferentiable? Failure { get; private set; }

        private BoundExpression? Fail(BoundExpression node, string message)
        {
            Failure ??= new NotDifferentiable(node, message);
            return null;
        }

        /// <summary>The tangent of <paramref name="e"/>, or null where it is identically zero.</summary>
        public BoundExpression? Tangent(BoundExpression e) => e switch
        {
            BoundNumber => null,
            BoundCoefficient c => new BoundCoefficientTangent(c.Index, c.Span),
            BoundSignal s when Signals.IsMatrix(s.Signal) && updated is not null && !updated.Contains(s.Signal) => null,
            // y_t = f(z_t) is no signal of its own in the network: ẏ_t = f'(z_t) ⊙ ż_t.
            BoundSignal { Signal: Signal.ActivityNow } y => new BoundElementwise(
                new BoundCall(ElementFunction.ActivationDerivative, new BoundSignal(Signal.HiddenNow, y.Span), y.Span),
                new BoundSignalTangent(Signal.HiddenNow, y.Span), y.Span),
            BoundSignal s => new BoundSignalTangent(s.Signal, s.Span),
            BoundTranspose t => Tangent(t.Operand) is { } d ? new BoundTranspose(d, t.Span) : null,
            BoundNegate n => Negate(Tangent(n.Operand)),
            BoundSum s => Add(Tangent(s.Left), s.Subtract ? Negate(Tangent(s.Right)) : Tangent(s.Right)),
            BoundProduct p => Add(
                Tangent(p.Left) is { } dl ? new BoundProduct(dl, p.Right, p.ResultShape, p.Span) : null,
                Tangent(p.Right) is { } dr ? new BoundProduct(p.Left, dr, p.ResultShape, p.Span) : null),
            BoundElementwise m => Add(
                Tangent(m.Left) is { } dl ? new BoundElementwise(dl, m.Right, m.Span) : null,
                Tangent(m.Right) is { } dr ? new BoundElementwise(m.Left, dr, m.Span) : null),
            BoundBroadcast b => Tangent(b.Operand) is { } d ? new BoundBroadcast(d, b.Shape) : null,
            BoundCall c => Chain(c),
            BoundReduce r when r.Reduction == Reduction.Sum => Tangent(r.Argument) is { } d ? new BoundReduce(Reduction.Sum, d, r.Span) : null,
            BoundReduce r => Fail(r, $"`{Functions.Spelling(r.Reduction)}` has no derivative the language can write (it needs a division)"),
            BoundTimeSum t => Tangent(t.Operand) is { } d ? new BoundTimeSum(d, t.Span) : null,
            // tril is linear: tril(X)˙ = tril(Ẋ).
            BoundTril t => Tangent(t.Operand) is { } d ? new BoundTril(d, t.Span) : null,
            _ => throw new InvalidOperationException("no tangent for the bound node " + e.GetType().Name),
        };

        /// <summary>f(a)˙ = f'(a) ⊙ ȧ.</summary>
        private BoundExpression? Chain(BoundCall call)
        {
            if (Tangent(call.Argument) is not { } inner) return null;
            if (!TryDerivative(call, out BoundExpression? derivative, out string? failure)) return Fail(call, failure!);
            if (derivative is null) return null;
            return call.Argument.Shape.IsScalar ? new BoundProduct(derivative, inner, Shape.Scalar, call.Span) : new BoundElementwise(derivative, inner, call.Span);
        }
    }

    /// <summary>f'(a) for the elementwise call f(a), written in the language (shared with
    /// <see cref="AdjointDifferentiator"/>); null where it is zero (sign). False, with the reason, for a function whose
    /// derivative the language cannot write.</summary>
    internal static bool TryDerivative(BoundCall call, out BoundExpression? derivative, out string? failure)
    {
        BoundExpression a = call.Argument;
        failure = null;
        derivative = call.Function switch
        {
            ElementFunction.Activation => new BoundCall(ElementFunction.ActivationDerivative, a, call.Span),
            ElementFunction.Exp => call,
            ElementFunction.Tanh => Subtract(One(a.Shape, call.Span), new BoundCall(ElementFunction.Square, call, call.Span)),
            ElementFunction.Sigmoid => Subtract(call, new BoundCall(ElementFunction.Square, call, call.Span)),
            ElementFunction.Relu => new BoundCall(ElementFunction.Sign, call, call.Span),
            ElementFunction.Abs => new BoundCall(ElementFunction.Sign, a, call.Span),
            ElementFunction.Sign => null,
            ElementFunction.Square => new BoundProduct(new BoundNumber(2, call.Span), a, a.Shape, call.Span),
            _ => null,
        };
        if (derivative is not null || call.Function == ElementFunction.Sign) return true;
        failure = call.Function == ElementFunction.ActivationDerivative
            ? "`df` has no derivative the language can write (it needs σ'')"
            : $"`{Functions.Spelling(call.Function)}` has no derivative the language can write (it needs a division)";
        return false;
    }

    internal static BoundExpression One(Shape shape, SourceSpan span) =>
        shape.IsScalar ? new BoundNumber(1, span) : new BoundBroadcast(new BoundNumber(1, span), shape);

    private static BoundExpression Subtract(BoundExpression left, BoundExpression right) => new BoundSum(left, right, Subtract: true, left.Span);

    internal static BoundExpression? Negate(BoundExpression? e) => e is null ? null : e is BoundNegate n ? n.Operand : new BoundNegate(e, e.Span);

    internal static BoundExpression? Add(BoundExpression? left, BoundExpression? right) =>
        left is null ? right
        : right is null ? left
        : right is BoundNegate n ? new BoundSum(left, n.Operand, Subtract: true, left.Span)
        : new BoundSum(left, right, Subtract: false, left.Span);
}
