using PlasticityDsl.Language.Binding;

namespace PlasticityDsl.Language.Lowering;

/// <summary>A factor of a product chain.</summary>
internal abstract record Atom
{
    public abstract Atom Transpose();
}

/// <summary>W, B, Wh, Wx, Wo or a transpose.</summary>
internal sealed record MatrixAtom(SignalRef Matrix, bool Transposed) : Atom
{
    public override Atom Transpose() => this with { Transposed = !Transposed };
}

/// <summary>A column vector, or a row vector when transposed.</summary>
internal sealed record VectorAtom(VectorValue Value, bool Transposed) : Atom
{
    public override Atom Transpose() => this with { Transposed = !Transposed };
}

/// <summary>diag(v): what an elementwise product with a broadcast vector multiplies by.</summary>
internal sealed record DiagonalAtom(VectorValue Value) : Atom
{
    public override Atom Transpose() => this;
}

/// <summary>tril(Column·Rowᵀ), the lower triangle (diagonal included) of an outer product; <paramref name="Upper"/>
/// after a transpose. Null vectors: the operand's term had no vector (no O(n·m) form). <paramref name="Span"/> is the
/// <c>tril</c>'s, for the lowering's diagnostic; atoms never reach the model.</summary>
internal sealed record TrilAtom(VectorValue? Column, VectorValue? Row, bool Upper, SourceSpan Span) : Atom
{
    public override Atom Transpose() => new TrilAtom(Row, Column, !Upper, Span);
}

/// <summary>⊙_k Factors_k: weights read elementwise (functions of W or B, products of them). <paramref name="Valid"/>
/// false: an elementwise product the lowering has no form for (of a transposed matrix); <paramref name="Span"/> is the
/// node's, for the lowering's diagnostic.</summary>
internal sealed record ElementwiseAtom(EquatableArray<MatrixFactor> Factors, bool Transposed, bool Valid, SourceSpan Span) : Atom
{
    public override Atom Transpose() => this with { Transposed = !Transposed };
}

/// <summary>A term of the expansion: c · Π t_k · Π scalars · chain; <paramref name="PerTime"/>: a term of
/// <c>sum_t</c>, summed over t = 1…T−1.</summary>
internal sealed record Term(double Constant, IReadOnlyList<CoefficientRef> Coefficients, IReadOnlyList<ScalarValue> Scalars, IReadOnlyList<Atom> Chain, bool PerTime = false)
{
    public static Term Scalar(double constant) => new(constant, Array.Empty<CoefficientRef>(), Array.Empty<ScalarValue>(), Array.Empty<Atom>());

    public static Term Of(ScalarValue value) => new(1, Array.Empty<CoefficientRef>(), new[] { value }, Array.Empty<Atom>());

    public static Term Of(Atom atom) => new(1, Array.Empty<CoefficientRef>(), Array.Empty<ScalarValue>(), new[] { atom });

    public Term Times(Term other, IReadOnlyList<Atom> chain) => new(
        Constant * other.Constant,
        Coefficients.Concat(other.Coefficients).OrderBy(k => k.Index).ToList(),
        Scalars.Concat(other.Scalars).ToList(),
        chain,
        PerTime || other.PerTime);
}

/// <summary>
/// Expands a bound expression by distributivity into a sum of products c · Π t_k · Π scalars · (chain of matrices,
/// their transposes, diagonal matrices and vectors), transposes pushed onto the atoms. Functions and reductions
/// of vectors become values of their (combined) arguments. Null when the expansion exceeds <see cref="MaxTerms"/>.
/// </summary>
internal static class Expansion
{
    /// <summary>Most terms an update may expand to: (a+b)*(c+d)*… doubles with every factor.</summary>
    public const int MaxTerms = 2_000;

    public static IReadOnlyList<Term>? Expand(BoundExpression e)
    {
        IReadOnlyList<Term>? terms = ExpandNode(e);
        return terms is null || terms.Count > MaxTerms ? null : terms;
    }

    private static IReadOnlyList<Term>? ExpandNode(BoundExpression e)
    {
        switch (e)
        {
            case BoundNumber n:
                return new[] { Term.Scalar(n.Value) };
            case BoundCoefficient c:
                return new[] { new Term(1, new[] { new CoefficientRef(c.Index) }, Array.Empty<ScalarValue>(), Array.Empty<Atom>()) };
            case BoundCoefficientTangent c:
                return new[] { new Term(1, new[] { new CoefficientRef(c.Index, Tangent: true) }, Array.Empty<ScalarValue>(), Array.Empty<Atom>()) };
            case BoundSignal m when Signals.IsMatrix(m.Signal):
                return new[] { Term.Of(new MatrixAtom(new SignalRef(m.Signal), false)) };
            case BoundSignalTangent m when Signals.IsMatrix(m.Signal):
                return new[] { Term.Of(new MatrixAtom(new SignalRef(m.Signal, Tangent: true), false)) };
            case BoundCotangent u:
                return new[] { Term.Of(new MatrixAtom(new SignalRef(u.Matrix, Adjoint: true), false)) };
            // ẏ_t is never a leaf: the differentiator writes f'(z_t) ⊙ ż_t.
            case BoundSignalTangent s when s.Signal != Signal.ActivityNow:
                return new[] { Term.Of(new VectorAtom(new SignalVector(new SignalRef(s.Signal, Tangent: true)), false)) };
            case BoundSignal { Signal: Signal.ActivityNow }:
                // y_t = f(z_t): one value, so that y_t and f(z_t) are computed once.
                return new[] { Term.Of(new VectorAtom(new MappedVector(ElementFunction.Activation, new SignalVector(new SignalRef(Signal.HiddenNow))), false)) };
            case BoundTimeSum ts:
                return Expand(ts.Operand)?.Select(t => t with { PerTime = true }).ToList();
            case BoundSignal s:
                return new[] { Term.Of(new VectorAtom(new SignalVector(new SignalRef(s.Signal)), false)) };
            case BoundState { Shape.IsScalar: true } state:
                return new[] { Term.Of(new StateScalar(new StateRef(state.Index, state.Name, Dimension.One))) };
            case BoundState state:
                return new[] { Term.Of(new VectorAtom(new StateVector(new StateRef(state.Index, state.Name, state.Shape.Rows)), false)) };
            case BoundNegate neg:
                return Expand(neg.Operand)?.Select(t => t with { Constant = -t.Constant }).ToList();
            case BoundTranspose tr:
                return Expand(tr.Operand)?.Select(t => t with { Chain = t.Chain.Reverse().Select(a => a.Transpose()).ToList() }).ToList();
            case BoundSum sum:
                return Expand(sum.Left) is { } addend && Expand(sum.Right) is { } other
                    ? addend.Concat(other.Select(t => sum.Subtract ? t with { Constant = -t.Constant } : t)).ToList()
                    : null;
            case BoundProduct p:
                if (Expand(p.Left) is not { } left || Expand(p.Right) is not { } right || (long)left.Count * right.Count > MaxTerms) return null;
                return (from l in left
                        from r in right
                        let a = p.Left.Shape.IsScalar ? AsScalar(l) : l
                        let b = p.Right.Shape.IsScalar ? AsScalar(r) : r
                        select a.Times(b, a.Chain.Concat(b.Chain).ToList())).ToList();
            case BoundBroadcast b:
                return Expand(b.Operand)?.Select(t => Broadcast(b.Operand.Shape.IsScalar ? AsScalar(t) : t, b.Operand.Shape, b.Target)).ToList();
            case BoundElementwise el:
                return ExpandElementwise(el);
            case BoundTril tril:
                return Expand(tril.Operand)?.Select(t => Triangle(t, tril.Span)).ToList();
            case BoundCall call when call.Shape.Rows != Dimension.One && call.Shape.Columns != Dimension.One:
                return Expand(call.Argument)?.Select(t => MapWeights(t, call)).ToList();
            case BoundCall { Shape.IsScalar: true } call:
                return Expand(call.Argument) is { } argument
                    ? new[] { Term.Of(new MappedScalar(call.Function, argument.Select(AsScalarProduct).ToEquatableArray())) }
                    : null;
            case BoundCall call:
                bool row = call.Shape.Rows == Dimension.One;
                return Expand(call.Argument) is { } mapped
                    ? new[] { Term.Of(new VectorAtom(new MappedVector(call.Function, Chains.Combine(mapped, row)), row)) }
                    : null;
            case BoundReduce reduce:
                return Expand(reduce.Argument) is { } reduced
                    ? new[] { Term.Of(new ReducedScalar(reduce.Reduction, Chains.Combine(reduced, reduce.Argument.Shape.Rows == Dimension.One))) }
                    : null;
            default:
                throw new InvalidOperationException("unknown bound node " + e.GetType().Name);
        }
    }

    /// <summary>f(M) of a term that is W, B or an elementwise function of one (the binder allows nothing else).</summary>
    private static Term MapWeights(Term t, BoundCall call)
    {
        MatrixFactor? operand = t is { Constant: 1, Coefficients.Count: 0, Scalars.Count: 0 } && t.Chain.Count == 1 ? t.Chain[0] switch
        {
            MatrixAtom { Transposed: false } m => new MatrixElement(m.Matrix),
            ElementwiseAtom { Valid: true, Transposed: false, Factors.Count: 1 } ew => ew.Factors[0],
            _ => null,
        } : null;
        return operand is null
            ? Term.Of(new ElementwiseAtom(EquatableArray<MatrixFactor>.Empty, false, false, call.Span))
            : Term.Of(new ElementwiseAtom(new MatrixFactor[] { new MappedElement(call.Function, operand) }.ToEquatableArray(), false, true, call.Span));
    }

    /// <summary>The chain diag(row scales)·(⊙ factors)·diag(column scales) of two chains without vectors; an invalid
    /// atom when either is not of that form (a transposed matrix).</summary>
    private static IReadOnlyList<Atom> ElementwiseProduct(IReadOnlyList<Atom> left, IReadOnlyList<Atom> right, SourceSpan span)
    {
        var rowScales = new List<Atom>();
        var columnScales = new List<Atom>();
        var factors = new List<MatrixFactor>();
        foreach (IReadOnlyList<Atom> chain in new[] { left, right })
        {
            bool seen = false;
            foreach (Atom atom in chain)
            {
                switch (atom)
                {
                    case DiagonalAtom d:
                        (seen ? columnScales : rowScales).Add(d);
                        break;
                    case MatrixAtom { Transposed: false } m when !seen:
                        factors.Add(new MatrixElement(m.Matrix));
                        seen = true;
                        break;
                    case ElementwiseAtom { Valid: true, Transposed: false } ew when !seen:
                        factors.AddRange(ew.Factors);
                        seen = true;
                        break;
                    default:
                        return new Atom[] { new ElementwiseAtom(EquatableArray<MatrixFactor>.Empty, false, false, span) };
                }
            }

            if (!seen) return new Atom[] { new ElementwiseAtom(EquatableArray<MatrixFactor>.Empty, false, false, span) };
        }

        // A canonical order, so that W .* B and B .* W are like terms.
        var product = new ElementwiseAtom(factors.OrderBy(f => f.ToString(), StringComparer.Ordinal).ToEquatableArray(), false, true, span);
        return rowScales.Append(product).Concat(columnScales).ToList();
    }

    /// <summary>The elementwise atom of a term the lowering has no form for: a term that reads weights elementwise must
    /// be c·diag(a)·(⊙ factors)·diag(b), outside <c>sum_t</c>.</summary>
    public static ElementwiseAtom? UnsupportedElementwise(Term t)
    {
        if (t.Chain.OfType<ElementwiseAtom>().FirstOrDefault() is not { } first) return null;
        bool supported = !t.PerTime && t.Chain.Count(a => a is ElementwiseAtom) == 1 && first is { Valid: true, Transposed: false }
            && t.Chain.All(a => a is DiagonalAtom || a == first);
        return supported ? null : t.Chain.OfType<ElementwiseAtom>().FirstOrDefault(a => !a.Valid || a.Transposed) ?? first;
    }

    /// <summary>tril is linear: tril(c · a bᵀ) = c · tril(a bᵀ), the term's chain evaluated to its outer product.</summary>
    private static Term Triangle(Term t, SourceSpan span)
    {
        if (!t.Chain.Any(a => a is VectorAtom) || t.Chain.Any(a => a is TrilAtom))
        {
            return t with { Chain = new Atom[] { new TrilAtom(null, null, false, span) } };
        }

        var scalars = new List<ScalarValue>(t.Scalars);
        (VectorValue? column, VectorValue? row) = Chains.Evaluate(t.Chain, scalars);
        return t with { Scalars = scalars, Chain = new Atom[] { new TrilAtom(column, row, false, span) } };
    }

    /// <summary>The <c>tril</c> of a term the lowering has no O(n·m) form for: a term with a tril must be
    /// c · tril(a bᵀ) · M for the target's matrix shape (W or B, not transposed), outside <c>sum_t</c>.</summary>
    public static TrilAtom? UnsupportedTriangle(Term t, Shape target)
    {
        if (t.Chain.OfType<TrilAtom>().FirstOrDefault() is not { } tril) return null;
        bool supported = !t.PerTime && t.Chain.Count == 2 && t.Chain[0] == tril && tril is { Upper: false, Column: not null, Row: not null }
            && t.Chain[1] is MatrixAtom { Transposed: false } m && m.Matrix.Shape == target;
        return supported ? null : tril;
    }

    /// <summary>Repeats a scalar, row or column term to the target shape: multiplies by vectors of ones.</summary>
    private static Term Broadcast(Term t, Shape from, Shape to)
    {
        var chain = new List<Atom>();
        if (from.Rows == Dimension.One && to.Rows != Dimension.One) chain.Add(new VectorAtom(new OnesVector(to.Rows), false));
        chain.AddRange(t.Chain);
        if (from.Columns == Dimension.One && to.Columns != Dimension.One) chain.Add(new VectorAtom(new OnesVector(to.Columns), true));
        return t with { Chain = chain };
    }

    private static IReadOnlyList<Term>? ExpandElementwise(BoundElementwise e)
    {
        if (Expand(e.Left) is not { } left || Expand(e.Right) is not { } right) return null;
        Shape shape = e.Shape;
        var result = new List<Term>();
        foreach (Term p in left)
        {
            foreach (Term q in right)
            {
                if (shape.IsScalar)
                {
                    Term a = AsScalar(p), b = AsScalar(q);
                    result.Add(a.Times(b, Array.Empty<Atom>()));
                }
                else if (shape.Rows == Dimension.One || shape.Columns == Dimension.One)
                {
                    bool row = shape.Rows == Dimension.One;
                    var scalars = new List<ScalarValue>();
                    VectorValue a = Chains.Vector(p.Chain, row, scalars), b = Chains.Vector(q.Chain, row, scalars);
                    Term product = p.Times(q, new[] { new VectorAtom(Chains.Hadamard(a, b), row) });
                    result.Add(product with { Scalars = product.Scalars.Concat(scalars).ToList() });
                }
                else if (!p.Chain.Any(x => x is VectorAtom) && !q.Chain.Any(x => x is VectorAtom))
                {
                    // (diag·F·diag) ⊙ (diag·G·diag) = diag·(F ⊙ G)·diag: the weights read elementwise.
                    result.Add(p.Times(q, ElementwiseProduct(p.Chain, q.Chain, e.Span)));
                }
                else
                {
                    // (a bᵀ) ⊙ M = diag(a) · M · diag(b).
                    bool leftIsOuter = p.Chain.Any(x => x is VectorAtom);
                    (Term outer, Term other) = leftIsOuter ? (p, q) : (q, p);
                    var scalars = new List<ScalarValue>();
                    (VectorValue? a, VectorValue? b) = Chains.Evaluate(outer.Chain, scalars);
                    // diag(ones) is the identity: a broadcast row or column leaves one side unscaled.
                    var chain = new List<Atom>();
                    if (a is not OnesVector) chain.Add(new DiagonalAtom(a!));
                    chain.AddRange(other.Chain);
                    if (b is not OnesVector) chain.Add(new DiagonalAtom(b!));
                    Term product = p.Times(q, chain);
                    result.Add(product with { Scalars = product.Scalars.Concat(scalars).ToList() });
                }
            }
        }

        return result;
    }

    /// <summary>A 1×1 term becomes a pure scalar: its chain (an inner product) turns into scalar factors.</summary>
    private static Term AsScalar(Term t)
    {
        if (t.Chain.Count == 0) return t;
        var scalars = new List<ScalarValue>(t.Scalars);
        Chains.Evaluate(t.Chain, scalars);
        return t with { Scalars = scalars, Chain = Array.Empty<Atom>() };
    }

    public static ScalarProduct AsScalarProduct(Term t)
    {
        Term scalar = AsScalar(t);
        return Chains.Product(scalar.Constant, scalar.Coefficients, scalar.Scalars);
    }
}
