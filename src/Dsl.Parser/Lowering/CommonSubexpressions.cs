namespace PlasticityDsl.Language.Lowering;

/// <summary>
/// Common-subexpression elimination: numbers the vectors and scalars of a plan in order of first use, once each,
/// dependencies first, and hands out typed references to them. Equal values (by structure) get one step.
/// </summary>
internal sealed class CommonSubexpressions
{
    private readonly List<(object Value, Step Step)> _steps = new();
    private readonly HashSet<CoefficientRef> _coefficients = new();
    private int _vectors, _scalars;

    public IEnumerable<Step> Steps => _steps.Select(s => s.Step);

    /// <summary>The coefficients the factors handed out so far read, by index.</summary>
    public IEnumerable<CoefficientRef> Coefficients => _coefficients.OrderBy(k => k.Tangent).ThenBy(k => k.Index);

    public ScalarFactor Factor(ScalarProduct product)
    {
        foreach (CoefficientRef k in product.Coefficients) _coefficients.Add(k);
        return new ScalarFactor(product.Constant, product.Coefficients,
            product.Factors.Select(Scalar).OrderBy(i => i).ToEquatableArray());
    }

    private int Scalar(ScalarValue value)
    {
        int existing = _steps.FindIndex(s => s.Value.Equals(value));
        if (existing >= 0) return _steps[existing].Step.Index;
        Step step = value switch
        {
            DotScalar d => NewScalar(d.Left.Length, new Dot(Reference(d.Left), Reference(d.Right)), d),
            ReducedScalar r => NewScalar(r.Operand.Length, new Reduce(r.Reduction, Reference(r.Operand)), r),
            MappedScalar m => NewScalar(Binding.Dimension.One, new MapScalar(m.Function, m.Argument.Select(Factor).ToEquatableArray()), m),
            TimeSummedScalar t => NewScalar(Binding.Dimension.One, new TimeSum(Factor(t.Summand)), t),
            StateScalar s => NewScalar(Binding.Dimension.One, new ReadState(s.State), s),
            _ => throw new InvalidOperationException("unknown scalar " + value),
        };
        _steps.Add((value, step));
        return step.Index;
    }

    private Step NewScalar(Binding.Dimension length, Operation operation, ScalarValue value) =>
        new(_scalars++, length, operation, value.ToString(), TimeDependence.Timed(value));

    public VectorRef Reference(VectorValue value)
    {
        if (value is SignalVector s) return s.Signal;
        if (value is StateVector state) return state.State;
        int existing = _steps.FindIndex(x => x.Value.Equals(value));
        if (existing >= 0) return new ComputedVector(_steps[existing].Step.Index);
        Step step = value switch
        {
            OnesVector => NewVector(new Ones(), value),
            MatrixTimesVector m => NewVector(new MultiplyMatrix(m.Matrix, m.Transposed, Reference(m.Operand)), value),
            ElementwiseTimesVector { Transposed: false, Operand: OnesVector } m => NewVector(new SumElementwiseRows(m.Factors), value),
            ElementwiseTimesVector m => NewVector(new MultiplyElementwise(m.Factors, m.Transposed, Reference(m.Operand)), value),
            HadamardVector h => NewVector(new Hadamard(Reference(h.Left), Reference(h.Right)), value),
            MappedVector f => NewVector(new MapVector(f.Function, Reference(f.Operand)), value),
            CombinedVector c => NewVector(Combination(c), value),
            _ => throw new InvalidOperationException("unknown vector " + value),
        };
        _steps.Add((value, step));
        return new ComputedVector(step.Index);
    }

    /// <summary>The vectors of a combination are numbered before its factors' scalars.</summary>
    private Combine Combination(CombinedVector combined)
    {
        VectorRef[] vectors = combined.Terms.Select(t => Reference(t.Vector)).ToArray();
        return new Combine(combined.Terms.Select((t, k) => new ScaledRef(Factor(t.Factor), vectors[k])).ToEquatableArray());
    }

    private Step NewVector(Operation operation, VectorValue value) =>
        new(_vectors++, value.Length, operation, value.ToString(), TimeDependence.Timed(value));
}
