using PlasticityDsl.Language.Binding;

namespace PlasticityDsl.Language.Lowering;

/// <summary>A vector the kernel reads or computes: a layer signal, or W (or Wᵀ) times another vector.
/// Structural equality is what common-subexpression elimination keys on.</summary>
public abstract record VectorValue
{
    public abstract Dimension Length { get; }
}

public sealed record SignalVector(Signal Signal) : VectorValue
{
    public override Dimension Length => Signals.ShapeOf(Signal).Rows;

    public override string ToString() => Signals.Spelling(Signal);
}

/// <summary>W·x (length n_l) or Wᵀ·x (length n_(l-1)): one streaming pass over W.</summary>
public sealed record WeightTimesVector(bool Transposed, VectorValue Operand) : VectorValue
{
    public override Dimension Length => Transposed ? Dimension.Pre : Dimension.Post;

    public override string ToString() => (Transposed ? "W'*" : "W*") + (Operand is SignalVector ? Operand.ToString() : "(" + Operand + ")");
}

/// <summary>The inner product aᵀb.</summary>
public sealed record DotProduct(VectorValue Left, VectorValue Right)
{
    public override string ToString() => $"{Operand(Left)}'*{Right}";

    private static string Operand(VectorValue v) => v is SignalVector ? v.ToString() : "(" + v + ")";
}

/// <summary>constant · Π t_k · Π s_j: the scalar factor of one term.</summary>
public sealed record ScalarFactor(double Constant, EquatableArray<int> Coefficients, EquatableArray<int> Dots);

/// <summary>Emission plan, step 1: v_Index = W·Operand or Wᵀ·Operand into scratch.</summary>
public sealed record VectorStep(int Index, bool Transposed, string Operand, string Description);

/// <summary>Emission plan, step 2: s_Index = Left · Right.</summary>
public sealed record DotStep(int Index, string Left, string Right, Dimension Length, string Description);

/// <summary>One term of a row coefficient: Factor · Column[i] (Column null: the factor alone).</summary>
public sealed record RowTerm(ScalarFactor Factor, string? Column);

/// <summary>Emission plan, step 3: for each row i, row_i += (Σ terms evaluated at i) · RowVector.</summary>
public sealed record RowUpdate(string RowVector, EquatableArray<RowTerm> Terms);

/// <summary>
/// A rule lowered to its kernel: everything the emitter prints, nothing it must decide. Position-free and
/// equatable, so the incremental generator re-emits only when the algebra changes.
/// </summary>
public sealed record KernelModel(
    string RuleName,
    string ClassName,
    string Source,
    EquatableArray<int> Coefficients,
    bool ReadsPostError,
    bool ReadsPreError,
    EquatableArray<VectorStep> Vectors,
    EquatableArray<DotStep> Dots,
    EquatableArray<ScalarFactor> Decay,
    EquatableArray<RowUpdate> RowUpdates,
    string Cost)
{
    /// <summary>Scratch floats: one n_l or n_(l-1) vector per vector step.</summary>
    public int PostScratchVectors => Vectors.Count(v => !v.Transposed);

    public int PreScratchVectors => Vectors.Count(v => v.Transposed);
}
