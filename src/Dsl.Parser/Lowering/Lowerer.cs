using PlasticityDsl.Language.Binding;

namespace PlasticityDsl.Language.Lowering;

/// <summary>
/// Bound tree → kernel plan, algebra only. Every update is expanded by distributivity into a sum of products
/// (<see cref="Expansion"/>); each product is evaluated through vectors, never as an n×n matrix (<see cref="Chains"/>);
/// like terms are merged and cancelled ones dropped, and terms are grouped by the vector they add to each row, groups
/// with proportional coefficients adding one combination of their vectors (<see cref="TermMerging"/>); equal vectors
/// and scalars are computed once, across terms and across targets (<see cref="CommonSubexpressions"/>).
/// </summary>
internal static class Lowerer
{
    /// <summary>Lowers the updates of a rule that bound without errors; false, with a located diagnostic, when an
    /// update expands to more terms than a kernel may have. With <paramref name="tangent"/>, the updates are the
    /// tangents of a rule's (<see cref="Differentiation.Differentiator"/>) and their targets Ẇ and Ḃ.</summary>
    /// <remarks>The updates of <paramref name="states"/> are computed with the other steps, before the passes, and
    /// applied after them.</remarks>
    public static bool TryLower(IReadOnlyList<BoundUpdate> updates, out KernelPlan? plan, out RuleDiagnostic? diagnostic, bool tangent = false,
        IReadOnlyList<BoundStateUpdate>? states = null)
    {
        var values = new CommonSubexpressions();
        var targets = new List<TargetUpdate>();
        foreach (BoundUpdate update in updates.OrderBy(u => Array.IndexOf(TargetOrder, u.Target)))
        {
            if (Diagnose(update, out IReadOnlyList<Term>? terms) is { } problem)
            {
                plan = null;
                diagnostic = problem;
                return false;
            }

            targets.Add(LowerTarget(update.Target, new SignalRef(Binder.TargetMatrix(update.Target), tangent), terms!, values));
        }

        var stateUpdates = new List<StateUpdate>();
        foreach (BoundStateUpdate update in states ?? Array.Empty<BoundStateUpdate>())
        {
            if (Expansion.Expand(update.Value) is not { } terms)
            {
                plan = null;
                diagnostic = new RuleDiagnostic(DiagnosticCode.RuleTooLarge, update.Span,
                    $"this expression expands to more than {Expansion.MaxTerms} terms (products of sums multiply out); factor it into fewer sums");
                return false;
            }

            var state = new StateRef(update.State.Index, update.State.Name, update.State.Shape.Rows);
            stateUpdates.Add(update.State.Shape.IsScalar
                ? new StateUpdate(state, update.State.Initial, null, terms.Select(t => values.Factor(Expansion.AsScalarProduct(t))).ToEquatableArray())
                : new StateUpdate(state, update.State.Initial, values.Reference(Chains.Combine(terms, row: false)), EquatableArray<ScalarFactor>.Empty));
        }

        plan = new KernelPlan(values.Coefficients.ToEquatableArray(), values.Steps.ToEquatableArray(), targets.ToEquatableArray(),
            updates.Any(u => Binder.IsRecurrentTarget(u.Target)), stateUpdates.ToEquatableArray());
        diagnostic = null;
        return true;
    }

    /// <summary>
    /// Lowers a rule's adjoint (<see cref="Differentiation.AdjointDifferentiator"/>): W̄ and B̄ as targets updated in place
    /// from the cotangent Ū their buffers hold (the adjoint buffer is the target and the cotangent alike, so a term that
    /// reads Ū reads the row before the pass changes it, as an update reads W), the vector adjoints and θ̄ as
    /// <see cref="AdjointOutput"/>s computed before the passes. False, with the reason, when a term has no form the kernels
    /// compute (an elementwise or tril term the lowering cannot place) or the terms are too many.
    /// </summary>
    public static bool TryLowerAdjoint(Differentiation.RuleAdjoint adjoint, out KernelPlan? plan, out string? reason)
    {
        plan = null;
        var values = new CommonSubexpressions();
        var expanded = new List<(Differentiation.SignalAdjoint? Signal, int Coefficient, IReadOnlyList<Term> Terms)>();
        foreach (var (signal, coefficient, value) in adjoint.Signals.Select(a => ((Differentiation.SignalAdjoint?)a, -1, a.Value))
            .Concat(adjoint.Coefficients.Select(a => ((Differentiation.SignalAdjoint?)null, a.Index, a.Value))))
        {
            if (Expansion.Expand(value) is not { } terms)
            {
                reason = $"its adjoint expands to more than {Expansion.MaxTerms} terms";
                return false;
            }

            // W̄ and B̄ are targets, with a target's forms; a vector adjoint or θ̄ reads weights elementwise only through
            // products with vectors, (⊙ F)·x.
            bool unsupported = signal is not null && Signals.IsMatrix(signal.Signal)
                ? terms.Any(t => Expansion.UnsupportedElementwise(t) is not null || Expansion.UnsupportedTriangle(t, Signals.ShapeOf(signal.Signal)) is not null)
                : terms.Any(t => t.Chain.Any(a => a is TrilAtom || a is ElementwiseAtom { Valid: false }));
            if (unsupported)
            {
                reason = "its adjoint has a term that reads the weights elementwise or under tril in a form the kernels do not compute";
                return false;
            }

            expanded.Add((signal, coefficient, terms));
        }

        var targets = new List<TargetUpdate>();
        var outputs = new List<AdjointOutput>();
        foreach (var (signal, coefficient, terms) in expanded)
        {
            if (signal is null)
            {
                outputs.Add(new AdjointOutput(null, null, coefficient, terms.Select(t => values.Factor(Expansion.AsScalarProduct(t))).ToEquatableArray()));
            }
            else if (Signals.IsMatrix(signal.Signal))
            {
                string target = signal.Signal == Signal.Weights ? "dW" : "dB";
                targets.Add(LowerTarget(target, new SignalRef(signal.Signal, Adjoint: true), terms, values));
            }
            else
            {
                outputs.Add(new AdjointOutput(new SignalRef(signal.Signal, Adjoint: true), values.Reference(Chains.Combine(terms, row: false)), -1, EquatableArray<ScalarFactor>.Empty));
            }
        }

        plan = new KernelPlan(values.Coefficients.ToEquatableArray(), values.Steps.ToEquatableArray(), targets.ToEquatableArray(), Recurrent: false,
            Outputs: outputs.ToEquatableArray());
        reason = null;
        return true;
    }

    /// <summary>The lowering's diagnostic of every update that has one, in order: what <see cref="TryLower"/> would stop
    /// at, for each update, so that a file's independent errors are all reported (also beside the binder's).</summary>
    public static IReadOnlyList<RuleDiagnostic> Check(IReadOnlyList<BoundUpdate> updates) =>
        updates.Select(u => Diagnose(u, out _)).OfType<RuleDiagnostic>().ToList();

    private static RuleDiagnostic? Diagnose(BoundUpdate update, out IReadOnlyList<Term>? terms)
    {
        terms = Expansion.Expand(update.Value);
        if (terms is null)
        {
            return new RuleDiagnostic(DiagnosticCode.RuleTooLarge, update.Span,
                $"this expression expands to more than {Expansion.MaxTerms} terms (products of sums multiply out); factor it into fewer sums");
        }

        Shape shape = Signals.ShapeOf(Binder.TargetMatrix(update.Target));
        if (terms.Select(t => Expansion.UnsupportedTriangle(t, shape)).FirstOrDefault(t => t is not null) is { } tril)
        {
            return new RuleDiagnostic(DiagnosticCode.UnsupportedTriangular, tril.Span,
                "the compiler lowers `tril` only in terms of the form `c*tril(a*b')*W` (or `*B`), where row i needs the running sum " +
                "of b[k]·W[k,:] over k ≤ i; this term would put `tril` elsewhere (transposed, after a matrix, or before a vector)");
        }

        if (terms.Select(Expansion.UnsupportedElementwise).FirstOrDefault(t => t is not null) is { } elementwise)
        {
            return new RuleDiagnostic(DiagnosticCode.UnsupportedElementwise, elementwise.Span,
                "the compiler applies an elementwise function or product of weight matrices one element at a time, as a term " +
                "c*diag(a)*(F .* G)*diag(b) of W's shape; this term transposes the weights or multiplies them by a matrix or vector");
        }

        return null;
    }

    private static readonly string[] TargetOrder = { "dW", "dB", "dWh", "dWx", "dWo" };

    /// <summary>Evaluates and merges the terms of one update, then refers to what survives in the order it is first
    /// used: each term's factor and vectors, then the vector each row group adds.</summary>
    private static TargetUpdate LowerTarget(string target, SignalRef matrix, IReadOnlyList<Term> terms, CommonSubexpressions values)
    {
        var scales = new List<ScaleTerm>();
        var rows = new List<RowGroup>();
        var triangles = new List<(VectorValue Weights, SignalRef Matrix, List<RowTerm> Terms)>();
        var elementwise = new List<(EquatableArray<MatrixFactor> Factors, VectorRef? ColumnScale, List<RowTerm> Terms)>();
        foreach (EvaluatedTerm term in TermMerging.MergeLikeTerms(terms.Select(Chains.EvaluateTerm)))
        {
            ScalarFactor factor = values.Factor(term.Factor);
            if (term.Elementwise.Count > 0)
            {
                // Terms with one product of factors and one column scale share one elementwise loop per row.
                VectorRef? columnScale = term.ColumnScale is null ? null : values.Reference(term.ColumnScale);
                var rowTerm = new RowTerm(factor, term.RowScale is null ? null : values.Reference(term.RowScale));
                int shared = elementwise.FindIndex(x => x.Factors == term.Elementwise && Equals(x.ColumnScale, columnScale));
                if (shared >= 0) elementwise[shared].Terms.Add(rowTerm);
                else elementwise.Add((term.Elementwise, columnScale, new List<RowTerm> { rowTerm }));
                continue;
            }

            if (term.Triangular)
            {
                // c · a[i] · Σ_(k ≤ i) b[k]·M[k,:]: terms with one running sum (b, M) share it.
                int at = triangles.FindIndex(x => x.Weights.Equals(term.Row) && x.Matrix == term.Matrix);
                if (at < 0)
                {
                    triangles.Add((term.Row!, term.Matrix!, new List<RowTerm>()));
                    at = triangles.Count - 1;
                }

                triangles[at].Terms.Add(new RowTerm(factor, term.Column is OnesVector ? null : values.Reference(term.Column!)));
                continue;
            }

            if (term.Matrix is { } read)
            {
                scales.Add(new ScaleTerm(factor, term.RowScale is null ? null : values.Reference(term.RowScale), read,
                    term.ColumnScale is null ? null : values.Reference(term.ColumnScale)));
                continue;
            }

            bool perTime = term.PerTime || term.Factor.Factors.Any(TimeDependence.Timed);
            RowGroup? group = rows.Find(r => r.Row.Equals(term.Row) && r.PerTime == perTime);
            if (group is null)
            {
                group = new RowGroup(term.Row!, perTime, new List<(ScalarProduct, VectorValue)>(), new List<RowTerm>());
                rows.Add(group);
            }

            group.Coefficient.Add((term.Factor, term.Column!));
            group.Terms.Add(new RowTerm(factor, term.Column is OnesVector ? null : values.Reference(term.Column!)));
        }

        return new TargetUpdate(target, matrix, scales.ToEquatableArray(),
            TermMerging.MergeProportionalRows(rows).Select(r => new RowUpdate(values.Reference(r.Row), r.Terms.ToEquatableArray(), r.PerTime)).ToEquatableArray(),
            triangles.Select(x => new TriangularUpdate(values.Reference(x.Weights), x.Matrix, x.Terms.ToEquatableArray())).ToEquatableArray(),
            elementwise.Select(x => new ElementwiseUpdate(x.Factors, x.ColumnScale, x.Terms.ToEquatableArray())).ToEquatableArray());
    }
}
