using PlasticityDsl.Language.Binding;

namespace PlasticityDsl.Language.Lowering;

// The values lowering computes with, before they are numbered into steps. Structural equality is what
// common-subexpression elimination keys on: equal values are computed once. ToString spells a value in the
// rule's terms, for the kernel's comments and a deterministic order.

/// <summary>A vector the kernel reads or computes.</summary>
internal abstract record VectorValue
{
    public abstract Dimension Length { get; }

    /// <summary>As a factor in a description: parenthesized unless it is a single symbol.</summary>
    public string AsFactor => this is SignalVector or OnesVector or StateVector ? ToString() : "(" + this + ")";
}

/// <summary>A signal read as it is.</summary>
internal sealed record SignalVector(SignalRef Signal) : VectorValue
{
    public override Dimension Length => Signal.Shape.Rows;

    public override string ToString() => Signal.ToString();
}

/// <summary>A column state read as it is.</summary>
internal sealed record StateVector(StateRef State) : VectorValue
{
    public override Dimension Length => State.Length;

    public override string ToString() => State.ToString();
}

/// <summary>A vector of ones: what broadcasting multiplies by.</summary>
internal sealed record OnesVector(Dimension Dimension) : VectorValue
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

/// <summary>M·x or Mᵀ·x: one streaming pass over M.</summary>
internal sealed record MatrixTimesVector(SignalRef Matrix, bool Transposed, VectorValue Operand) : VectorValue
{
    public override Dimension Length => Transposed ? Matrix.Shape.Columns : Matrix.Shape.Rows;

    public override string ToString() => Matrix + (Transposed ? "'*" : "*") + Operand.AsFactor;
}

/// <summary>(⊙ F_k)·x, or (⊙ F_k)ᵀ·x when <paramref name="Transposed"/>: a product of weights read elementwise times a
/// vector, one pass over the matrices (an adjoint's (Ū .* W)·1 for ⟨Ū, diag(a)·W⟩).</summary>
internal sealed record ElementwiseTimesVector(EquatableArray<MatrixFactor> Factors, bool Transposed, VectorValue Operand) : VectorValue
{
    public override Dimension Length => Transposed ? Factors[0].Matrix.Shape.Columns : Factors[0].Matrix.Shape.Rows;

    public override string ToString() => "(" + string.Join(" .* ", Factors) + ")" + (Transposed ? "'*" : "*") + Operand.AsFactor;
}

/// <summary>a ⊙ b.</summary>
internal sealed record HadamardVector(VectorValue Left, VectorValue Right) : VectorValue
{
    public override Dimension Length => Left.Length;

    public override string ToString() => Left.AsFactor + " .* " + Right.AsFactor;
}

/// <summary>f(v), elementwise.</summary>
internal sealed record MappedVector(ElementFunction Function, VectorValue Operand) : VectorValue
{
    public override Dimension Length => Operand.Length;

    public override string ToString() => Functions.Spelling(Function) + "(" + Operand + ")";
}

/// <summary>Σ factor_k · v_k: a sum of vectors that a function or reduction is applied to, or that row groups with
/// proportional coefficients add together.</summary>
internal sealed record CombinedVector(EquatableArray<ScaledVector> Terms) : VectorValue
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

internal sealed record ScaledVector(ScalarProduct Factor, VectorValue Vector);

/// <summary>A scalar the kernel computes once per update.</summary>
internal abstract record ScalarValue;

/// <summary>A scalar state read as it is.</summary>
internal sealed record StateScalar(StateRef State) : ScalarValue
{
    public override string ToString() => State.ToString();
}

/// <summary>aᵀb.</summary>
internal sealed record DotScalar(VectorValue Left, VectorValue Right) : ScalarValue
{
    public override string ToString() => $"{Left.AsFactor}'*{Right}";
}

/// <summary>sum(v) or norm2(v).</summary>
internal sealed record ReducedScalar(Reduction Reduction, VectorValue Operand) : ScalarValue
{
    public override string ToString() => Functions.Spelling(Reduction) + "(" + Operand + ")";
}

/// <summary>f(Σ products), for a scalar argument.</summary>
internal sealed record MappedScalar(ElementFunction Function, EquatableArray<ScalarProduct> Argument) : ScalarValue
{
    public override string ToString() => Functions.Spelling(Function) + "(" + string.Join(" + ", Argument) + ")";
}

/// <summary>Σ over t = 1…T−1 of a product of per-t scalars (T−1 for the empty product): the factor of a term of
/// <c>sum_t</c> whose vectors do not depend on t.</summary>
internal sealed record TimeSummedScalar(ScalarProduct Summand) : ScalarValue
{
    public override string ToString() => "sum_t(" + Summand + ")";
}

/// <summary>constant · Π t_k · Π scalars.</summary>
internal sealed record ScalarProduct(double Constant, EquatableArray<CoefficientRef> Coefficients, EquatableArray<ScalarValue> Factors)
{
    public override string ToString() =>
        string.Join("*", new[] { Constant.ToString("R", System.Globalization.CultureInfo.InvariantCulture) }
            .Concat(Coefficients.Select(k => k.ToString())).Concat(Factors.Select(f => "(" + f + ")")));
}

/// <summary>Whether a value depends on the time step t of a recurrent rule; a sum over t does not.</summary>
internal static class TimeDependence
{
    public static bool Timed(VectorValue? v) => v switch
    {
        SignalVector s => Signals.IsTimeIndexed(s.Signal.Signal),
        MatrixTimesVector m => Timed(m.Operand),
        ElementwiseTimesVector m => Timed(m.Operand),
        HadamardVector h => Timed(h.Left) || Timed(h.Right),
        MappedVector f => Timed(f.Operand),
        CombinedVector c => c.Terms.Any(t => Timed(t.Vector) || t.Factor.Factors.Any(Timed)),
        _ => false,
    };

    public static bool Timed(ScalarValue s) => s switch
    {
        DotScalar d => Timed(d.Left) || Timed(d.Right),
        ReducedScalar r => Timed(r.Operand),
        MappedScalar m => m.Argument.Any(a => a.Factors.Any(Timed)),
        _ => false,
    };
}
