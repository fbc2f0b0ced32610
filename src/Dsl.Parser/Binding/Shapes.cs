namespace PlasticityDsl.Language.Binding;

/// <summary>A symbolic matrix dimension of layer l: n_l, n_(l-1), or 1.</summary>
public enum Dimension
{
    One,
    Post,
    Pre,
}

/// <summary>A symbolic shape [rows × columns]; printed in the user's terms, e.g. <c>[n_l × n_&lt;l-1&gt;]</c>.</summary>
public sealed record Shape(Dimension Rows, Dimension Columns)
{
    public static Shape Scalar { get; } = new(Dimension.One, Dimension.One);

    public static Shape Weights { get; } = new(Dimension.Post, Dimension.Pre);

    public bool IsScalar => Rows == Dimension.One && Columns == Dimension.One;

    public Shape Transposed => new(Columns, Rows);

    public static string Name(Dimension d) => d switch
    {
        Dimension.Post => "n_l",
        Dimension.Pre => "n_<l-1>",
        _ => "1",
    };

    public override string ToString() => $"[{Name(Rows)} × {Name(Columns)}]";
}

/// <summary>The layer-context signals a rule can read. W is the weight matrix itself, B the feedback
/// matrix (stored in W's shape; errors flow down as e_(l-1) = (Bᵀe_l) ⊙ σ').</summary>
public enum Signal
{
    Weights,
    Feedback,
    PostActivity,
    PreActivity,
    PostPotential,
    PostError,
    PreError,
}

public static class Signals
{
    /// <summary>Symbols as the user writes them, in the order the docs list them.</summary>
    public static IReadOnlyList<(string Spelling, Signal Signal)> All { get; } = new[]
    {
        ("W", Signal.Weights),
        ("B", Signal.Feedback),
        ("y_l", Signal.PostActivity),
        ("y_<l-1>", Signal.PreActivity),
        ("z_l", Signal.PostPotential),
        ("e_l", Signal.PostError),
        ("e_<l-1>", Signal.PreError),
    };

    public static string Spelling(Signal signal) => All.First(s => s.Signal == signal).Spelling;

    public static Shape ShapeOf(Signal signal) => signal switch
    {
        Signal.Weights or Signal.Feedback => Shape.Weights,
        Signal.PreActivity or Signal.PreError => new Shape(Dimension.Pre, Dimension.One),
        _ => new Shape(Dimension.Post, Dimension.One),
    };
}

/// <summary>Elementwise functions of vectors and scalars. f and df are the network's activation and its derivative.</summary>
public enum ElementFunction
{
    Activation,
    ActivationDerivative,
    Exp,
    Log,
    Tanh,
    Sigmoid,
    Relu,
    Abs,
    Sign,
    Square,
    Sqrt,
}

/// <summary>Reductions of a vector to a scalar.</summary>
public enum Reduction
{
    /// <summary>Σ_i v_i.</summary>
    Sum,
    /// <summary>‖v‖₂ = sqrt(Σ_i v_i²).</summary>
    Norm2,
}

public static class Functions
{
    public static IReadOnlyList<(string Spelling, ElementFunction Function)> Elementwise { get; } = new[]
    {
        ("f", ElementFunction.Activation),
        ("df", ElementFunction.ActivationDerivative),
        ("exp", ElementFunction.Exp),
        ("log", ElementFunction.Log),
        ("tanh", ElementFunction.Tanh),
        ("sigmoid", ElementFunction.Sigmoid),
        ("relu", ElementFunction.Relu),
        ("abs", ElementFunction.Abs),
        ("sign", ElementFunction.Sign),
        ("sq", ElementFunction.Square),
        ("sqrt", ElementFunction.Sqrt),
    };

    public static IReadOnlyList<(string Spelling, Reduction Reduction)> Reductions { get; } = new[]
    {
        ("sum", Reduction.Sum),
        ("norm2", Reduction.Norm2),
    };

    public static string Spelling(ElementFunction f) => Elementwise.First(x => x.Function == f).Spelling;

    public static string Spelling(Reduction r) => Reductions.First(x => x.Reduction == r).Spelling;
}
