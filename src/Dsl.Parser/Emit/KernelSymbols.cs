using PlasticityDsl.Language.Binding;
using PlasticityDsl.Language.Layout;
using PlasticityDsl.Language.Lowering;
using static PlasticityDsl.Language.Emit.CSharpText;

namespace PlasticityDsl.Language.Emit;

/// <summary>A model in its context (<see cref="KernelContext"/>): the C# name of every reference, coefficient, step and
/// scratch slice of one kernel, and where each is read inside the loops over rows and over t.</summary>
internal sealed class KernelSymbols
{
    private readonly Dictionary<string, string> _slices = new(StringComparer.Ordinal);
    private readonly HashSet<SignalRef> _reads;

    /// <param name="tangent">Name the model's tangent kernel (ApplyTangent) instead of its update (Apply).</param>
    /// <param name="adjoint">Name the model's adjoint kernel (ApplyAdjoint) instead of its update.</param>
    public KernelSymbols(KernelModel model, bool tangent = false, bool adjoint = false)
    {
        Model = model;
        IsTangent = tangent;
        IsAdjoint = adjoint;
        Plan = tangent ? model.Tangent!.Plan : adjoint ? model.Adjoint!.Plan : model.Plan;
        Layout = tangent ? model.Tangent!.Layout : adjoint ? model.Adjoint!.Layout : model.Layout;
        Context = model.Plan.Recurrent ? KernelContext.Recurrent : KernelContext.Layer;
        _reads = new HashSet<SignalRef>(Layout.Reads);
        Declared = Context.Signals.Where(s => s.Always || _reads.Contains(s.Signal)).ToArray();
        UsesActivation = Plan.Steps.Any(s => s.Operation is MapVector { Function: ElementFunction.Activation or ElementFunction.ActivationDerivative }
            or MapScalar { Function: ElementFunction.Activation or ElementFunction.ActivationDerivative })
            || model.Plan.Targets.Concat(model.Tangent?.Plan.Targets ?? Enumerable.Empty<TargetUpdate>()).Concat(model.Adjoint?.Plan.Targets ?? Enumerable.Empty<TargetUpdate>()).SelectMany(t => t.Elementwise).SelectMany(x => x.Factors).Any(ReadsActivation);

        var lengths = new List<string>();
        foreach (ScratchSlice slice in Layout.Scratch)
        {
            string length = KernelContext.Length(slice.Length, slice.PerTime);
            _slices[SliceName(slice)] = $"scratch.Slice({(lengths.Count == 0 ? "0" : string.Join(" + ", lengths))}, {length})";
            lengths.Add(length);
        }
    }

    private static bool ReadsActivation(MatrixFactor f) =>
        f is MappedElement m && (m.Function is ElementFunction.Activation or ElementFunction.ActivationDerivative || ReadsActivation(m.Operand));

    public KernelModel Model { get; }

    /// <summary>Whether this is the model's tangent kernel.</summary>
    public bool IsTangent { get; }

    /// <summary>Whether this is the model's adjoint kernel.</summary>
    public bool IsAdjoint { get; }

    /// <summary>Whether this is a layer's update kernel whose pass writes W row by row, so that it computes the next
    /// sample's product W x with each row it has written (ApplyAndMultiply).</summary>
    public bool MultipliesNextInput =>
        !IsTangent && !IsAdjoint && !Plan.Recurrent && Layout.Passes.Any(p => p.Targets.Contains(new SignalRef(Signal.Weights)));

    /// <summary>The plan and layout of the kernel being printed: the update's, the tangent's or the adjoint's.</summary>
    public KernelPlan Plan { get; }

    public KernelLayout Layout { get; }

    public KernelContext Context { get; }

    /// <summary>The rows of the signal table the kernel reads, in table order.</summary>
    public IReadOnlyList<SignalSource> Declared { get; }

    public bool UsesActivation { get; }

    public bool Reads(Signal signal, bool tangent = false, bool adjoint = false) => _reads.Contains(new SignalRef(signal, tangent, adjoint));

    public string Name(Step step) => (step.IsScalar ? "s" : "v") + Int(step.Index);

    public bool HasSlice(string name) => _slices.ContainsKey(name);

    public string Slice(string name) => _slices[name];

    private string SliceName(ScratchSlice slice) => slice switch
    {
        VectorSlice { PerTime: true } v => "v" + Int(v.Step) + "s",
        VectorSlice v => "v" + Int(v.Step),
        ScalarSlice s => "s" + Int(s.Step) + "s",
        OldRowSlice o => OldRow(o.Matrix),
        RunningSumSlice r => RunningSum(r.Weights, r.Matrix),
        _ => throw new InvalidOperationException("unknown slice " + slice),
    };

    public string Local(VectorRef vector) => vector switch
    {
        SignalRef s => Context[s].Local,
        StateRef s => "state" + Int(s.Index),
        ComputedVector v => "v" + Int(v.Index),
        _ => throw new InvalidOperationException("unknown vector " + vector),
    };

    /// <summary>The local that holds a coefficient, and where it is read from.</summary>
    public string Coefficient(CoefficientRef k) => (k.Tangent ? "dt" : "t") + Int(k.Index);

    public string CoefficientValue(CoefficientRef k) => $"{(k.Tangent ? "thetaTangent" : "theta")}[{Int(k.Index)}]";

    public string OldRow(SignalRef matrix) => "old" + Capitalized(Local(matrix)) + "Row";

    /// <summary>Row i of a matrix a term reads whole: its copy when the pass changes the matrix, else the row in place.</summary>
    public string WholeRow(SignalRef matrix, string columns) =>
        HasSlice(OldRow(matrix)) ? OldRow(matrix) : $"{Local(matrix)}.Slice(i * {columns}, {columns})";

    /// <summary>The running sum of the tril terms with these weights and matrix: prefix0, prefix1, … in layout order.</summary>
    public string RunningSum(VectorRef weights, SignalRef matrix)
    {
        int index = 0;
        foreach (RunningSumSlice slice in Layout.Scratch.OfType<RunningSumSlice>())
        {
            if (slice.Weights == weights && slice.Matrix == matrix) return "prefix" + Int(index);
            index++;
        }

        throw new InvalidOperationException("no running sum for " + weights + " and " + matrix);
    }

    public string Keep(SignalRef matrix) => "keep" + Capitalized(Local(matrix));

    /// <summary>The element of a row-indexed vector at row i.</summary>
    public string? AtRow(VectorRef? vector) => vector is null ? null : Local(vector) + "[i]";

    private Step? PerTimeStep(VectorRef vector) =>
        vector is ComputedVector v && Plan.Steps.First(s => !s.IsScalar && s.Index == v.Index) is { PerTime: true } step ? step : null;

    private SignalSource? PerTimeSignal(VectorRef vector) => vector is SignalRef s && Context[s] is { PerTime: true } source ? source : null;

    /// <summary>A vector inside the loop over t of the update pass, where per-t values are read from scratch.</summary>
    public string VectorAtT(VectorRef vector)
    {
        if (PerTimeStep(vector) is { } step) return $"{Name(step)}s.Slice(t * {KernelContext.Size(step.Length)}, {KernelContext.Size(step.Length)})";
        if (PerTimeSignal(vector) is { } signal) return KernelContext.Slice(signal);
        return Local(vector);
    }

    /// <summary>A vector's element i inside the loop over t of the update pass.</summary>
    public string ElementAtT(VectorRef vector)
    {
        if (PerTimeStep(vector) is { } step) return $"{Name(step)}s[t * {KernelContext.Size(step.Length)} + i]";
        if (PerTimeSignal(vector) is { } signal) return $"{signal.Array!.Local}[{signal.Offset} + i]";
        return Local(vector) + "[i]";
    }

    /// <summary>constant · Π t_k · Π s_j (· <paramref name="vector"/>); with <paramref name="atT"/>, per-t scalars
    /// are read at t from scratch.</summary>
    public string Factor(ScalarFactor factor, string? vector, bool atT = false)
    {
        IEnumerable<string> symbols = factor.Coefficients.Select(Coefficient).Concat(factor.Scalars.Select(s => Scalar(s, atT)));
        return Product(factor.Constant, vector is null ? symbols : symbols.Append(vector));
    }

    private string Scalar(int index, bool atT) =>
        atT && Plan.Steps.First(s => s.IsScalar && s.Index == index).PerTime ? "s" + Int(index) + "s[t]" : "s" + Int(index);
}
