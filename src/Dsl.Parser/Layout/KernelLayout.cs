using PlasticityDsl.Language.Binding;
using PlasticityDsl.Language.Lowering;

namespace PlasticityDsl.Language.Layout;

/// <summary>A region of the kernel's scratch buffer: <see cref="Length"/> floats, or T−1 times as many when
/// <see cref="PerTime"/> (one per transition t of a recurrent rule).</summary>
internal abstract record ScratchSlice(Dimension Length, bool PerTime);

/// <summary>The vector of vector step <paramref name="Step"/> (of every t, when per-t).</summary>
internal sealed record VectorSlice(int Step, Dimension Length, bool PerTime) : ScratchSlice(Length, PerTime);

/// <summary>The value at every t of the per-t scalar step <paramref name="Step"/>, kept for the update pass.</summary>
internal sealed record ScalarSlice(int Step) : ScratchSlice(Dimension.One, PerTime: true);

/// <summary>A copy of the current row of <paramref name="Matrix"/>, taken before the pass changes it, for a term
/// that reads the matrix whole.</summary>
internal sealed record OldRowSlice(SignalRef Matrix) : ScratchSlice(Matrix.Shape.Columns, PerTime: false);

/// <summary>The running sum Σ_(k ≤ i) Weights[k]·Matrix[k,:] of the terms c·tril(a bᵀ)·M, grown by one row per row of the
/// pass (<see cref="TriangularUpdate"/>); zero before the pass.</summary>
internal sealed record RunningSumSlice(VectorRef Weights, SignalRef Matrix) : ScratchSlice(Matrix.Shape.Columns, PerTime: false);

/// <summary><paramref name="Count"/> slices of one length, a term of the scratch size.</summary>
internal sealed record ScratchTerm(int Count, Dimension Length, bool PerTime);

/// <summary>One loop over the rows of its <paramref name="Targets"/> (of one shape): each row gets all its terms
/// while it is in cache, after the rows in <paramref name="OldRowCopies"/> are copied.</summary>
internal sealed record UpdatePass(EquatableArray<SignalRef> Targets, EquatableArray<SignalRef> OldRowCopies);

/// <summary>
/// Where a <see cref="KernelPlan"/> lives when it runs: the scratch slices in order (their offsets follow), the
/// scratch size, the targets whose keep factor (1 + Σ c, for c·M terms) is computed once before the passes instead of
/// per row, the passes over the targets, the signals the kernel reads, and its cost. Equatable, like the plan.
/// </summary>
internal sealed record KernelLayout(
    EquatableArray<ScratchSlice> Scratch,
    EquatableArray<ScratchTerm> ScratchSize,
    EquatableArray<SignalRef> HoistedKeeps,
    EquatableArray<UpdatePass> Passes,
    EquatableArray<SignalRef> Reads,
    string Cost)
{
    public static KernelLayout Of(KernelPlan plan)
    {
        // Per-t scalars are kept for the update pass only when a term of it reads them.
        var stored = new HashSet<int>(plan.Targets.SelectMany(t => t.Rows.Where(r => r.PerTime)).SelectMany(r => r.Terms).SelectMany(x => x.Factor.Scalars));
        Step[] vectors = plan.Steps.Where(s => !s.IsScalar).ToArray();
        SignalRef[] oldRows = ChangedWholeReads(plan.Targets, plan.Targets).ToArray();
        ScratchSlice[] scratch = vectors.Where(s => !s.PerTime).Select(s => (ScratchSlice)new VectorSlice(s.Index, s.Length, false))
            .Concat(vectors.Where(s => s.PerTime).Select(s => new VectorSlice(s.Index, s.Length, true)))
            .Concat(plan.Steps.Where(s => s.IsScalar && s.PerTime && stored.Contains(s.Index)).Select(s => new ScalarSlice(s.Index)))
            .Concat(oldRows.Select(m => new OldRowSlice(m)))
            .Concat(RunningSums(plan).Select(x => new RunningSumSlice(x.Weights, x.Matrix)))
            .ToArray();
        // A recurrent kernel states its scratch in order of the slices, a layer kernel rows before columns.
        var size = scratch.GroupBy(s => (s.Length, s.PerTime)).Select(g => new ScratchTerm(g.Count(), g.Key.Length, g.Key.PerTime));
        if (!plan.Recurrent) size = size.OrderBy(t => t.Length);

        // A layer updates W and B of the same shape in one pass; a recurrent rule's matrices differ in shape.
        UpdatePass[] passes = plan.Recurrent
            ? plan.Targets.Select(t => Pass(new[] { t }, plan.Targets)).ToArray()
            : plan.Targets.Count == 0 ? Array.Empty<UpdatePass>() : new[] { Pass(plan.Targets, plan.Targets) };

        // c·M without a row scale is one factor for every row.
        SignalRef[] hoisted = plan.Targets.Where(t => t.OwnScales.Any() && t.OwnScales.All(x => x.RowScale is null)).Select(t => t.Matrix).ToArray();
        return new KernelLayout(scratch.ToEquatableArray(), size.ToEquatableArray(), hoisted.ToEquatableArray(), passes.ToEquatableArray(),
            plan.Signals.ToEquatableArray(), KernelCost.Of(plan));
    }

    /// <summary>The distinct running sums of the targets' triangular terms, in order of first use.</summary>
    internal static IEnumerable<(VectorRef Weights, SignalRef Matrix)> RunningSums(KernelPlan plan) =>
        plan.Targets.SelectMany(t => t.Triangles).Select(x => (x.Weights, x.Matrix)).Distinct();

    private static UpdatePass Pass(IReadOnlyList<TargetUpdate> targets, IReadOnlyList<TargetUpdate> all) => new(
        targets.Select(t => t.Matrix).ToEquatableArray(), ChangedWholeReads(targets, all).ToEquatableArray());

    /// <summary>The matrices <paramref name="targets"/> read whole that the kernel changes (a target of
    /// <paramref name="all"/>), whose rows must be copied before the pass; a matrix the kernel only reads (W in a tangent
    /// kernel, which updates Ẇ) is read in place.</summary>
    private static IEnumerable<SignalRef> ChangedWholeReads(IReadOnlyList<TargetUpdate> targets, IReadOnlyList<TargetUpdate> all) =>
        targets.SelectMany(t => t.WholeMatrixReads.Concat(t.ElementwiseReads)).Where(m => all.Any(t => t.Matrix == m))
            .Distinct().OrderBy(m => m.ToString(), StringComparer.Ordinal);
}
