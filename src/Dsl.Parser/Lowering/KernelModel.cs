using PlasticityDsl.Language.Binding;

namespace PlasticityDsl.Language.Lowering;

/// <summary>A vector the kernel reads or computes. Structural equality is what common-subexpression
/// elimination keys on: equal values are computed once.</summary>
public abstract record VectorValue
{
    public abstract Dimension Length { get; }

    /// <summary>As a factor in a description: parenthesized unless it is a single symbol.</summary>
    internal string AsFactor => this is SignalVector or OnesVector ? ToString() : "(" + this + ")";
}

/// <summary>A layer signal: y_l, y_(l-1), z_l, e_l or e_(l-1).</summary>
public sealed record SignalVector(Signal Signal) : VectorValue
{
    public override Dimension Length => Signals.ShapeOf(Signal).Rows;

    public override string ToString() => Signals.Spelling(Signal);
}

/// <summary>A vector of ones: what broadcasting multiplies by.</summary>
public sealed record OnesVector(Dimension Dimension) : VectorValue
{
    public override Dimension Length => Dimension;

    public override string ToString() => Dimension switch
    {
        Dimension.Post => "ones_l",
        Dimension.Pre => "ones_<l-1>",
        Dimension.Hidden => "ones_h",
        Dimension.Input => "ones_x",
        _ => "ones_o",
    };
}

/// <summary>M·x (length n_l) or Mᵀ·x (length n_(l-1)) for M = W or B: one streaming pass over M.</summary>
public sealed record MatrixTimesVector(Signal Matrix, bool Transposed, VectorValue Operand) : VectorValue
{
    public override Dimension Length => Transposed ? Signals.ShapeOf(Matrix).Columns : Signals.ShapeOf(Matrix).Rows;

    public override string ToString() => Signals.Spelling(Matrix) + (Transposed ? "'*" : "*") + Operand.AsFactor;
}

/// <summary>a ⊙ b.</summary>
public sealed record HadamardVector(VectorValue Left, VectorValue Right) : VectorValue
{
    public override Dimension Length => Left.Length;

    public override string ToString() => Left.AsFactor + " .* " + Right.AsFactor;
}

/// <summary>f(v), elementwise.</summary>
public sealed record MappedVector(ElementFunction Function, VectorValue Operand) : VectorValue
{
    public override Dimension Length => Operand.Length;

    public override string ToString() => Functions.Spelling(Function) + "(" + Operand + ")";
}

/// <summary>Σ factor_k · v_k: a sum of vectors that a function or reduction is applied to, or that row groups with
/// proportional coefficients add together.</summary>
public sealed record CombinedVector(EquatableArray<ScaledVector> Terms) : VectorValue
{
    public override Dimension Length => Terms[0].Vector.Length;

    /// <summary>Σ factor·v with signs between the terms and unit constants left out: <c>y_&lt;l-1&gt; - (W'*y_l)</c>,
    /// <c>y_&lt;l-1&gt; - t11*ones_&lt;l-1&gt;</c>.</summary>
    public override string ToString()
    {
        var text = new System.Text.StringBuilder();
        foreach (ScaledVector term in Terms)
        {
            bool minus = term.Factor.Constant < 0;
            text.Append(text.Length == 0 ? (minus ? "-" : "") : minus ? " - " : " + ")
                .Append(Prefix(term.Factor with { Constant = Math.Abs(term.Factor.Constant) })).Append(term.Vector.AsFactor);
        }

        return text.ToString();
    }

    /// <summary>A positive factor before its vector: <c>0.5*t1*</c>, <c>t1*</c> (1*t1), nothing for 1.</summary>
    private static string Prefix(ScalarProduct factor)
    {
        string text = factor.ToString();
        if (factor.Constant != 1) return text + "*";
        return text == "1" ? "" : text.Substring("1*".Length) + "*";
    }
}

public sealed record ScaledVector(ScalarProduct Factor, VectorValue Vector);

/// <summary>A scalar the kernel computes once per update.</summary>
public abstract record ScalarValue;

/// <summary>aᵀb.</summary>
public sealed record DotScalar(VectorValue Left, VectorValue Right) : ScalarValue
{
    public override string ToString() => $"{Left.AsFactor}'*{Right}";
}

/// <summary>sum(v) or norm2(v).</summary>
public sealed record ReducedScalar(Reduction Reduction, VectorValue Operand) : ScalarValue
{
    public override string ToString() => Functions.Spelling(Reduction) + "(" + Operand + ")";
}

/// <summary>f(Σ products), for a scalar argument.</summary>
public sealed record MappedScalar(ElementFunction Function, EquatableArray<ScalarProduct> Argument) : ScalarValue
{
    public override string ToString() => Functions.Spelling(Function) + "(" + string.Join(" + ", Argument) + ")";
}

/// <summary>Σ over t = 1…T−1 of a product of per-t scalars (T−1 for the empty product): the factor of a term of
/// <c>sum_t</c> whose vectors do not depend on t.</summary>
public sealed record TimeSummedScalar(ScalarProduct Summand) : ScalarValue
{
    public override string ToString() => "sum_t(" + Summand + ")";
}

/// <summary>constant · Π t_k · Π scalars.</summary>
public sealed record ScalarProduct(double Constant, EquatableArray<int> Coefficients, EquatableArray<ScalarValue> Factors)
{
    public override string ToString() =>
        string.Join("*", new[] { Constant.ToString("R", System.Globalization.CultureInfo.InvariantCulture) }
            .Concat(Coefficients.Select(k => "t" + k)).Concat(Factors.Select(f => "(" + f + ")")));
}

/// <summary>constant · Π t_k · Π s_j, where s_j are the kernel's scalar steps: the scalar factor of one term.</summary>
public sealed record ScalarFactor(double Constant, EquatableArray<int> Coefficients, EquatableArray<int> Dots);

public enum StepKind
{
    /// <summary>v = M·x or Mᵀ·x.</summary>
    MultiplyMatrix,
    /// <summary>v = a ⊙ b.</summary>
    Hadamard,
    /// <summary>v = f(x).</summary>
    Map,
    /// <summary>v = Σ factor_k · x_k.</summary>
    Combine,
    /// <summary>v = 1.</summary>
    Ones,
    /// <summary>s = aᵀb.</summary>
    Dot,
    /// <summary>s = sum(x) or norm2(x).</summary>
    Reduce,
    /// <summary>s = f(Σ factors).</summary>
    MapScalar,
    /// <summary>s = Σ_t (Π factors at t), accumulated over the time steps of a recurrent rule.</summary>
    TimeSum,
}

/// <summary>
/// One computation before the pass over the weights, in dependency order. Vector steps write <c>v{Index}</c>
/// (of <see cref="Length"/>) into scratch; scalar steps define <c>s{Index}</c>. <see cref="Operation"/> names
/// the matrix (weights, feedback), function or reduction.
/// </summary>
/// <remarks>In a recurrent rule, a step with <see cref="PerTime"/> is computed for every t = 1…T−1 (vectors into
/// T−1 rows of scratch, scalars into T−1 floats), from the pre-update weights; a <see cref="StepKind.TimeSum"/>
/// step is accumulated over t.</remarks>
public sealed record Step(StepKind Kind, int Index, Dimension Length, string Operation, bool Transposed,
    EquatableArray<string> Operands, EquatableArray<ScalarFactor> Factors, string Description, bool PerTime = false)
{
    public bool IsScalar => Kind is StepKind.Dot or StepKind.Reduce or StepKind.MapScalar or StepKind.TimeSum;

    public string Name => (IsScalar ? "s" : "v") + Index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>One term of a row coefficient: Factor · Column[i] (Column null: the factor alone).</summary>
public sealed record RowTerm(ScalarFactor Factor, string? Column);

/// <summary>For each row i: row_i += (Σ terms evaluated at i) · RowVector; with <see cref="PerTime"/>, for each t
/// as well (recurrent rules), the vectors and scalars taken at t.</summary>
public sealed record RowUpdate(string RowVector, EquatableArray<RowTerm> Terms, bool PerTime = false);

/// <summary>Factor · diag(RowScale) · Matrix · diag(ColumnScale): a term that reads a whole matrix (decay is
/// the plainest: c·W). Null scales are the identity.</summary>
public sealed record ScaleTerm(ScalarFactor Factor, string? RowScale, string Matrix, string? ColumnScale);

/// <summary>The update of one matrix (weights for dW, feedback for dB) in the fused pass.</summary>
public sealed record TargetUpdate(string Target, string Matrix, EquatableArray<ScaleTerm> Scales, EquatableArray<RowUpdate> Rows);

/// <summary>A <c>param</c>: θ[Index] named <see cref="Name"/>, <see cref="Default"/> unless given.</summary>
public sealed record ParameterSpec(string Name, int Index, double Default);

/// <summary>
/// A rule lowered to its kernel: everything the emitter prints, nothing it must decide. Position-free and
/// equatable, so the incremental generator re-emits only when the algebra changes.
/// </summary>
public sealed record KernelModel(
    string RuleName,
    string ClassName,
    string Source,
    EquatableArray<int> Coefficients,
    EquatableArray<ParameterSpec> Parameters,
    bool ReadsPostError,
    bool ReadsPreError,
    bool ReadsFeedback,
    EquatableArray<Step> Steps,
    EquatableArray<TargetUpdate> Targets,
    string Cost,
    bool Recurrent = false)
{
    public bool UpdatesFeedback => Targets.Any(t => t.Matrix == "feedback");

    /// <summary>Vector steps of each length, for the scratch size.</summary>
    public int PostScratchVectors => Steps.Count(s => !s.IsScalar && s.Length == Dimension.Post);

    public int PreScratchVectors => Steps.Count(s => !s.IsScalar && s.Length == Dimension.Pre)
        + OldRowCopies.Count;

    /// <summary>Matrices whose rows are copied before the pass changes them, because a term reads them whole.</summary>
    public IReadOnlyList<string> OldRowCopies =>
        Targets.SelectMany(t => t.Scales.Where(s => s.ColumnScale is not null || s.Matrix != t.Matrix).Select(s => s.Matrix))
            .Distinct().OrderBy(m => m, StringComparer.Ordinal).ToList();
}
