using PlasticityDsl.Language.Binding;

namespace PlasticityDsl.Language.Lowering;

/// <summary>
/// Bound tree → kernel plan. Every update is expanded by distributivity into a sum of products
/// c · Π t_k · (chain of W, Wᵀ, vectors); each chain with a vector is evaluated as an outer product of two
/// vectors (matrix-vector products only, O(n·m)), never as an n×n matrix: (y yᵀ)W becomes y (Wᵀy)ᵀ.
/// Equal vectors and inner products are computed once; like terms are merged; terms are grouped by the
/// vector they add to each row, so the emitted kernel makes one pass over W.
/// </summary>
public static class Lowerer
{
    /// <summary>A factor of a product chain: W, Wᵀ, a column vector, or a row vector (transposed).</summary>
    private sealed record Atom(Signal Signal, bool Transposed)
    {
        public Atom Transpose() => this with { Transposed = !Transposed };

        public bool IsWeights => Signal == Signal.Weights;
    }

    private sealed record Term(double Constant, IReadOnlyList<int> Coefficients, IReadOnlyList<IReadOnlyList<Atom>> ScalarChains, IReadOnlyList<Atom> Chain);

    /// <summary>A term after evaluation: constant · Π t_k · Π dots · Column·Rowᵀ (both null: the term c·W).</summary>
    private sealed record OuterTerm(double Constant, IReadOnlyList<int> Coefficients, IReadOnlyList<DotProduct> Dots, VectorValue? Column, VectorValue? Row)
    {
        public string Key => string.Join(",", Coefficients) + "|" + string.Join(",", Dots) + "|" + Column + "|" + Row;
    }

    public static KernelModel Lower(string ruleName, string className, string source, BoundUpdate update)
    {
        // Evaluate every term, then merge like terms, and only then name what survives: a cancelled term
        // leaves neither a computation nor a coefficient behind.
        var merged = new List<OuterTerm>();
        foreach (Term term in Expand(update.Value))
        {
            var dots = new List<DotProduct>();
            foreach (IReadOnlyList<Atom> scalarChain in term.ScalarChains)
            {
                (VectorValue? col, VectorValue? row) = Evaluate(scalarChain, dots);
                if (col is not null || row is not null) throw new InvalidOperationException("scalar chain left a vector");
            }

            bool decay = term.Chain.Count == 1 && term.Chain[0].IsWeights && !term.Chain[0].Transposed;
            (VectorValue? column, VectorValue? rowVector) = decay ? (null, null) : Evaluate(term.Chain, dots);
            if (!decay && (column is null || rowVector is null)) throw new InvalidOperationException("update term is not an outer product");
            var evaluated = new OuterTerm(term.Constant, term.Coefficients, dots.OrderBy(d => d.ToString(), StringComparer.Ordinal).ToList(), column, rowVector);
            int like = merged.FindIndex(t => t.Key == evaluated.Key);
            if (like >= 0) merged[like] = merged[like] with { Constant = merged[like].Constant + evaluated.Constant };
            else merged.Add(evaluated);
        }

        var plan = new PlanBuilder();
        var decayFactors = new List<ScalarFactor>();
        var rows = new List<(VectorValue Row, List<RowTerm> Terms)>();
        foreach (OuterTerm term in merged.Where(t => t.Constant != 0))
        {
            ScalarFactor factor = plan.Factor(term.Constant, term.Coefficients, term.Dots);
            if (term.Row is null)
            {
                decayFactors.Add(factor);
                continue;
            }

            int group = rows.FindIndex(r => r.Row.Equals(term.Row));
            if (group < 0)
            {
                rows.Add((term.Row, new List<RowTerm>()));
                group = rows.Count - 1;
            }

            rows[group].Terms.Add(new RowTerm(factor, plan.Name(term.Column!)));
        }

        return plan.Build(ruleName, className, source, decayFactors.ToEquatableArray(),
            rows.Select(r => new RowUpdate(plan.Name(r.Row), r.Terms.ToEquatableArray())).ToEquatableArray());
    }

    /// <summary>Expands an expression into a sum of products (distributivity, transpose pushed to atoms).</summary>
    private static IReadOnlyList<Term> Expand(BoundExpression e)
    {
        switch (e)
        {
            case BoundNumber n:
                return new[] { new Term(n.Value, Array.Empty<int>(), Array.Empty<IReadOnlyList<Atom>>(), Array.Empty<Atom>()) };
            case BoundCoefficient c:
                return new[] { new Term(1, new[] { c.Index }, Array.Empty<IReadOnlyList<Atom>>(), Array.Empty<Atom>()) };
            case BoundSignal s:
                return new[] { new Term(1, Array.Empty<int>(), Array.Empty<IReadOnlyList<Atom>>(), new[] { new Atom(s.Signal, false) }) };
            case BoundNegate neg:
                return Expand(neg.Operand).Select(t => t with { Constant = -t.Constant }).ToList();
            case BoundTranspose tr:
                return Expand(tr.Operand).Select(t => t with { Chain = t.Chain.Reverse().Select(a => a.Transpose()).ToList() }).ToList();
            case BoundSum sum:
                return Expand(sum.Left).Concat(Expand(sum.Right).Select(t => sum.Subtract ? t with { Constant = -t.Constant } : t)).ToList();
            case BoundProduct p:
                var result = new List<Term>();
                IReadOnlyList<Term> left = Expand(p.Left), right = Expand(p.Right);
                foreach (Term l in left)
                {
                    foreach (Term r in right)
                    {
                        // A 1×1 operand scales: its chain (an inner product) becomes a scalar factor.
                        Term a = p.Left.Shape.IsScalar ? AsScalar(l) : l;
                        Term b = p.Right.Shape.IsScalar ? AsScalar(r) : r;
                        result.Add(new Term(
                            a.Constant * b.Constant,
                            a.Coefficients.Concat(b.Coefficients).OrderBy(k => k).ToList(),
                            a.ScalarChains.Concat(b.ScalarChains).ToList(),
                            a.Chain.Concat(b.Chain).ToList()));
                    }
                }

                return result;
            default:
                throw new InvalidOperationException("unknown bound node " + e.GetType().Name);
        }
    }

    private static Term AsScalar(Term t) =>
        t.Chain.Count == 0 ? t : t with { ScalarChains = t.ScalarChains.Append(t.Chain).ToList(), Chain = Array.Empty<Atom>() };

    /// <summary>
    /// Evaluates a chain as (column vector) · (row vector)ᵀ times inner products appended to <paramref name="dots"/>.
    /// The column part P·u is built right to left, the row part left to right, so every step is a
    /// matrix-vector product: the cheapest association for a chain that contains a vector.
    /// </summary>
    private static (VectorValue? Column, VectorValue? Row) Evaluate(IReadOnlyList<Atom> chain, List<DotProduct> dots)
    {
        int firstColumn = -1;
        for (int i = 0; i < chain.Count; i++)
        {
            if (!chain[i].IsWeights)
            {
                if (!chain[i].Transposed) firstColumn = i;
                break;
            }
        }

        VectorValue? column = null;
        int next = 0;
        if (firstColumn >= 0)
        {
            column = new SignalVector(chain[firstColumn].Signal);
            for (int i = firstColumn - 1; i >= 0; i--) column = new WeightTimesVector(chain[i].Transposed, column);
            next = firstColumn + 1;
        }

        VectorValue? row = null; // the row part rᵀ, held as the column vector r
        for (int i = next; i < chain.Count; i++)
        {
            Atom atom = chain[i];
            if (atom.IsWeights)
            {
                // rᵀW = (Wᵀr)ᵀ and rᵀWᵀ = (W r)ᵀ.
                row = new WeightTimesVector(!atom.Transposed, row ?? throw new InvalidOperationException("matrix after a scalar"));
            }
            else if (atom.Transposed)
            {
                row = new SignalVector(atom.Signal);
            }
            else
            {
                dots.Add(Canonical(new DotProduct(row ?? throw new InvalidOperationException("column after column"), new SignalVector(atom.Signal))));
                row = null;
            }
        }

        return (column, row);
    }

    private static DotProduct Canonical(DotProduct d) =>
        string.CompareOrdinal(d.Left.ToString(), d.Right.ToString()) <= 0 ? d : new DotProduct(d.Right, d.Left);

    /// <summary>Numbers the vectors and inner products in order of first use, once each.</summary>
    private sealed class PlanBuilder
    {
        private readonly List<(VectorValue Value, VectorStep Step)> _vectors = new();
        private readonly List<(DotProduct Value, DotStep Step)> _dots = new();
        private readonly HashSet<int> _coefficients = new();

        public ScalarFactor Factor(double constant, IReadOnlyList<int> coefficients, IReadOnlyList<DotProduct> dots)
        {
            foreach (int k in coefficients) _coefficients.Add(k);
            return new ScalarFactor(constant, coefficients.ToEquatableArray(), dots.Select(Dot).OrderBy(i => i).ToEquatableArray());
        }

        private int Dot(DotProduct d)
        {
            int index = _dots.FindIndex(x => x.Value.Equals(d));
            if (index >= 0) return _dots[index].Step.Index;
            string left = Name(d.Left), right = Name(d.Right);
            _dots.Add((d, new DotStep(_dots.Count, left, right, d.Left.Length, d.ToString())));
            return _dots.Count - 1;
        }

        public string Name(VectorValue v)
        {
            switch (v)
            {
                case SignalVector s:
                    return LocalName(s.Signal);
                case WeightTimesVector w:
                    int index = _vectors.FindIndex(x => x.Value.Equals(w));
                    if (index >= 0) return "v" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    string operand = Name(w.Operand);
                    int id = _vectors.Count;
                    _vectors.Add((w, new VectorStep(id, w.Transposed, operand, w.ToString())));
                    return "v" + id.ToString(System.Globalization.CultureInfo.InvariantCulture);
                default:
                    throw new InvalidOperationException("unknown vector " + v);
            }
        }

        public KernelModel Build(string ruleName, string className, string source, EquatableArray<ScalarFactor> decay, EquatableArray<RowUpdate> rows)
        {
            bool reads(Signal s) => _vectors.Any(v => Uses(v.Value, s)) || _dots.Any(d => Uses(d.Value.Left, s) || Uses(d.Value.Right, s))
                || rows.Any(r => r.RowVector == LocalName(s) || r.Terms.Any(t => t.Column == LocalName(s)));
            int matrixPasses = _vectors.Count + rows.Count + (decay.Count > 0 ? 1 : 0);
            int postLength = _dots.Count(d => d.Step.Length == Dimension.Post);
            int preLength = _dots.Count(d => d.Step.Length == Dimension.Pre);
            return new KernelModel(ruleName, className, source,
                _coefficients.OrderBy(k => k).ToEquatableArray(),
                reads(Signal.PostError), reads(Signal.PreError),
                _vectors.Select(v => v.Step).ToEquatableArray(),
                _dots.Select(d => d.Step).ToEquatableArray(),
                decay, rows, CostFormula(matrixPasses, postLength, preLength));
        }

        private static bool Uses(VectorValue v, Signal s) => v switch
        {
            SignalVector sv => sv.Signal == s,
            WeightTimesVector w => Uses(w.Operand, s),
            _ => false,
        };

        private static string CostFormula(int matrixPasses, int post, int pre)
        {
            var parts = new List<string>();
            if (matrixPasses > 0) parts.Add((matrixPasses == 1 ? "" : matrixPasses + "·") + "n_l·n_<l-1>");
            if (post > 0) parts.Add((post == 1 ? "" : post + "·") + "n_l");
            if (pre > 0) parts.Add((pre == 1 ? "" : pre + "·") + "n_<l-1>");
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
        _ => "weights",
    };
}
