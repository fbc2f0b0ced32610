namespace PlasticityDsl.Language.Lowering;

/// <summary>A term after evaluation: the factor, and Column·Rowᵀ, or diag(RowScale)·Matrix·diag(ColumnScale).</summary>
/// <remarks>With <paramref name="Triangular"/>, the term is tril(Column·Rowᵀ)·Matrix: row i gets Column[i] times the running
/// sum Σ_(k ≤ i) Row[k]·Matrix[k,:].
/// With <paramref name="Elementwise"/> (not empty), it is diag(RowScale)·(⊙ Elementwise)·diag(ColumnScale).</remarks>
internal sealed record EvaluatedTerm(ScalarProduct Factor, VectorValue? Column, VectorValue? Row, SignalRef? Matrix, VectorValue? RowScale, VectorValue? ColumnScale, bool Triangular = false,
    EquatableArray<MatrixFactor> Elementwise = default)
{
    /// <summary>The term is applied for every t (its vectors depend on t).</summary>
    public bool PerTime => TimeDependence.Timed(Column) || TimeDependence.Timed(Row) || TimeDependence.Timed(RowScale) || TimeDependence.Timed(ColumnScale);
}

/// <summary>
/// Evaluates product chains through vectors: a chain with a vector is an outer product of two vectors built by
/// matrix-vector products only (O(n·m)), never an n×n matrix: (y yᵀ)W becomes y (Wᵀy)ᵀ. A chain without one is
/// c·diag(a)·M·diag(b).
/// </summary>
internal static class Chains
{
    public static EvaluatedTerm EvaluateTerm(Term term)
    {
        EvaluatedTerm evaluated = Evaluate(term);
        return term.PerTime ? SumOverTime(evaluated) : evaluated;
    }

    private static EvaluatedTerm Evaluate(Term term)
    {
        var scalars = new List<ScalarValue>(term.Scalars);
        if (term.Chain is [TrilAtom tril, MatrixAtom { Transposed: false } read])
        {
            return new EvaluatedTerm(Product(term.Constant, term.Coefficients, scalars), tril.Column, tril.Row, read.Matrix, null, null, Triangular: true);
        }

        if (!term.Chain.Any(a => a is VectorAtom))
        {
            // diag(a)·M·diag(b): diagonals on either side of the one matrix multiply together.
            VectorValue? rowScale = null, columnScale = null;
            SignalRef? matrix = null;
            ElementwiseAtom? elementwise = null;
            foreach (Atom atom in term.Chain)
            {
                switch (atom)
                {
                    case MatrixAtom m when matrix is null && elementwise is null && !m.Transposed:
                        matrix = m.Matrix;
                        break;
                    case ElementwiseAtom ew when matrix is null && elementwise is null && ew is { Valid: true, Transposed: false }:
                        elementwise = ew;
                        break;
                    case DiagonalAtom d when matrix is null && elementwise is null:
                        rowScale = rowScale is null ? d.Value : Hadamard(rowScale, d.Value);
                        break;
                    case DiagonalAtom d:
                        columnScale = columnScale is null ? d.Value : Hadamard(columnScale, d.Value);
                        break;
                    default:
                        throw new InvalidOperationException("a term without a vector must be diag·W·diag or diag·B·diag");
                }
            }

            if (elementwise is not null)
            {
                return new EvaluatedTerm(Product(term.Constant, term.Coefficients, scalars), null, null, null, rowScale, columnScale, Elementwise: elementwise.Factors);
            }

            return new EvaluatedTerm(Product(term.Constant, term.Coefficients, scalars), null, null,
                matrix ?? throw new InvalidOperationException("a term without a matrix or vector"), rowScale, columnScale);
        }

        (VectorValue? column, VectorValue? row) = Evaluate(term.Chain, scalars);
        if (column is null || row is null) throw new InvalidOperationException("update term is not an outer product");
        return new EvaluatedTerm(Product(term.Constant, term.Coefficients, scalars), column, row, null, null, null);
    }

    /// <summary>
    /// A term of <c>sum_t</c> whose vectors do not depend on t is Σ_t (its per-t scalars) times a time-independent
    /// term: the per-t scalar factors become one <see cref="TimeSummedScalar"/> (T−1 when there are none).
    /// </summary>
    private static EvaluatedTerm SumOverTime(EvaluatedTerm evaluated)
    {
        if (evaluated.PerTime) return evaluated;
        ScalarProduct factor = evaluated.Factor;
        ScalarValue[] timed = factor.Factors.Where(TimeDependence.Timed).ToArray();
        var summed = new TimeSummedScalar(Product(1, Array.Empty<CoefficientRef>(), timed));
        return evaluated with { Factor = Product(factor.Constant, factor.Coefficients, factor.Factors.Where(f => !TimeDependence.Timed(f)).Append(summed)) };
    }

    /// <summary>constant · Π coefficients · Π scalars, the scalars in a canonical order so that equal products compare equal.</summary>
    public static ScalarProduct Product(double constant, IReadOnlyList<CoefficientRef> coefficients, IEnumerable<ScalarValue> scalars) =>
        new(constant, coefficients.ToEquatableArray(), scalars.OrderBy(s => s.ToString(), StringComparer.Ordinal).ToEquatableArray());

    /// <summary>The vector a column (or, <paramref name="row"/>, a row) chain evaluates to; its inner products go to <paramref name="scalars"/>.</summary>
    public static VectorValue Vector(IReadOnlyList<Atom> chain, bool row, List<ScalarValue> scalars)
    {
        (VectorValue? column, VectorValue? rowPart) = Evaluate(chain, scalars);
        return (row ? rowPart : column) ?? throw new InvalidOperationException("chain is not a vector");
    }

    /// <summary>A sum of vector terms as one value: the term itself when there is one with a unit factor.</summary>
    public static VectorValue Combine(IReadOnlyList<Term> terms, bool row)
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
        if (parts.Count == 0) return new CombinedVector(new[] { new ScaledVector(new ScalarProduct(0, EquatableArray<CoefficientRef>.Empty, EquatableArray<ScalarValue>.Empty), Vector(terms[0].Chain, row, new List<ScalarValue>())) }.ToEquatableArray());
        if (parts.Count == 1 && parts[0].Factor is { Constant: 1, Coefficients.Count: 0, Factors.Count: 0 }) return parts[0].Vector;
        return new CombinedVector(parts.ToEquatableArray());
    }

    /// <summary>
    /// Evaluates a chain as (column vector) · (row vector)ᵀ, appending its inner products to <paramref name="scalars"/>.
    /// The column part P·u is built right to left and the row part left to right, so every step is a
    /// matrix-vector or elementwise product: each matrix is read once, the least any association can do.
    /// </summary>
    public static (VectorValue? Column, VectorValue? Row) Evaluate(IReadOnlyList<Atom> chain, List<ScalarValue> scalars)
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
                    ElementwiseAtom { Valid: true } e => new ElementwiseTimesVector(e.Factors, e.Transposed, column),
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
                ElementwiseAtom { Valid: true } e => new ElementwiseTimesVector(e.Factors, !e.Transposed, row ?? throw new InvalidOperationException("matrix after a scalar")),
                DiagonalAtom d => Hadamard(row ?? throw new InvalidOperationException("diagonal after a scalar"), d.Value),
                VectorAtom { Transposed: true } v => row is null ? v.Value : throw new InvalidOperationException("row after row"),
                VectorAtom v => AddDot(scalars, row ?? throw new InvalidOperationException("column after column"), v.Value),
                _ => throw new InvalidOperationException("unknown atom"),
            };
        }

        return (column, row);
    }

    /// <summary>a ⊙ b, where a vector of ones is the identity.</summary>
    public static VectorValue Hadamard(VectorValue a, VectorValue b) => a is OnesVector ? b : b is OnesVector ? a : new HadamardVector(a, b);

    private static VectorValue? AddDot(List<ScalarValue> scalars, VectorValue left, VectorValue right)
    {
        scalars.Add(string.CompareOrdinal(left.ToString(), right.ToString()) <= 0 ? new DotScalar(left, right) : new DotScalar(right, left));
        return null;
    }
}
