using PlasticityDsl.Language.Binding;

namespace PlasticityDsl.Language.Lowering;

/// <summary>A vector a step or an update reads: a signal of the kernel's context, or a vector a step computed.</summary>
internal abstract record VectorRef;

/// <summary>
/// A signal of the kernel's context, read as it is: a vector (y_l, e_(l-1), z_t, …) or, where a matrix is expected,
/// W, B, Wh, Wx or Wo; with <paramref name="Tangent"/>, its tangent (ẏ_l, Ẇ, …) in a tangent kernel; with
/// <paramref name="Adjoint"/>, the adjoint buffer of a matrix in an adjoint kernel, read as the cotangent Ū and
/// updated in place to W̄ (or B̄). Where it lives in the kernel (a local, a slice of a sequence, the span updated in
/// place) is the printer's signal table's business, keyed by this reference.
/// </summary>
internal sealed record SignalRef(Signal Signal, bool Tangent = false, bool Adjoint = false) : VectorRef
{
    public Shape Shape => Signals.ShapeOf(Signal);

    public override string ToString() =>
        Tangent ? Dotted(Signals.Spelling(Signal)) : Adjoint ? Barred(Signals.Spelling(Signal)) : Signals.Spelling(Signal);

    /// <summary>The spelling with a dot over its first letter (U+0307): Ẇ, ẏ_l, ṫ0.</summary>
    internal static string Dotted(string spelling) => spelling.Substring(0, 1) + "\u0307" + spelling.Substring(1);

    /// <summary>The spelling with a bar over its first letter (U+0304): W̄, ȳ_l, t̄0.</summary>
    internal static string Barred(string spelling) => spelling.Substring(0, 1) + "\u0304" + spelling.Substring(1);
}

/// <summary>The per-layer state <paramref name="Name"/> (number <paramref name="Index"/>), <paramref name="Length"/>
/// entries (1 for a scalar state), as it was before this step.</summary>
internal sealed record StateRef(int Index, string Name, Dimension Length) : VectorRef
{
    public override string ToString() => Name;
}

/// <summary>The vector computed by the vector step <paramref name="Index"/>.</summary>
internal sealed record ComputedVector(int Index) : VectorRef;

/// <summary>The coefficient θ[Index]: t0…t9, or a named <c>param</c>; with <paramref name="Tangent"/>, its tangent θ̇[Index].</summary>
internal sealed record CoefficientRef(int Index, bool Tangent = false)
{
    public override string ToString()
    {
        string name = "t" + Index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Tangent ? SignalRef.Dotted(name) : name;
    }
}

/// <summary>constant · Π coefficients · Π scalars, where the scalars are those the kernel's scalar steps of these
/// indices compute: the scalar factor of one term.</summary>
internal sealed record ScalarFactor(double Constant, EquatableArray<CoefficientRef> Coefficients, EquatableArray<int> Scalars);

/// <summary>factor · vector: one term of a linear combination.</summary>
internal sealed record ScaledRef(ScalarFactor Factor, VectorRef Vector);

/// <summary>What a step computes, from typed references to signals and earlier steps.</summary>
internal abstract record Operation
{
    /// <summary>Whether the step computes a scalar rather than a vector.</summary>
    public virtual bool IsScalar => false;

    /// <summary>The vectors and matrices the step reads.</summary>
    public virtual IEnumerable<VectorRef> Operands => Array.Empty<VectorRef>();
}

/// <summary>v = M·x, or Mᵀ·x when <paramref name="Transposed"/>: one streaming pass over the matrix.</summary>
internal sealed record MultiplyMatrix(SignalRef Matrix, bool Transposed, VectorRef Operand) : Operation
{
    public override IEnumerable<VectorRef> Operands => new[] { Matrix, Operand };
}

/// <summary>v = (⊙ F_k)·x, or (⊙ F_k)ᵀ·x when <paramref name="Transposed"/>: one streaming pass over the factors' matrices.</summary>
internal sealed record MultiplyElementwise(EquatableArray<MatrixFactor> Factors, bool Transposed, VectorRef Operand) : Operation
{
    public override IEnumerable<VectorRef> Operands => Factors.Select(f => (VectorRef)f.Matrix).Distinct().Append(Operand);
}

/// <summary>v = (⊙ F_k)·1: the row sums of weights read elementwise (an adjoint's ⟨Ū, W⟩ row by row), with no vector
/// of ones to read.</summary>
internal sealed record SumElementwiseRows(EquatableArray<MatrixFactor> Factors) : Operation
{
    public override IEnumerable<VectorRef> Operands => Factors.Select(f => (VectorRef)f.Matrix).Distinct();
}

/// <summary>v = a ⊙ b.</summary>
internal sealed record Hadamard(VectorRef Left, VectorRef Right) : Operation
{
    public override IEnumerable<VectorRef> Operands => new[] { Left, Right };
}

/// <summary>v = f(x), elementwise.</summary>
internal sealed record MapVector(ElementFunction Function, VectorRef Operand) : Operation
{
    public override IEnumerable<VectorRef> Operands => new[] { Operand };
}

/// <summary>v = Σ factor_k · x_k.</summary>
internal sealed record Combine(EquatableArray<ScaledRef> Terms) : Operation
{
    public override IEnumerable<VectorRef> Operands => Terms.Select(t => t.Vector);
}

/// <summary>v = 1.</summary>
internal sealed record Ones : Operation;

/// <summary>s = aᵀb.</summary>
internal sealed record Dot(VectorRef Left, VectorRef Right) : Operation
{
    public override bool IsScalar => true;

    public override IEnumerable<VectorRef> Operands => new[] { Left, Right };
}

/// <summary>s = sum(x) or norm2(x).</summary>
internal sealed record Reduce(Reduction Reduction, VectorRef Operand) : Operation
{
    public override bool IsScalar => true;

    public override IEnumerable<VectorRef> Operands => new[] { Operand };
}

/// <summary>s = the value of a scalar state before this step.</summary>
internal sealed record ReadState(StateRef State) : Operation
{
    public override bool IsScalar => true;
}

/// <summary>s = f(Σ factors).</summary>
internal sealed record MapScalar(ElementFunction Function, EquatableArray<ScalarFactor> Argument) : Operation
{
    public override bool IsScalar => true;
}

/// <summary>s = Σ_t summand, accumulated over the time steps t = 1…T−1 of a recurrent rule.</summary>
internal sealed record TimeSum(ScalarFactor Summand) : Operation
{
    public override bool IsScalar => true;
}

/// <summary>
/// One computation before the pass over the weights, in dependency order. Vector and scalar steps are numbered
/// apart (<see cref="ComputedVector"/> and <see cref="ScalarFactor.Scalars"/> refer to them by that number);
/// <see cref="Length"/> is a vector's length or a reduced vector's. <see cref="Description"/> spells the value in
/// the rule's terms, for the kernel's comments.
/// </summary>
/// <remarks>In a recurrent rule, a step with <see cref="PerTime"/> is computed for every t = 1…T−1 from the
/// pre-update weights; a <see cref="TimeSum"/> is accumulated over t.</remarks>
internal sealed record Step(int Index, Dimension Length, Operation Operation, string Description, bool PerTime = false)
{
    public bool IsScalar => Operation.IsScalar;
}

/// <summary>One term of a row coefficient: Factor · Column[i] (Column null: the factor alone).</summary>
internal sealed record RowTerm(ScalarFactor Factor, VectorRef? Column);

/// <summary>For each row i: row_i += (Σ terms evaluated at i) · RowVector; with <see cref="PerTime"/>, for each t
/// as well (recurrent rules), the vectors and scalars taken at t.</summary>
internal sealed record RowUpdate(VectorRef RowVector, EquatableArray<RowTerm> Terms, bool PerTime = false);

/// <summary>For each row i: row_i += (Σ terms evaluated at i) · Σ_(k ≤ i) Weights[k]·Matrix[k,:], the terms c·tril(a bᵀ)·M
/// with b = <paramref name="Weights"/>: the running sum over the rows of the pre-update matrix grows by one row per row
/// of the pass, so no n×n matrix is formed (O(n·m)).</summary>
internal sealed record TriangularUpdate(VectorRef Weights, SignalRef Matrix, EquatableArray<RowTerm> Terms);

/// <summary>A weight read elementwise in an elementwise-matrix term: M[i,j] itself, or a function of it.</summary>
internal abstract record MatrixFactor
{
    /// <summary>The matrix the factor reads.</summary>
    public abstract SignalRef Matrix { get; }
}

/// <summary>M[i,j].</summary>
internal sealed record MatrixElement(SignalRef Source) : MatrixFactor
{
    public override SignalRef Matrix => Source;

    public override string ToString() => Source.ToString();
}

/// <summary>f(Operand[i,j]).</summary>
internal sealed record MappedElement(ElementFunction Function, MatrixFactor Operand) : MatrixFactor
{
    public override SignalRef Matrix => Operand.Matrix;

    public override string ToString() => Functions.Spelling(Function) + "(" + Operand + ")";
}

/// <summary>For each row i: row_i += (Σ terms evaluated at i) · (⊙_k Factors_k)[i,:] ⊙ ColumnScale: the terms
/// c·diag(a)·(⊙ F_k)·diag(b) that read weights elementwise (<c>-t3*sign(W)</c>, <c>W .* B</c>,
/// <c>(y_l*y_&lt;l-1&gt;') .* sq(W)</c>) with one product of factors and one column scale b, applied to each row in the same
/// pass, one element at a time; a term's row scale a is its <see cref="RowTerm.Column"/>. A null column scale is the identity.</summary>
internal sealed record ElementwiseUpdate(EquatableArray<MatrixFactor> Factors, VectorRef? ColumnScale, EquatableArray<RowTerm> Terms);

/// <summary>Factor · diag(RowScale) · Matrix · diag(ColumnScale): a term that reads a whole matrix (decay is
/// the plainest: c·W). Null scales are the identity.</summary>
internal sealed record ScaleTerm(ScalarFactor Factor, VectorRef? RowScale, SignalRef Matrix, VectorRef? ColumnScale);

/// <summary>The update of one matrix, in place: <paramref name="Target"/> is the statement (dW, dB, dWh, …) and
/// <paramref name="Matrix"/> the signal it changes.</summary>
internal sealed record TargetUpdate(string Target, SignalRef Matrix, EquatableArray<ScaleTerm> Scales, EquatableArray<RowUpdate> Rows,
    EquatableArray<TriangularUpdate> Triangles = default, EquatableArray<ElementwiseUpdate> Elementwise = default)
{
    /// <summary>The matrices the elementwise terms read: their rows are copied before the pass when the pass changes them.</summary>
    public IEnumerable<SignalRef> ElementwiseReads => Elementwise.SelectMany(x => x.Factors.Select(f => f.Matrix));

    /// <summary>The terms c·diag(a)·M that scale the target's own rows: a row's keep factor is 1 + their sum.</summary>
    public IEnumerable<ScaleTerm> OwnScales => Scales.Where(x => x.Matrix == Matrix && x.ColumnScale is null);

    /// <summary>Matrices a term reads whole (scaled by columns, or another matrix): their rows are copied before the
    /// pass when the pass changes them.</summary>
    public IEnumerable<SignalRef> WholeMatrixReads => Scales.Where(x => x.ColumnScale is not null || x.Matrix != Matrix).Select(x => x.Matrix);
}

/// <summary>The update of a state after the passes over the weights, from values computed before them: a column state
/// adds the vector <paramref name="Column"/>, a scalar state the sum of <paramref name="Scalar"/>. Every entry starts at
/// <paramref name="Initial"/>.</summary>
internal sealed record StateUpdate(StateRef State, double Initial, VectorRef? Column, EquatableArray<ScalarFactor> Scalar);

/// <summary>What an adjoint kernel adds, after its passes, from values computed before them: v̄ += <paramref name="Column"/>
/// for the vector signal <paramref name="Signal"/>, or θ̄_k += Σ <paramref name="Scalar"/> for the coefficient with θ
/// index <paramref name="Coefficient"/>.</summary>
internal sealed record AdjointOutput(SignalRef? Signal, VectorRef? Column, int Coefficient, EquatableArray<ScalarFactor> Scalar);

/// <summary>A <c>param</c>: θ[Index] named <see cref="Name"/>, <see cref="Default"/> unless given.</summary>
internal sealed record ParameterSpec(string Name, int Index, double Default);

/// <summary>
/// A rule's algebra, lowered: the steps that compute its vectors and scalars once each, and the updates of its
/// target matrices in terms of them. It names nothing in C#; <see cref="Layout.KernelLayout"/> places it in memory.
/// </summary>
internal sealed record KernelPlan(
    EquatableArray<CoefficientRef> Coefficients,
    EquatableArray<Step> Steps,
    EquatableArray<TargetUpdate> Targets,
    bool Recurrent,
    EquatableArray<StateUpdate> States = default,
    EquatableArray<AdjointOutput> Outputs = default)
{
    /// <summary>Every signal the steps and updates read or update, vectors and matrices, in enum order.</summary>
    public IEnumerable<SignalRef> Signals =>
        Steps.SelectMany(s => s.Operation.Operands)
            .Concat(Targets.SelectMany(t => t.Rows.SelectMany(r => r.Terms.Select(x => x.Column).Append(r.RowVector))
                .Concat(t.Scales.SelectMany(x => new[] { x.RowScale, x.Matrix, x.ColumnScale }))
                .Concat(t.Triangles.SelectMany(x => x.Terms.Select(r => r.Column).Append(x.Weights).Append(x.Matrix)))
                .Concat(t.Elementwise.SelectMany(x => x.Factors.Select(f => (VectorRef?)f.Matrix).Concat(x.Terms.Select(r => r.Column)).Append(x.ColumnScale)))
                .Append(t.Matrix)))
            .Concat(States.Select(s => s.Column))
            .Concat(Outputs.Select(o => o.Column))
            .OfType<SignalRef>().Distinct().OrderBy(s => s.Signal).ThenBy(s => s.Tangent).ThenBy(s => s.Adjoint);
}

/// <summary>The tangent kernel of a rule (forward-mode derivative of its update, for meta-learning): a plan over the
/// signals and their tangents that updates Ẇ (and Ḃ) in place, and its layout.</summary>
internal sealed record TangentKernel(KernelPlan Plan, Layout.KernelLayout Layout);

/// <summary>The adjoint kernel of a rule (reverse-mode derivative of its update, for meta-learning): a plan over the
/// signals and the adjoint buffers W̄ (and B̄), read as the cotangent Ū and updated in place, that adds the vector-Jacobian
/// product to W̄, B̄, the signals' adjoints and θ̄ (<see cref="AdjointOutput"/>), and its layout.</summary>
internal sealed record AdjointKernel(KernelPlan Plan, Layout.KernelLayout Layout);

/// <summary>
/// A rule compiled to its kernel: the plan (what to compute) and its layout (where, in which passes, at what cost),
/// its tangent kernel, or why it has none, and its adjoint kernel, or why it has none. Everything the printer prints, nothing it must decide. Position-free
/// and equatable, so the incremental generator re-emits only when the algebra changes.
/// </summary>
internal sealed record KernelModel(
    string RuleName,
    string ClassName,
    string Source,
    EquatableArray<ParameterSpec> Parameters,
    KernelPlan Plan,
    Layout.KernelLayout Layout,
    TangentKernel? Tangent = null,
    string? NotDifferentiable = null,
    AdjointKernel? Adjoint = null,
    string? NoAdjoint = null);
