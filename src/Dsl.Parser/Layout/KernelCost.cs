using System.Globalization;
using PlasticityDsl.Language.Binding;
using PlasticityDsl.Language.Lowering;

namespace PlasticityDsl.Language.Layout;

/// <summary>The multiply-adds of one update, as the kernel's doc comment states them.</summary>
internal static class KernelCost
{
    public static string Of(KernelPlan plan) => plan.Recurrent ? Recurrent(plan) : Layer(plan);

    /// <summary>Multiply-adds per update of a layer: n_l·n_(l-1) per pass over a matrix, plus the vector work; a running
    /// sum of tril terms costs one such pass to grow and one per target that adds it.</summary>
    private static string Layer(KernelPlan plan)
    {
        int matrixPasses = MatrixPasses(plan);
        // A column state's update, or an adjoint's vector output, adds one vector to it.
        int post = plan.Steps.Count(s => !ReadsMatrix(s) && s.Length == Dimension.Post) + plan.States.Count(s => s.State.Length == Dimension.Post)
            + plan.Outputs.Count(o => o.Signal?.Shape.Rows == Dimension.Post);
        int pre = plan.Steps.Count(s => !ReadsMatrix(s) && s.Length == Dimension.Pre) + plan.States.Count(s => s.State.Length == Dimension.Pre)
            + plan.Outputs.Count(o => o.Signal?.Shape.Rows == Dimension.Pre);
        var parts = new List<string>();
        if (matrixPasses > 0) parts.Add(Times(matrixPasses) + "n_l·n_<l-1>");
        if (post > 0) parts.Add(Times(post) + "n_l");
        if (pre > 0) parts.Add(Times(pre) + "n_<l-1>");
        return parts.Count == 0 ? "0" : string.Join(" + ", parts);
    }

    /// <summary>A layer kernel's work in passes over a weight-sized matrix: its matrix-vector products and, per target, its
    /// row terms, whole-matrix reads, scale, tril terms, elementwise factors and running sums.</summary>
    public static int MatrixPasses(KernelPlan plan) =>
        plan.Steps.Sum(MatrixReads)
        + plan.Targets.Sum(t => TargetPasses(t))
        + KernelLayout.RunningSums(plan).Count();

    /// <summary>How many times a layer kernel's steps stream a weight-sized matrix before its update passes: a grouped pass
    /// (<see cref="KernelLayout.ProductPasses"/>) once for its matrix and once per other matrix its row dots read, every
    /// other step as <see cref="MatrixReads"/> counts.</summary>
    public static int ProductStreams(KernelPlan plan, KernelLayout layout) =>
        plan.Steps.Where(s => s.IsScalar || !layout.ProductPasses.Any(p => p.Steps.Contains(s.Index))).Sum(MatrixReads)
        + layout.ProductPasses.Sum(p => 1 + p.Steps.Count(i => plan.Steps.Any(s => !s.IsScalar && s.Index == i
            && s.Operation is SumElementwiseRows { Factors: [MatrixElement a, MatrixElement b] } && a.Source != b.Source)));

    /// <summary>A step that streams a weight-sized matrix: a matrix-vector product, also of weights read elementwise.</summary>
    private static bool ReadsMatrix(Step step) => MatrixReads(step) > 0;

    /// <summary>The weight-sized matrices a step streams: one per matrix-vector product, one per elementwise factor.</summary>
    private static int MatrixReads(Step step) => step.Operation switch
    {
        MultiplyMatrix => 1,
        MultiplyElementwise m => m.Factors.Count,
        SumElementwiseRows s => s.Factors.Count,
        _ => 0,
    };

    /// <summary>The passes one target's own terms make (matrix-vector products, shared between targets, not included).</summary>
    public static int TargetPasses(TargetUpdate t) =>
        t.Rows.Count + t.WholeMatrixReads.Count() + (t.OwnScales.Any() ? 1 : 0) + t.Triangles.Count + t.Elementwise.Sum(x => x.Factors.Count);

    private static string Times(int count) => count == 1 ? "" : count.ToString(CultureInfo.InvariantCulture) + "·";

    /// <summary>
    /// Multiply-adds per update of a recurrent rule: (T−1)·(per-t matrix-vector products, vector work and rank-one
    /// updates), plus the time-independent work. Quadratic in the sizes per t: no product of two matrices.
    /// </summary>
    private static string Recurrent(KernelPlan plan)
    {
        var perTime = new Dictionary<string, int>(StringComparer.Ordinal);
        var once = new Dictionary<string, int>(StringComparer.Ordinal);
        void Add(bool timed, string term)
        {
            Dictionary<string, int> into = timed ? perTime : once;
            into[term] = into.TryGetValue(term, out int n) ? n + 1 : 1;
        }

        foreach (Step step in plan.Steps)
        {
            if (step.Operation is MultiplyMatrix m)
            {
                Add(step.PerTime, Area(m.Matrix.Shape));
            }
            else if (step.Operation is Dot or Reduce || !step.IsScalar && step.Operation is not Ones)
            {
                Add(step.PerTime, Shape.Name(step.Length));
            }
        }

        foreach (TargetUpdate target in plan.Targets)
        {
            string area = Area(target.Matrix.Shape);
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

    private static string Area(Shape shape) =>
        shape.Rows == shape.Columns ? Shape.Name(shape.Rows) + "²" : Shape.Name(shape.Rows) + "·" + Shape.Name(shape.Columns);
}
