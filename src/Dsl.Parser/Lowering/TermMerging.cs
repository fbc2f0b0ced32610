namespace PlasticityDsl.Language.Lowering;

/// <summary>
/// The terms that add one vector to every row: row_i += (Σ_k Coefficient_k.Factor · Coefficient_k.Column[i]) · Row,
/// the coefficient kept as values (to compare) and as referenced <see cref="Terms"/> (for the plan).
/// </summary>
internal sealed record RowGroup(VectorValue Row, bool PerTime, List<(ScalarProduct Factor, VectorValue Column)> Coefficient, List<RowTerm> Terms);

/// <summary>Merging: like terms add up (cancelled ones drop out), and row groups with proportional coefficients
/// add one combination of their vectors.</summary>
internal static class TermMerging
{
    /// <summary>Adds the constants of terms that differ only in them, in order of first appearance, and drops the
    /// terms that cancel: a cancelled term leaves neither a computation nor a coefficient behind.</summary>
    public static List<EvaluatedTerm> MergeLikeTerms(IEnumerable<EvaluatedTerm> terms)
    {
        var merged = new List<EvaluatedTerm>();
        foreach (EvaluatedTerm term in terms)
        {
            int like = merged.FindIndex(t => WithoutConstant(t) == WithoutConstant(term));
            if (like >= 0)
            {
                merged[like] = merged[like] with { Factor = merged[like].Factor with { Constant = merged[like].Factor.Constant + term.Factor.Constant } };
            }
            else
            {
                merged.Add(term);
            }
        }

        return merged.Where(t => t.Factor.Constant != 0).ToList();
    }

    private static EvaluatedTerm WithoutConstant(EvaluatedTerm term) => term with { Factor = term.Factor with { Constant = 0 } };

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
    public static List<RowGroup> MergeProportionalRows(List<RowGroup> rows)
    {
        var result = new List<RowGroup>();
        var absorbed = new HashSet<RowGroup>();
        foreach (RowGroup reference in rows.Where(r => !absorbed.Contains(r)))
        {
            var parts = new List<ScaledVector> { new(Chains.Product(1, Array.Empty<CoefficientRef>(), Array.Empty<ScalarValue>()), reference.Row) };
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
        List<CoefficientRef>? coefficients = Without(a.Coefficients, b.Coefficients);
        List<ScalarValue>? scalars = Without(a.Factors, b.Factors);
        return coefficients is null || scalars is null || !IsPowerOfTwo(constant) ? null : Chains.Product(constant, coefficients, scalars);
    }

    private static ScalarProduct Times(ScalarProduct a, ScalarProduct b) =>
        Chains.Product(a.Constant * b.Constant, a.Coefficients.Concat(b.Coefficients).OrderBy(k => k.Index).ToList(), a.Factors.Concat(b.Factors));

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
}
