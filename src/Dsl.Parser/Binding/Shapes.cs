namespace PlasticityDsl.Language.Binding;

/// <summary>A symbolic matrix dimension: n_l, n_(l-1) of layer l, n_h, n_x, n_o of a recurrent network
/// (docs/recurrent.md), or 1.</summary>
internal enum Dimension
{
    One,
    Post,
    Pre,
    /// <summary>n_h, the hidden units of a recurrent network.</summary>
    Hidden,
    /// <summary>n_x, the inputs of a recurrent network.</summary>
    Input,
    /// <summary>n_o, the readout units of a recurrent network.</summary>
    Output,
}

/// <summary>A symbolic shape [rows × columns]; printed in the user's terms, e.g. <c>[n_l × n_&lt;l-1&gt;]</c>.</summary>
internal sealed record Shape(Dimension Rows, Dimension Columns)
{
    public static Shape Scalar { get; } = new(Dimension.One, Dimension.One);

    public static Shape Weights { get; } = new(Dimension.Post, Dimension.Pre);

    public bool IsScalar => Rows == Dimension.One && Columns == Dimension.One;

    public Shape Transposed => new(Columns, Rows);

    public static string Name(Dimension d) => d switch
    {
        Dimension.Post => "n_l",
        Dimension.Pre => "n_<l-1>",
        Dimension.Hidden => "n_h",
        Dimension.Input => "n_x",
        Dimension.Output => "n_o",
        _ => "1",
    };

    public override string ToString() => $"[{Name(Rows)} × {Name(Columns)}]";
}

/// <summary>The layer-context signals a rule can read. W is the weight matrix itself, B the feedback
/// matrix (stored in W's shape; errors flow down as e_(l-1) = (Bᵀe_l) ⊙ σ').</summary>
internal enum Signal
{
    Weights,
    Feedback,
    PostActivity,
    PreActivity,
    PostPotential,
    PostError,
    PreError,

    // The recurrent context (docs/recurrent.md).
    /// <summary>Wh [n_h × n_h].</summary>
    RecurrentWeights,
    /// <summary>Wx [n_h × n_x].</summary>
    InputWeights,
    /// <summary>Wo [n_o × n_h].</summary>
    ReadoutWeights,
    /// <summary>z_t, inside sum_t.</summary>
    HiddenNow,
    /// <summary>z_(t+1), inside sum_t.</summary>
    HiddenNext,
    /// <summary>e_t = ∂L/∂z_t, inside sum_t.</summary>
    ErrorNow,
    /// <summary>e_(t+1), inside sum_t.</summary>
    ErrorNext,
    /// <summary>x_t, inside sum_t.</summary>
    InputNow,
    /// <summary>x_(t+1), inside sum_t.</summary>
    InputNext,
    /// <summary>y_t = f(z_t), inside sum_t.</summary>
    ActivityNow,
    /// <summary>z_T, the last hidden state.</summary>
    HiddenLast,
    /// <summary>e_T = ∂L/∂z_T.</summary>
    ErrorLast,
    /// <summary>y_T = Wo f(z_T), the readout.</summary>
    Output,
    /// <summary>e_o = ∂L/∂y_T.</summary>
    OutputError,
}

internal static class Signals
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

    /// <summary>The symbols of recurrent rules (those that update dWh, dWx or dWo), in the order docs/recurrent.md lists them.</summary>
    public static IReadOnlyList<(string Spelling, Signal Signal)> Recurrent { get; } = new[]
    {
        ("Wh", Signal.RecurrentWeights),
        ("Wx", Signal.InputWeights),
        ("Wo", Signal.ReadoutWeights),
        ("z_t", Signal.HiddenNow),
        ("z_<t+1>", Signal.HiddenNext),
        ("e_t", Signal.ErrorNow),
        ("e_<t+1>", Signal.ErrorNext),
        ("x_t", Signal.InputNow),
        ("x_<t+1>", Signal.InputNext),
        ("y_t", Signal.ActivityNow),
        ("z_T", Signal.HiddenLast),
        ("e_T", Signal.ErrorLast),
        ("y_T", Signal.Output),
        ("e_o", Signal.OutputError),
    };

    public static string Spelling(Signal signal) => All.Concat(Recurrent).First(s => s.Signal == signal).Spelling;

    /// <summary>W, B, Wh, Wx or Wo.</summary>
    public static bool IsMatrix(Signal signal) => signal is Signal.Weights or Signal.Feedback or Signal.RecurrentWeights or Signal.InputWeights or Signal.ReadoutWeights;

    /// <summary>A symbol with the index t, read only inside sum_t.</summary>
    public static bool IsTimeIndexed(Signal signal) => signal is >= Signal.HiddenNow and <= Signal.ActivityNow;

    public static Shape ShapeOf(Signal signal) => signal switch
    {
        Signal.Weights or Signal.Feedback => Shape.Weights,
        Signal.RecurrentWeights => new Shape(Dimension.Hidden, Dimension.Hidden),
        Signal.InputWeights => new Shape(Dimension.Hidden, Dimension.Input),
        Signal.ReadoutWeights => new Shape(Dimension.Output, Dimension.Hidden),
        Signal.InputNow or Signal.InputNext => new Shape(Dimension.Input, Dimension.One),
        Signal.Output or Signal.OutputError => new Shape(Dimension.Output, Dimension.One),
        Signal.HiddenNow or Signal.HiddenNext or Signal.ErrorNow or Signal.ErrorNext or Signal.ActivityNow or Signal.HiddenLast or Signal.ErrorLast
            => new Shape(Dimension.Hidden, Dimension.One),
        Signal.PreActivity or Signal.PreError => new Shape(Dimension.Pre, Dimension.One),
        _ => new Shape(Dimension.Post, Dimension.One),
    };
}

/// <summary>Elementwise functions of vectors and scalars. f and df are the network's activation and its derivative.</summary>
internal enum ElementFunction
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
internal enum Reduction
{
    /// <summary>Σ_i v_i.</summary>
    Sum,
    /// <summary>‖v‖₂ = sqrt(Σ_i v_i²).</summary>
    Norm2,
}

internal static class Functions
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
