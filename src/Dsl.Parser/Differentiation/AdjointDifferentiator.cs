using PlasticityDsl.Language.Binding;

namespace PlasticityDsl.Language.Differentiation;

/// <summary>v̄ += (∂ΔW/∂v)ᵀ Ū: the adjoint of a signal v (W, B, y_l, y_(l-1), z_l, e_l, e_(l-1)), in v's shape.</summary>
internal sealed record SignalAdjoint(Signal Signal, BoundExpression Value);

/// <summary>θ̄_k += ⟨Ū, ∂ΔW/∂θ_k⟩: the adjoint of the coefficient t_k or param with θ index <paramref name="Index"/>, a scalar.</summary>
internal sealed record CoefficientAdjoint(int Index, BoundExpression Value);

/// <summary>The vector-Jacobian product of a rule's updates: every adjoint a reverse-mode sweep adds, summed over the
/// updates, each in terms of the cotangents <see cref="BoundCotangent"/> Ū_W (and Ū_B) and the signals at the
/// pre-update state. Signals and coefficients in the order of <see cref="Signal"/> and of θ.</summary>
internal sealed record RuleAdjoint(IReadOnlyList<SignalAdjoint> Signals, IReadOnlyList<CoefficientAdjoint> Coefficients);

/// <summary>
/// Reverse-mode differentiation of a bound layer rule, the transpose of <see cref="Differentiator"/>'s tangent: for
/// cotangents Ū of the updates it gives Σ_updates Jᵀ Ū, split by input, so that for every direction (v̇, θ̇)
/// Σ_updates ⟨Ū, D ΔW[v̇, θ̇]⟩ = Σ_v ⟨v̄, v̇⟩ + Σ_k θ̄_k θ̇_k. The result is again bound expressions (e.g. for
/// ΔW = y yᵀW: ȳ = Ū Wᵀy + W Ūᵀy, W̄ = y yᵀŪ; for ΔW = t0·e xᵀ: ē = t0·Ū x, x̄ = t0·Ūᵀ e, θ̄_0 = Σ (eᵀŪ) ⊙ xᵀ).
/// </summary>
/// <remarks>
/// The walk runs top-down, handing each node the cotangent of its value: a product passes Ū Rᵀ to its left factor
/// and Lᵀ Ū to its right one; a scalar factor receives the inner product ⟨Ū, R⟩, written through the vectors of R
/// where R is a product with a vector factor (⟨Ū, a bᵀ⟩ = Σ (aᵀŪ) ⊙ bᵀ), so that no n×n matrix appears that the
/// tangent did not have; a broadcast sums its cotangent back (Ū 1 for a column, 1ᵀŪ for a row); sum(v) hands each
/// entry the scalar; tril is self-adjoint; elementwise functions use the derivatives the forward mode uses. A
/// matrix that no update changes is a constant of the episode, as in the forward mode. Rules the forward mode cannot
/// differentiate, recurrent rules (sum_t) and per-layer state fail with a <see cref="NotDifferentiable"/> reason.
/// </remarks>
internal static class AdjointDifferentiator
{
    /// <summary>Why a recurrent rule has no adjoint kernel.</summary>
    public const string RecurrentRulesHaveNoAdjoint = "recurrent rules have no adjoint yet (reverse-mode meta-learning trains layer rules)";

    public static bool TryDifferentiate(IReadOnlyList<BoundUpdate> updates, out RuleAdjoint? adjoint, out NotDifferentiable? reason)
    {
        var walker = new Walker(new HashSet<Signal>(updates.Select(u => Binder.TargetMatrix(u.Target))));
        foreach (BoundUpdate update in updates)
        {
            Signal matrix = Binder.TargetMatrix(update.Target);
            walker.Back(update.Value, new BoundCotangent(matrix, update.Span));
        }

        reason = walker.Failure;
        adjoint = reason is null
            ? new RuleAdjoint(
                walker.SignalBars.OrderBy(p => p.Key).Select(p => new SignalAdjoint(p.Key, p.Value)).ToList(),
                walker.CoefficientBars.OrderBy(p => p.Key).Select(p => new CoefficientAdjoint(p.Key, p.Value)).ToList())
            : null;
        return reason is null;
    }

    private sealed class Walker(HashSet<Signal> updated)
    {
        public Dictionary<Signal, BoundExpression> SignalBars { get; } = new();

        public Dictionary<int, BoundExpression> CoefficientBars { get; } = new();

        public NotDifferentiable? Failure { get; private set; }

        /// <summary>Adds the contributions of <paramref name="e"/> given its cotangent <paramref name="bar"/> (e's shape).</summary>
        public void Back(BoundExpression e, BoundExpression bar)
        {
            if (Failure is not null) return;
            switch (e)
            {
                case BoundNumber:
                    break;
                case BoundCoefficient c:
                    Accumulate(CoefficientBars, c.Index, bar);
                    break;
                case BoundSignal s when Signals.IsMatrix(s.Signal) && !updated.Contains(s.Signal):
                    break;
                case BoundSignal s when !Signals.All.Any(layer => layer.Signal == s.Signal):
                    Fail(s, RecurrentRulesHaveNoAdjoint);
                    break;
                case BoundSignal s:
                    Accumulate(SignalBars, s.Signal, bar);
                    break;
                case BoundTranspose t:
                    Back(t.Operand, Transpose(bar));
                    break;
                case BoundNegate n:
                    Back(n.Operand, Differentiator.Negate(bar)!);
                    break;
                case BoundSum s:
                    Back(s.Left, bar);
                    Back(s.Right, s.Subtract ? Differentiator.Negate(bar)! : bar);
                    break;
                case BoundProduct p when p.Left.Shape.IsScalar:
                    Back(p.Left, Inner(bar, p.Right));
                    Back(p.Right, Multiply(p.Left, bar));
                    break;
                case BoundProduct p when p.Right.Shape.IsScalar:
                    Back(p.Left, Multiply(bar, p.Right));
                    Back(p.Right, Inner(bar, p.Left));
                    break;
                case BoundProduct p:
                    Back(p.Left, Multiply(bar, Transpose(p.Right)));
                    Back(p.Right, Multiply(Transpose(p.Left), bar));
                    break;
                case BoundElementwise m:
                    Back(m.Left, new BoundElementwise(bar, m.Right, m.Span));
                    Back(m.Right, new BoundElementwise(m.Left, bar, m.Span));
                    break;
                case BoundBroadcast b:
                    Back(b.Operand, SumBack(bar, b.Operand.Shape));
                    break;
                case BoundCall c:
                    if (!Differentiator.TryDerivative(c, out BoundExpression? derivative, out string? failure)) Fail(c, failure!);
                    else if (derivative is not null) Back(c.Argument, c.Argument.Shape.IsScalar ? Multiply(derivative, bar) : new BoundElementwise(derivative, bar, c.Span));
                    break;
                case BoundReduce r when r.Reduction == Reduction.Sum:
                    Back(r.Argument, r.Argument.Shape.IsScalar ? bar : new BoundBroadcast(bar, r.Argument.Shape));
                    break;
                case BoundReduce r:
                    Fail(r, $"`{Functions.Spelling(r.Reduction)}` has no derivative the language can write (it needs a division)");
                    break;
                case BoundTril t:
                    Back(t.Operand, new BoundTril(bar, t.Span));
                    break;
                case BoundTimeSum t:
                    Fail(t, RecurrentRulesHaveNoAdjoint);
                    break;
                case BoundState s:
                    Fail(s, $"rules with per-layer state (`state {s.Name}`) have no adjoint yet");
                    break;
                default:
                    throw new InvalidOperationException("no adjoint for the bound node " + e.GetType().Name);
            }
        }

        private static void Accumulate<TKey>(Dictionary<TKey, BoundExpression> bars, TKey key, BoundExpression bar) =>
            bars[key] = bars.TryGetValue(key, out BoundExpression? sum) ? Differentiator.Add(sum, bar)! : bar;

        private void Fail(BoundExpression node, string message) => Failure ??= new NotDifferentiable(node, message);
    }

    /// <summary>⟨Ū, R⟩ = Σ_ij Ū_ij R_ij, a scalar. Through a product with a vector factor it is written with vectors
    /// (⟨Ū, a bᵀ⟩ = Σ (aᵀŪ) ⊙ bᵀ, ⟨Ū, M x⟩ = Σ (MᵀŪ) ⊙ x, ⟨Ū, (a bᵀ) M⟩ = ⟨Ū Mᵀ, a bᵀ⟩); sums, negations, scalar
    /// factors and transposes distribute; anything else is the elementwise sum.</summary>
    private static BoundExpression Inner(BoundExpression bar, BoundExpression r)
    {
        switch (r)
        {
            case { Shape.IsScalar: true }:
                return Multiply(bar, r);
            case BoundNegate n:
                return Differentiator.Negate(Inner(bar, n.Operand))!;
            case BoundSum s:
                return new BoundSum(Inner(bar, s.Left), Inner(bar, s.Right), s.Subtract, s.Span);
            case BoundTranspose t:
                return Inner(Transpose(bar), t.Operand);
            case BoundProduct p when p.Left.Shape.IsScalar:
                return Multiply(p.Left, Inner(bar, p.Right));
            case BoundProduct p when p.Right.Shape.IsScalar:
                return Multiply(Inner(bar, p.Left), p.Right);
            case BoundProduct p when !IsVector(r.Shape):
                // A matrix product L M: move the factor without a vector across, so that the vectors stay outermost.
                return p.Left.Shape.Columns == Dimension.One || p.Left is BoundProduct
                    ? Inner(Multiply(bar, Transpose(p.Right)), p.Left)
                    : Inner(Multiply(Transpose(p.Left), bar), p.Right);
            case BoundProduct p when r.Shape.Columns == Dimension.One:
                // A column M x (M a matrix or row-vector chain): ⟨ū, M x⟩ = ⟨Mᵀ ū, x⟩.
                return Inner(Multiply(Transpose(p.Left), bar), p.Right);
            case BoundProduct p:
                return Inner(Multiply(bar, Transpose(p.Right)), p.Left);
            default:
                return ElementwiseSum(bar, r);
        }
    }

    /// <summary>Σ_ij a_ij b_ij, as sum(v) of a column.</summary>
    private static BoundExpression ElementwiseSum(BoundExpression a, BoundExpression b)
    {
        if (a.Shape.Rows == Dimension.One && b.Shape.Rows == Dimension.One) return ElementwiseSum(Transpose(a), Transpose(b));
        var product = new BoundElementwise(a, b, b.Span);
        // A matrix: its row sums first (⊙ then times a column of ones), then their sum.
        BoundExpression column = product.Shape.Columns == Dimension.One ? product : Multiply(product, Differentiator.One(new Shape(product.Shape.Columns, Dimension.One), b.Span));
        return new BoundReduce(Reduction.Sum, column, b.Span);
    }

    /// <summary>The adjoint of a broadcast to <paramref name="bar"/>'s shape: the cotangent summed over the repeated dimensions.</summary>
    private static BoundExpression SumBack(BoundExpression bar, Shape operand)
    {
        BoundExpression summed = bar;
        if (operand.Columns == Dimension.One && summed.Shape.Columns != Dimension.One)
        {
            summed = Multiply(summed, Differentiator.One(new Shape(summed.Shape.Columns, Dimension.One), bar.Span));
        }
        if (operand.Rows == Dimension.One && summed.Shape.Rows != Dimension.One)
        {
            summed = Multiply(Differentiator.One(new Shape(Dimension.One, summed.Shape.Rows), bar.Span), summed);
        }
        return summed;
    }

    private static bool IsVector(Shape shape) => shape.Rows == Dimension.One || shape.Columns == Dimension.One;

    /// <summary>The product with the binder's shape rule: a scalar factor scales.</summary>
    private static BoundExpression Multiply(BoundExpression left, BoundExpression right) =>
        new BoundProduct(left, right, left.Shape.IsScalar ? right.Shape : right.Shape.IsScalar ? left.Shape : new Shape(left.Shape.Rows, right.Shape.Columns), left.Span);

    private static BoundExpression Transpose(BoundExpression e) => e switch
    {
        { Shape.IsScalar: true } => e,
        BoundTranspose t => t.Operand,
        _ => new BoundTranspose(e, e.Span),
    };
}
