using System.Globalization;
using PlasticityDsl.Language.Binding;

namespace PlasticityDsl.Language.Lowering;

/// <summary>
/// Bound tree → kernel plan. Every update is expanded by distributivity into a sum of products
/// c · Π t_k · Π scalars · (chain of W, B, their transposes, diagonal matrices and vectors). A chain with a
/// vector is evaluated as an outer product of two vectors through matrix-vector products only (O(n·m)),
/// never as an n×n matrix: (y yᵀ)W becomes y (Wᵀy)ᵀ. A chain without one is c·diag(a)·M·diag(b). Equal
/// vectors and scalars are computed once, across terms and across dW and dB; like terms are merged and
/// cancelled ones dropped; terms are grouped by the vector they add to each row, and groups whose coefficients
/// are proportional add one combination of their vectors (Oja: y_l (y_(l-1) − Wᵀy_l)ᵀ); the emitted kernel
/// makes one pass over the weights.
/// </summary>
public static class Lowerer
{
    /// <summary>A factor of a product chain.</summary>
    private abstract record Atom
    {
        public abstract Atom Transpose();
    }

    /// <summary>W, B or a transpose.</summary>
    private sealed record MatrixAtom(Signal Matrix, bool Transposed) : Atom
    {
        public override Atom Transpose() => this with { Transposed = !Transposed };
    }

    /// <summary>A column vector, or a row vector when transposed.</summary>
    private sealed record VectorAtom(VectorValue Value, bool Transposed) : Atom
    {
        public override Atom Transpose() => this with { Transposed = !Transposed };
    }

    /// <summary>diag(v): what an elementwise product with a broadcast vector multiplies by.</summary>
    private sealed record DiagonalAtom(VectorValue Value) : Atom
    {
        public override Atom Transpose() => this;
    }

    /// <summary>A term of the expansion; <paramref name="PerTime"/>: a term of <c>sum_t</c>, summed over t = 1…T−1.</summary>
    private sealed record Term(double Constant, IReadOnlyList<int> Coefficients, IReadOnlyList<ScalarValue> Scalars, IReadOnlyList<Atom> Chain, bool PerTime = false)
    {
        public static Term Scalar(double constant) => new(constant, Array.Empty<int>(), Array.Empty<ScalarValue>(), Array.Empty<Atom>());

        public static Term Of(ScalarValue value) => new(1, Array.Empty<int>(), new[] { value }, Array.Empty<Atom>());

        public static Term Of(Atom atom) => new(1, Array.Empty<int>(), Array.Empty<ScalarValue>(), new[] { atom });

        public Term Times(Term other, IReadOnlyList<Atom> chain) => new(
            Constant * other.Constant,
            Coefficients.Concat(other.Coefficients).OrderBy(k => k).ToList(),
            Scalars.Concat(other.Scalars).ToList(),
            chain,
            PerTime || other.PerTime);
    }

    /// <summary>A term after evaluation: the factor, and Column·Rowᵀ, or diag(RowScale)·Matrix·diag(ColumnScale).</summary>
    private sealed record EvaluatedTerm(ScalarProduct Factor, VectorValue? Column, VectorValue? Row, Signal? Matrix, VectorValue? RowScale, VectorValue? ColumnScale)
    {
        /// <summary>The term is applied for every t (its vectors depend on t).</summary>
        public bool PerTime => Timed(Column) || Timed(Row) || Timed(RowScale) || Timed(ColumnScale);

        public string Key => string.Join(",", Factor.Coefficients) + "|" + string.Join(",", Factor.Factors) + "|" + Column + "|" + Row + "|" + Matrix + "|" + RowScale + "|" + ColumnScale;
    }

    public static KernelModel Lower(string ruleName, string className, string source, IReadOnlyList<BoundUpdate> updates, IReadOnlyList<BoundParameter> parameters)
    {
        var plan = new PlanBuilder();
        var targets = new List<TargetUpdate>();
        foreach (BoundUpdate update in updates.OrderBy(u => Array.IndexOf(TargetOrder, u.Target)))
        {
            try
            {
                targets.Add(LowerTarget(update, plan));
            }
            catch (RuleTooLargeException tooLarge) when (tooLarge.Target is null)
            {
                throw new RuleTooLargeException(tooLarge.Message) { Target = update.Target };
            }
        }

        return plan.Build(ruleName, className, source,
            parameters.Select(p => new ParameterSpec(p.Name, p.Index, p.Default)).ToEquatableArray(),
            targets.ToEquatableArray(), updates.Any(u => Binder.IsRecurrentTarget(u.Target)));
    }

    private static readonly string[] TargetOrder = { "dW", "dB", "dWh", "dWx", "dWo" };

    /// <summary>The matrix a target updates.</summary>
    private static Signal TargetMatrix(string target) => target switch
    {
        "dB" => Signal.Feedback,
        "dWh" => Signal.RecurrentWeights,
        "dWx" => Signal.InputWeights,
        "dWo" => Signal.ReadoutWeights,
        _ => Signal.Weights,
    };

    /// <summary>Whether a vector depends on the time step t of a recurrent rule.</summary>
    internal static bool Timed(VectorValue? v) => v switch
    {
        SignalVector s => Signals.IsTimeIndexed(s.Signal),
        MatrixTimesVector m => Timed(m.Operand),
        HadamardVector h => Timed(h.Left) || Timed(h.Right),
        MappedVector f => Timed(f.Operand),
        CombinedVector c => c.Terms.Any(t => Timed(t.Vector) || t.Factor.Factors.Any(Timed)),
        _ => false,
    };

    /// <summary>Whether a scalar depends on t; a sum over t does not.</summary>
    internal static bool Timed(ScalarValue s) => s switch
    {
        DotScalar d => Timed(d.Left) || Timed(d.Right),
        ReducedScalar r => Timed(r.Operand),
        MappedScalar m => m.Argument.Any(a => a.Factors.Any(Timed)),
        _ => false,
    };

    private static TargetUpdate LowerTarget(BoundUpdate update, PlanBuilder plan)
    {
        // Evaluate every term, merge like terms, and only then name what survives: a cancelled term leaves
        // neither a computation nor a coefficient behind.
        var merged = new List<EvaluatedTerm>();
        foreach (Term term in Expand(update.Value))
        {
            EvaluatedTerm evaluated = SumOverTime(term, EvaluateTerm(term));
            int like = merged.FindIndex(t => t.Key == evaluated.Key);
            if (like >= 0)
            {
                merged[like] = merged[like] with { Factor = merged[like].Factor with { Constant = merged[like].Factor.Constant + evaluated.Factor.Constant } };
            }
            else
            {
                merged.Add(evaluated);
            }
        }

        var scales = new List<ScaleTerm>();
        var rows = new List<RowGroup>();
        foreach (EvaluatedTerm term in merged.Where(t => t.Factor.Constant != 0))
        {
            ScalarFactor factor = plan.Factor(term.Factor);
            if (term.Matrix is { } matrix)
            {
                scales.Add(new ScaleTerm(factor, term.RowScale is null ? null : plan.Name(term.RowScale), PlanBuilder.MatrixName(matrix),
                    term.ColumnScale is null ? null : plan.Name(term.ColumnScale)));
                continue;
            }

            bool perTime = term.PerTime || term.Factor.Factors.Any(Timed);
            RowGroup? group = rows.Find(r => r.Row.Equals(term.Row) && r.PerTime == perTime);
            if (group is null)
            {
                group = new RowGroup(term.Row!, perTime, new List<(ScalarProduct, VectorValue)>(), new List<RowTerm>());
                rows.Add(group);
            }

            group.Coefficient.Add((term.Factor, term.Column!));
            group.Terms.Add(new RowTerm(factor, term.Column is OnesVector ? null : plan.Name(term.Column!)));
        }

        string target = PlanBuilder.MatrixName(TargetMatrix(update.Target));
        return new TargetUpdate(update.Target, target, scales.ToEquatableArray(),
            MergeProportionalRows(rows).Select(r => new RowUpdate(plan.Name(r.Row), r.Terms.ToEquatableArray(), r.PerTime)).ToEquatableArray());
    }

    /// <summary>
    /// The terms that add one vector to every row: row_i += (Σ_k Coefficient_k.Factor · Coefficient_k.Column[i]) · Row,
    /// the coefficient kept as values (to compare) and as named <see cref="Terms"/> (to emit).
    /// </summary>
    private sealed record RowGroup(VectorValue Row, bool PerTime, List<(ScalarProduct Factor, VectorValue Column)> Coefficient, List<RowTerm> Terms);

    /// <summary>
    /// Row groups whose coefficients are equal up to a factor, g_k(i) = ρ_k · g_1(i), add g_1(i) · (r_1 + Σ ρ_k r_k) to
    /// row i: the combination is one vector, computed once per call (n_(l-1) scratch and work), and every row then
    /// streams one vector instead of several — Oja's t2·y_l[i]·y_(l-1) − t2·y_l[i]·(Wᵀy_l) becomes
    /// t2·y_l[i]·(y_(l-1) − Wᵀy_l). ρ_k is a monomial: a power-of-two constant (so that the constants stay exact, in
    /// float as in double) times coefficients t_j and scalar steps. The algebra is exact; in float the sum is
    /// reassociated: the vectors are added once, rounded, then scaled per row, instead of each term scaled and added to
    /// the row. That differs by a few ulps of the terms, and is the more accurate form when they nearly cancel (Oja at
    /// convergence, where y_(l-1) ≈ Wᵀy_l). The first group of a merge is the reference; groups merge into it in order.
    /// </summary>
    private static List<RowGroup> MergeProportionalRows(List<RowGroup> rows)
    {
        var result = new List<RowGroup>();
        var absorbed = new HashSet<RowGroup>();
        foreach (RowGroup reference in rows.Where(r => !absorbed.Contains(r)))
        {
            var parts = new List<ScaledVector> { new(Product(1, Array.Empty<int>(), Array.Empty<ScalarValue>()), reference.Row) };
            foreach (RowGroup other in rows.Where(r => r != reference && !absorbed.Contains(r) && r.PerTime == reference.PerTime))
            {
                if (RatioOf(other.Coefficient, reference.Coefficient) is { } ratio)
                {
                    parts.Add(new ScaledVector(ratio, other.Row));
                    absorbed.Add(other);
                }
            }

            absorbed.Add(reference);
            result.Add(parts.Count == 1 ? reference : reference with { Row = new CombinedVector(parts.ToEquatableArray()) });
        }

        return result;
    }

    /// <summary>ρ with <paramref name="coefficient"/> = ρ · <paramref name="reference"/> term by term, where ρ is a
    /// power-of-two constant times coefficients and scalars; null when there is none.</summary>
    private static ScalarProduct? RatioOf(List<(ScalarProduct Factor, VectorValue Column)> coefficient, List<(ScalarProduct Factor, VectorValue Column)> reference)
    {
        if (coefficient.Count != reference.Count) return null;
        // ρ is the quotient of the reference's first term and its partner: try each term of the same column as the partner.
        (ScalarProduct first, VectorValue column) = reference[0];
        return coefficient.Where(c => c.Column.Equals(column)).Select(c => Quotient(c.Factor, first))
            .FirstOrDefault(ratio => ratio is not null
                && reference.All(r => coefficient.Any(c => c.Column.Equals(r.Column) && c.Factor == Times(ratio, r.Factor))));
    }

    /// <summary>a / b when b's coefficients and scalars are among a's and the constants differ by a power of two.</summary>
    private static ScalarProduct? Quotient(ScalarProduct a, ScalarProduct b)
    {
        double constant = a.Constant / b.Constant;
        List<int>? coefficients = Without(a.Coefficients, b.Coefficients);
        List<ScalarValue>? scalars = Without(a.Factors, b.Factors);
        return coefficients is null || scalars is null || !IsPowerOfTwo(constant) ? null : Product(constant, coefficients, scalars);
    }

    private static ScalarProduct Times(ScalarProduct a, ScalarProduct b) =>
        Product(a.Constant * b.Constant, a.Coefficients.Concat(b.Coefficients).OrderBy(k => k).ToList(), a.Factors.Concat(b.Factors));

    /// <summary>The multiset <paramref name="all"/> less <paramref name="removed"/>; null when it does not contain them.</summary>
    private static List<T>? Without<T>(IEnumerable<T> all, IEnumerable<T> removed)
    {
        var rest = all.ToList();
        foreach (T item in removed)
        {
            if (!rest.Remove(item)) return null;
        }

        return rest;
    }

    /// <summary>±2^k with a normal float exponent: multiplying by it is exact in float and double (short of overflow and
    /// subnormal results).</summary>
    private static bool IsPowerOfTwo(double value)
    {
        const long Mantissa = (1L << 52) - 1;
        const double SmallestNormalFloat = 1.1754943508222875E-38; // 2^-126
        double magnitude = Math.Abs(value);
        return magnitude >= SmallestNormalFloat && magnitude <= float.MaxValue && (BitConverter.DoubleToInt64Bits(magnitude) & Mantissa) == 0;
    }

    /// <summary>
    /// A term of <c>sum_t</c> whose vectors do not depend on t is Σ_t (its per-t scalars) times a time-independent
    /// term: the per-t scalar factors become one <see cref="TimeSummedScalar"/> (T−1 when there are none).
    /// </summary>
    private static EvaluatedTerm SumOverTime(Term term, EvaluatedTerm evaluated)
    {
        if (!term.PerTime || evaluated.PerTime) return evaluated;
        ScalarProduct factor = evaluated.Factor;
        ScalarValue[] timed = factor.Factors.Where(Timed).ToArray();
        var summed = new TimeSummedScalar(Product(1, Array.Empty<int>(), timed));
        return evaluated with { Factor = Product(factor.Constant, factor.Coefficients, factor.Factors.Where(f => !Timed(f)).Append(summed)) };
    }

    private static EvaluatedTerm EvaluateTerm(Term term)
    {
        var scalars = new List<ScalarValue>(term.Scalars);
        if (!term.Chain.Any(a => a is VectorAtom))
        {
            // diag(a)·M·diag(b): diagonals on either side of the one matrix multiply together.
            VectorValue? rowScale = null, columnScale = null;
            Signal? matrix = null;
            foreach (Atom atom in term.Chain)
            {
                switch (atom)
                {
                    case MatrixAtom m when matrix is null && !m.Transposed:
                        matrix = m.Matrix;
                        break;
                    case DiagonalAtom d when matrix is null:
                        rowScale = rowScale is null ? d.Value : Hadamard(rowScale, d.Value);
                        break;
                    case DiagonalAtom d:
                        columnScale = columnScale is null ? d.Value : Hadamard(columnScale, d.Value);
                        break;
                    default:
                        throw new InvalidOperationException("a term without a vector must be diag·W·diag or diag·B·diag");
                }
            }

            return new EvaluatedTerm(Product(term.Constant, term.Coefficients, scalars), null, null,
                matrix ?? throw new InvalidOperationException("a term without a matrix or vector"), rowScale, columnScale);
        }

        (VectorValue? column, VectorValue? row) = Evaluate(term.Chain, scalars);
        if (column is null || row is null) throw new InvalidOperationException("update term is not an outer product");
        return new EvaluatedTerm(Product(term.Constant, term.Coefficients, scalars), column, row, null, null, null);
    }

    private static ScalarProduct Product(double constant, IReadOnlyList<int> coefficients, IEnumerable<ScalarValue> scalars) =>
        new(constant, coefficients.ToEquatableArray(), scalars.OrderBy(s => s.ToString(), StringComparer.Ordinal).ToEquatableArray());

    /// <summary>Expands an expression into a sum of products (distributivity, transposes pushed onto atoms).</summary>
    /// <summary>Most terms an update may expand to: (a+b)*(c+d)*… doubles with every factor.</summary>
    public const int MaxTerms = 2_000;

    private static IReadOnlyList<Term> Expand(BoundExpression e)
    {
        IReadOnlyList<Term> terms = ExpandNode(e);
        if (terms.Count > MaxTerms) throw TooLarge();
        return terms;
    }

    private static RuleTooLargeException TooLarge() =>
        new($"this expression expands to more than {MaxTerms} terms (products of sums multiply out); factor it into fewer sums");

    private static IReadOnlyList<Term> ExpandNode(BoundExpression e)
    {
        switch (e)
        {
            case BoundNumber n:
                return new[] { Term.Scalar(n.Value) };
            case BoundCoefficient c:
                return new[] { new Term(1, new[] { c.Index }, Array.Empty<ScalarValue>(), Array.Empty<Atom>()) };
            case BoundSignal m when Signals.IsMatrix(m.Signal):
                return new[] { Term.Of(new MatrixAtom(m.Signal, false)) };
            case BoundSignal { Signal: Signal.ActivityNow }:
                // y_t = f(z_t): one value, so that y_t and f(z_t) are computed once.
                return new[] { Term.Of(new VectorAtom(new MappedVector(ElementFunction.Activation, new SignalVector(Signal.HiddenNow)), false)) };
            case BoundTimeSum ts:
                return Expand(ts.Operand).Select(t => t with { PerTime = true }).ToList();
            case BoundSignal s:
                return new[] { Term.Of(new VectorAtom(new SignalVector(s.Signal), false)) };
            case BoundNegate neg:
                return Expand(neg.Operand).Select(t => t with { Constant = -t.Constant }).ToList();
            case BoundTranspose tr:
                return Expand(tr.Operand).Select(t => t with { Chain = t.Chain.Reverse().Select(a => a.Transpose()).ToList() }).ToList();
            case BoundSum sum:
                return Expand(sum.Left).Concat(Expand(sum.Right).Select(t => sum.Subtract ? t with { Constant = -t.Constant } : t)).ToList();
            case BoundProduct p:
                IReadOnlyList<Term> left = Expand(p.Left), right = Expand(p.Right);
                if ((long)left.Count * right.Count > MaxTerms) throw TooLarge();
                return (from l in left
                        from r in right
                        let a = p.Left.Shape.IsScalar ? AsScalar(l) : l
                        let b = p.Right.Shape.IsScalar ? AsScalar(r) : r
                        select a.Times(b, a.Chain.Concat(b.Chain).ToList())).ToList();
            case BoundBroadcast b:
                return Expand(b.Operand).Select(t => Broadcast(b.Operand.Shape.IsScalar ? AsScalar(t) : t, b.Operand.Shape, b.Target)).ToList();
            case BoundElementwise el:
                return ExpandElementwise(el);
            case BoundCall { Shape.IsScalar: true } call:
                return new[] { Term.Of(new MappedScalar(call.Function, Expand(call.Argument).Select(AsScalarProduct).ToEquatableArray())) };
            case BoundCall call:
                bool row = call.Shape.Rows == Dimension.One;
                return new[] { Term.Of(new VectorAtom(new MappedVector(call.Function, Combine(Expand(call.Argument), row)), row)) };
            case BoundReduce reduce:
                return new[] { Term.Of(new ReducedScalar(reduce.Reduction, Combine(Expand(reduce.Argument), reduce.Argument.Shape.Rows == Dimension.One))) };
            default:
                throw new InvalidOperationException("unknown bound node " + e.GetType().Name);
        }
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

    private static IReadOnlyList<Term> ExpandElementwise(BoundElementwise e)
    {
        Shape shape = e.Shape;
        var result = new List<Term>();
        foreach (Term p in Expand(e.Left))
        {
            foreach (Term q in Expand(e.Right))
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
                    VectorValue a = Vector(p.Chain, row, scalars), b = Vector(q.Chain, row, scalars);
                    Term product = p.Times(q, new[] { new VectorAtom(Hadamard(a, b), row) });
                    result.Add(product with { Scalars = product.Scalars.Concat(scalars).ToList() });
                }
                else
                {
                    // (a bᵀ) ⊙ M = diag(a) · M · diag(b).
                    bool leftIsOuter = p.Chain.Any(x => x is VectorAtom);
                    (Term outer, Term other) = leftIsOuter ? (p, q) : (q, p);
                    var scalars = new List<ScalarValue>();
                    (VectorValue? a, VectorValue? b) = Evaluate(outer.Chain, scalars);
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
        Evaluate(t.Chain, scalars);
        return t with { Scalars = scalars, Chain = Array.Empty<Atom>() };
    }

    private static ScalarProduct AsScalarProduct(Term t)
    {
        Term scalar = AsScalar(t);
        return Product(scalar.Constant, scalar.Coefficients, scalar.Scalars);
    }

    /// <summary>The vector a column (or, <paramref name="row"/>, a row) chain evaluates to; its inner products go to <paramref name="scalars"/>.</summary>
    private static VectorValue Vector(IReadOnlyList<Atom> chain, bool row, List<ScalarValue> scalars)
    {
        (VectorValue? column, VectorValue? rowPart) = Evaluate(chain, scalars);
        return (row ? rowPart : column) ?? throw new InvalidOperationException("chain is not a vector");
    }

    /// <summary>A sum of vector terms as one value: the term itself when there is one with a unit factor.</summary>
    private static VectorValue Combine(IReadOnlyList<Term> terms, bool row)
    {
        var parts = new List<ScaledVector>();
        foreach (Term t in terms)
        {
            var scalars = new List<ScalarValue>(t.Scalars);
            VectorValue v = Vector(t.Chain, row, scalars);
            ScalarProduct factor = Product(t.Constant, t.Coefficients, scalars);
            int like = parts.FindIndex(p => p.Vector.Equals(v) && p.Factor with { Constant = 0 } == factor with { Constant = 0 });
            if (like >= 0) parts[like] = parts[like] with { Factor = parts[like].Factor with { Constant = parts[like].Factor.Constant + factor.Constant } };
            else parts.Add(new ScaledVector(factor, v));
        }

        parts.RemoveAll(p => p.Factor.Constant == 0);
        if (parts.Count == 0) return new CombinedVector(new[] { new ScaledVector(new ScalarProduct(0, EquatableArray<int>.Empty, EquatableArray<ScalarValue>.Empty), Vector(terms[0].Chain, row, new List<ScalarValue>())) }.ToEquatableArray());
        if (parts.Count == 1 && parts[0].Factor is { Constant: 1, Coefficients.Count: 0, Factors.Count: 0 }) return parts[0].Vector;
        return new CombinedVector(parts.ToEquatableArray());
    }

    /// <summary>
    /// Evaluates a chain as (column vector) · (row vector)ᵀ, appending its inner products to <paramref name="scalars"/>.
    /// The column part P·u is built right to left and the row part left to right, so every step is a
    /// matrix-vector or elementwise product: each matrix is read once, the least any association can do.
    /// </summary>
    private static (VectorValue? Column, VectorValue? Row) Evaluate(IReadOnlyList<Atom> chain, List<ScalarValue> scalars)
    {
        int firstColumn = -1;
        for (int i = 0; i < chain.Count; i++)
        {
            if (chain[i] is VectorAtom v)
            {
                if (!v.Transposed) firstColumn = i;
                break;
            }
        }

        VectorValue? column = null;
        int next = 0;
        if (firstColumn >= 0)
        {
            column = ((VectorAtom)chain[firstColumn]).Value;
            for (int i = firstColumn - 1; i >= 0; i--)
            {
                column = chain[i] switch
                {
                    MatrixAtom m => new MatrixTimesVector(m.Matrix, m.Transposed, column),
                    DiagonalAtom d => Hadamard(d.Value, column),
                    _ => throw new InvalidOperationException("vector before the first column vector"),
                };
            }

            next = firstColumn + 1;
        }

        VectorValue? row = null; // the row part rᵀ, held as the column vector r
        for (int i = next; i < chain.Count; i++)
        {
            row = chain[i] switch
            {
                // rᵀM = (Mᵀr)ᵀ and rᵀMᵀ = (M r)ᵀ.
                MatrixAtom m => new MatrixTimesVector(m.Matrix, !m.Transposed, row ?? throw new InvalidOperationException("matrix after a scalar")),
                DiagonalAtom d => Hadamard(row ?? throw new InvalidOperationException("diagonal after a scalar"), d.Value),
                VectorAtom { Transposed: true } v => row is null ? v.Value : throw new InvalidOperationException("row after row"),
                VectorAtom v => AddDot(scalars, row ?? throw new InvalidOperationException("column after column"), v.Value),
                _ => throw new InvalidOperationException("unknown atom"),
            };
        }

        return (column, row);
    }

    /// <summary>a ⊙ b, where a vector of ones is the identity.</summary>
    private static VectorValue Hadamard(VectorValue a, VectorValue b) => a is OnesVector ? b : b is OnesVector ? a : new HadamardVector(a, b);

    private static VectorValue? AddDot(List<ScalarValue> scalars, VectorValue left, VectorValue right)
    {
        scalars.Add(string.CompareOrdinal(left.ToString(), right.ToString()) <= 0 ? new DotScalar(left, right) : new DotScalar(right, left));
        return null;
    }

    /// <summary>Numbers vectors and scalars in order of first use, once each, dependencies first.</summary>
    private sealed class PlanBuilder
    {
        private readonly List<(object Value, Step Step)> _steps = new();
        private readonly HashSet<int> _coefficients = new();
        private int _vectors, _scalars;

        public static string MatrixName(Signal matrix) => LocalName(matrix);

        public ScalarFactor Factor(ScalarProduct product)
        {
            foreach (int k in product.Coefficients) _coefficients.Add(k);
            return new ScalarFactor(product.Constant, product.Coefficients,
                product.Factors.Select(Scalar).OrderBy(i => i).ToEquatableArray());
        }

        private int Scalar(ScalarValue value)
        {
            int existing = _steps.FindIndex(s => s.Value.Equals(value));
            if (existing >= 0) return _steps[existing].Step.Index;
            Step step = value switch
            {
                DotScalar d => NewScalar(StepKind.Dot, d.Left.Length, "", new[] { Name(d.Left), Name(d.Right) }, Array.Empty<ScalarFactor>(), d.ToString()),
                ReducedScalar r => NewScalar(StepKind.Reduce, r.Operand.Length, r.Reduction.ToString(), new[] { Name(r.Operand) }, Array.Empty<ScalarFactor>(), r.ToString()),
                MappedScalar m => NewScalar(StepKind.MapScalar, Dimension.One, m.Function.ToString(), Array.Empty<string>(), m.Argument.Select(Factor).ToArray(), m.ToString()),
                TimeSummedScalar t => NewScalar(StepKind.TimeSum, Dimension.One, "", Array.Empty<string>(), new[] { Factor(t.Summand) }, t.ToString()),
                _ => throw new InvalidOperationException("unknown scalar " + value),
            };
            if (Timed(value)) step = step with { PerTime = true };
            _steps.Add((value, step));
            return step.Index;
        }

        private Step NewScalar(StepKind kind, Dimension length, string operation, string[] operands, ScalarFactor[] factors, string description) =>
            new(kind, _scalars++, length, operation, false, operands.ToEquatableArray(), factors.ToEquatableArray(), description);

        public string Name(VectorValue value)
        {
            if (value is SignalVector s) return LocalName(s.Signal);
            int existing = _steps.FindIndex(x => x.Value.Equals(value));
            if (existing >= 0) return _steps[existing].Step.Name;
            Step step = value switch
            {
                OnesVector o => NewVector(StepKind.Ones, o.Length, "", false, Array.Empty<string>(), Array.Empty<ScalarFactor>(), o.ToString()),
                MatrixTimesVector m => NewVector(StepKind.MultiplyMatrix, m.Length, MatrixName(m.Matrix), m.Transposed, new[] { Name(m.Operand) }, Array.Empty<ScalarFactor>(), m.ToString()),
                HadamardVector h => NewVector(StepKind.Hadamard, h.Length, "", false, new[] { Name(h.Left), Name(h.Right) }, Array.Empty<ScalarFactor>(), h.ToString()),
                MappedVector f => NewVector(StepKind.Map, f.Length, f.Function.ToString(), false, new[] { Name(f.Operand) }, Array.Empty<ScalarFactor>(), f.ToString()),
                CombinedVector c => NewVector(StepKind.Combine, c.Length, "", false, c.Terms.Select(t => Name(t.Vector)).ToArray(), c.Terms.Select(t => Factor(t.Factor)).ToArray(), c.ToString()),
                _ => throw new InvalidOperationException("unknown vector " + value),
            };
            if (Timed(value)) step = step with { PerTime = true };
            _steps.Add((value, step));
            return step.Name;
        }

        private Step NewVector(StepKind kind, Dimension length, string operation, bool transposed, string[] operands, ScalarFactor[] factors, string description) =>
            new(kind, _vectors++, length, operation, transposed, operands.ToEquatableArray(), factors.ToEquatableArray(), description);

        public KernelModel Build(string ruleName, string className, string source, EquatableArray<ParameterSpec> parameters, EquatableArray<TargetUpdate> targets, bool recurrent)
        {
            if (recurrent)
            {
                return new KernelModel(ruleName, className, source, _coefficients.OrderBy(k => k).ToEquatableArray(), parameters,
                    false, false, false, _steps.Select(s => s.Step).ToEquatableArray(), targets, RecurrentCost(targets), Recurrent: true);
            }

            var operands = new HashSet<string>(
                _steps.SelectMany(s => s.Step.Operands)
                    .Concat(targets.SelectMany(t => t.Rows.SelectMany(r => r.Terms.Select(x => x.Column ?? "").Append(r.RowVector))))
                    .Concat(targets.SelectMany(t => t.Scales.SelectMany(s => new[] { s.RowScale ?? "", s.ColumnScale ?? "" }))),
                StringComparer.Ordinal);
            bool readsFeedback = _steps.Any(s => s.Step.Operation == "feedback")
                || targets.Any(t => t.Matrix == "feedback" || t.Scales.Any(s => s.Matrix == "feedback"));
            return new KernelModel(ruleName, className, source,
                _coefficients.OrderBy(k => k).ToEquatableArray(), parameters,
                operands.Contains(LocalName(Signal.PostError)), operands.Contains(LocalName(Signal.PreError)), readsFeedback,
                _steps.Select(s => s.Step).ToEquatableArray(), targets, CostFormula(targets));
        }

        /// <summary>
        /// Multiply-adds per update of a recurrent rule: (T−1)·(per-t matrix-vector products, vector work and rank-one
        /// updates), plus the time-independent work. Quadratic in the sizes per t: no product of two matrices.
        /// </summary>
        private string RecurrentCost(EquatableArray<TargetUpdate> targets)
        {
            var perTime = new Dictionary<string, int>(StringComparer.Ordinal);
            var once = new Dictionary<string, int>(StringComparer.Ordinal);
            void Add(bool timed, string term)
            {
                Dictionary<string, int> into = timed ? perTime : once;
                into[term] = into.TryGetValue(term, out int n) ? n + 1 : 1;
            }

            foreach (Step step in _steps.Select(s => s.Step))
            {
                if (step.Kind == StepKind.MultiplyMatrix)
                {
                    Shape shape = Signals.ShapeOf(MatrixOf(step.Operation));
                    Add(step.PerTime, Area(shape.Rows, shape.Columns));
                }
                else if (!step.IsScalar && step.Kind != StepKind.Ones || step.Kind is StepKind.Dot or StepKind.Reduce)
                {
                    Add(step.PerTime, Shape.Name(step.Length));
                }
            }

            foreach (TargetUpdate target in targets)
            {
                Shape shape = Signals.ShapeOf(MatrixOf(target.Matrix));
                string area = Area(shape.Rows, shape.Columns);
                foreach (RowUpdate row in target.Rows) Add(row.PerTime, area);
                if (target.Scales.Count > 0) Add(false, area);
            }

            static string Join(Dictionary<string, int> terms) => string.Join(" + ", terms.OrderBy(t => t.Key.Length == 3 ? 1 : 0).ThenBy(t => t.Key, StringComparer.Ordinal)
                .Select(t => (t.Value == 1 ? "" : t.Value.ToString(CultureInfo.InvariantCulture) + "·") + t.Key));
            var parts = new List<string>();
            if (perTime.Count > 0) parts.Add("(T−1)·(" + Join(perTime) + ")");
            if (once.Count > 0) parts.Add(Join(once));
            return parts.Count == 0 ? "0" : string.Join(" + ", parts);
        }

        private static string Area(Dimension rows, Dimension columns) =>
            rows == columns ? Shape.Name(rows) + "²" : Shape.Name(rows) + "·" + Shape.Name(columns);

        private static Signal MatrixOf(string name) => name switch
        {
            "recurrent" => Signal.RecurrentWeights,
            "input" => Signal.InputWeights,
            "readout" => Signal.ReadoutWeights,
            "feedback" => Signal.Feedback,
            _ => Signal.Weights,
        };

        /// <summary>Multiply-adds per update: n_l·n_(l-1) per pass over a matrix, plus the vector work.</summary>
        private string CostFormula(EquatableArray<TargetUpdate> targets)
        {
            int matrixPasses = _steps.Count(s => s.Step.Kind == StepKind.MultiplyMatrix)
                + targets.Sum(t => t.Rows.Count + t.Scales.Count(s => s.ColumnScale is not null || s.Matrix != t.Matrix) + (t.Scales.Any(s => s.ColumnScale is null && s.Matrix == t.Matrix) ? 1 : 0));
            int post = _steps.Count(s => s.Step.Kind != StepKind.MultiplyMatrix && s.Step.Length == Dimension.Post);
            int pre = _steps.Count(s => s.Step.Kind != StepKind.MultiplyMatrix && s.Step.Length == Dimension.Pre);
            var parts = new List<string>();
            if (matrixPasses > 0) parts.Add((matrixPasses == 1 ? "" : matrixPasses.ToString(CultureInfo.InvariantCulture) + "·") + "n_l·n_<l-1>");
            if (post > 0) parts.Add((post == 1 ? "" : post.ToString(CultureInfo.InvariantCulture) + "·") + "n_l");
            if (pre > 0) parts.Add((pre == 1 ? "" : pre.ToString(CultureInfo.InvariantCulture) + "·") + "n_<l-1>");
            return parts.Count == 0 ? "0" : string.Join(" + ", parts);
        }
    }

    /// <summary>The C# local that holds a signal in emitted kernels.</summary>
    public static string LocalName(Signal signal) => signal switch
    {
        Signal.PostActivity => "post",
        Signal.PreActivity => "pre",
        Signal.PostPotential => "potential",
        Signal.PostError => "postError",
        Signal.PreError => "preError",
        Signal.Feedback => "feedback",
        Signal.RecurrentWeights => "recurrent",
        Signal.InputWeights => "input",
        Signal.ReadoutWeights => "readout",
        Signal.HiddenNow => "zNow",
        Signal.HiddenNext => "zNext",
        Signal.ErrorNow => "eNow",
        Signal.ErrorNext => "eNext",
        Signal.InputNow => "xNow",
        Signal.InputNext => "xNext",
        Signal.HiddenLast => "zLast",
        Signal.ErrorLast => "eLast",
        Signal.Output => "output",
        Signal.OutputError => "outputError",
        _ => "weights",
    };
}

/// <summary>An update whose expansion exceeds <see cref="Lowerer.MaxTerms"/>; reported as PDSL0006.</summary>
public sealed class RuleTooLargeException(string message) : Exception(message)
{
    /// <summary>The update (dW, dB, …) being lowered when the limit was hit.</summary>
    public string? Target { get; init; }
}
