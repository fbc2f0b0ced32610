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

/// <summary>The vector steps <paramref name="Steps"/> (products with <paramref name="Matrix"/>: M·x, Mᵀ·y, and row dots
/// ⟨M_i, N_i⟩), computed together in one pass over the matrix where the first of them stands in the plan; the others'
/// operands are computed before it.</summary>
internal sealed record ProductPass(SignalRef Matrix, EquatableArray<int> Steps);

/// <summary>
/// Where a <see cref="KernelPlan"/> lives when it runs: the scratch slices in order (their offsets follow), the
/// scratch size, the targets whose keep factor (1 + Σ c, for c·M terms) is computed once before the passes instead of
/// per row, the passes over the targets, the signals the kernel reads, its cost, and the products grouped into one pass
/// over their matrix (adjoint kernels). Equatable, like the plan.
/// </summary>
internal sealed record KernelLayout(
    EquatableArray<ScratchSlice> Scratch,
    EquatableArray<ScratchTerm> ScratchSize,
    EquatableArray<SignalRef> HoistedKeeps,
    EquatableArray<UpdatePass> Passes,
    EquatableArray<SignalRef> Reads,
    string Cost,
    EquatableArray<ProductPass> ProductPasses = default)
{
    /// <summary>The most products of one kind a <see cref="ProductPass"/> holds (KernelPrimitives.MatrixPass.Capacity).</summary>
    public const int ProductsPerKind = 4;

    /// <summary>The layout of <paramref name="plan"/>; with <paramref name="groupProducts"/> (adjoint kernels: the
    /// grouped primitive computes each product bit for bit as the separate one, but Apply and tangents keep their
    /// printed form), the products of a layer kernel's matrices grouped into passes (<see cref="GroupProducts"/>).</summary>
    public static KernelLayout Of(KernelPlan plan, bool groupProducts = false)
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
            plan.Signals.ToEquatableArray(), KernelCost.Of(plan),
            groupProducts && !plan.Recurrent ? GroupProducts(plan).ToEquatableArray() : default);
    }

    /// <summary>
    /// The products read from one matrix, grouped so that each group streams it once: in plan order, each product not yet
    /// grouped opens a group with its matrix and gathers every later product of the same matrix whose operand is computed
    /// before it (the products of the group are computed where the first stands). Products are matrix-vector products
    /// and row dots of two matrices read as they are (⟨Ū_i, W_i⟩), which join a pass over either. A product alone keeps its own
    /// call.
    /// </summary>
    private static IEnumerable<ProductPass> GroupProducts(KernelPlan plan)
    {
        var computed = new HashSet<int>();
        var grouped = new HashSet<int>();
        Step[] vectors = plan.Steps.Where(s => !s.IsScalar).ToArray();
        foreach (Step step in vectors)
        {
            if (grouped.Contains(step.Index)) continue;
            if (MatricesOf(step.Operation).FirstOrDefault() is { } matrix)
            {
                var kinds = new Dictionary<string, int>(StringComparer.Ordinal);
                var members = new List<int>();
                foreach (Step other in vectors.Where(s => s.Index >= step.Index && !grouped.Contains(s.Index) && MatricesOf(s.Operation).Contains(matrix)))
                {
                    bool ready = other.Operation.Operands.All(o => o is not ComputedVector v || computed.Contains(v.Index));
                    string kind = Kind(other.Operation);
                    kinds.TryGetValue(kind, out int count);
                    if (other != step && (!ready || count == ProductsPerKind)) continue;
                    kinds[kind] = count + 1;
                    members.Add(other.Index);
                }

                if (members.Count > 1)
                {
                    grouped.UnionWith(members);
                    computed.UnionWith(members);
                    yield return new ProductPass(matrix, members.ToEquatableArray());
                    continue;
                }
            }

            computed.Add(step.Index);
        }
    }

    /// <summary>The matrices a pass over which can compute <paramref name="operation"/>: a matrix-vector product's matrix,
    /// either matrix of a row dot; none for anything else.</summary>
    private static IEnumerable<SignalRef> MatricesOf(Operation operation) => operation switch
    {
        MultiplyMatrix m => new[] { m.Matrix },
        SumElementwiseRows { Factors: [MatrixElement a, MatrixElement b] } => new[] { a.Source, b.Source },
        _ => Array.Empty<SignalRef>(),
    };

    private static string Kind(Operation operation) => operation switch
    {
        MultiplyMatrix { Transposed: true } => "transposed",
        MultiplyMatrix => "times",
        _ => "row dots",
    };

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
