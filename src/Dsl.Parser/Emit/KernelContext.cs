using PlasticityDsl.Language.Binding;
using PlasticityDsl.Language.Lowering;

namespace PlasticityDsl.Language.Emit;

/// <summary>An array of a recurrent network that signals are slices of (z, x, e of every step; y_T; e_o), or with
/// <paramref name="Tangent"/> of its tangents (ż, ẋ, ė, ẏ_T, ė_o): declared once and checked for its length.</summary>
internal sealed record ContextArray(string Local, string Property, string Length, string Spelling, bool Tangent = false);

/// <summary>
/// One row of a kernel's signal table: where a signal lives. A signal of its own <paramref name="Local"/> is declared
/// as <paramref name="Value"/>; a signal read from an <paramref name="Array"/> is the slice at
/// <paramref name="Offset"/> (at t, when <paramref name="PerTime"/>) and needs no local of its own when it is the whole
/// array. Matrices are writable (targets are updated in place); <paramref name="RowLocal"/> names a target's row.
/// <paramref name="Always"/>: declared and listed as read by every kernel of the context, used or not.
/// </summary>
internal sealed record SignalSource(SignalRef Signal, string Local, string? Value, ContextArray? Array = null, string? Offset = null, bool PerTime = false, string RowLocal = "row", bool Always = false)
{
    public bool IsMatrix => Signals.IsMatrix(Signal.Signal);
}

/// <summary>
/// What a kernel is applied to: a layer (<c>LayerSignals</c>) or a recurrent network (<c>RecurrentSignals</c>). The
/// printer reads every signal's C# spelling, every size's name and the argument the kernel takes from here.
/// </summary>
internal sealed class KernelContext
{
    private const string Runtime = "global::PlasticityDsl.Runtime";

    private KernelContext(string parameter, string signalsType, string tangentsType, IReadOnlyList<ContextArray> arrays, IReadOnlyList<SignalSource> signals)
    {
        Parameter = parameter;
        SignalsType = signalsType;
        TangentsType = tangentsType;
        Arrays = arrays;
        Signals = signals;
    }

    /// <summary>The name of the kernel's context argument: <c>layer</c> or <c>network</c>.</summary>
    public string Parameter { get; }

    public string SignalsType { get; }

    /// <summary>The type of the tangent kernel's <c>tangent</c> argument.</summary>
    public string TangentsType { get; }

    public IReadOnlyList<ContextArray> Arrays { get; }

    /// <summary>The signal table, in the order the kernel declares them and its doc comment lists them.</summary>
    public IReadOnlyList<SignalSource> Signals { get; }

    public SignalSource this[SignalRef signal] => Signals.First(s => s.Signal == signal);

    public static KernelContext Layer { get; } = new("layer", Runtime + ".LayerSignals", Runtime + ".LayerTangents", Array.Empty<ContextArray>(), new[]
    {
        new SignalSource(new SignalRef(Signal.Weights), "weights", "layer.Weights", Always: true),
        new SignalSource(new SignalRef(Signal.Feedback), "feedback", "layer.Feedback", RowLocal: "feedbackRow"),
        new SignalSource(new SignalRef(Signal.PostActivity), "post", "layer.Post"),
        new SignalSource(new SignalRef(Signal.PreActivity), "pre", "layer.Pre"),
        new SignalSource(new SignalRef(Signal.PostPotential), "potential", "layer.PreActivation"),
        new SignalSource(new SignalRef(Signal.PostError), "postError", "layer.PostError"),
        new SignalSource(new SignalRef(Signal.PreError), "preError", "layer.PreError"),
        new SignalSource(new SignalRef(Signal.Weights, Tangent: true), "weightsTangent", "tangent.Weights", RowLocal: "weightsTangentRow"),
        new SignalSource(new SignalRef(Signal.Feedback, Tangent: true), "feedbackTangent", "tangent.Feedback", RowLocal: "feedbackTangentRow"),
        new SignalSource(new SignalRef(Signal.PostActivity, Tangent: true), "postTangent", "tangent.Post"),
        new SignalSource(new SignalRef(Signal.PreActivity, Tangent: true), "preTangent", "tangent.Pre"),
        new SignalSource(new SignalRef(Signal.PostPotential, Tangent: true), "potentialTangent", "tangent.PreActivation"),
        new SignalSource(new SignalRef(Signal.PostError, Tangent: true), "postErrorTangent", "tangent.PostError"),
        new SignalSource(new SignalRef(Signal.PreError, Tangent: true), "preErrorTangent", "tangent.PreError"),
        // An adjoint kernel's buffers: W̄ and B̄ read as Ū and updated in place; the vector adjoints only added to.
        new SignalSource(new SignalRef(Signal.Weights, Adjoint: true), "weightsAdjoint", "adjoint.Weights", RowLocal: "weightsAdjointRow"),
        new SignalSource(new SignalRef(Signal.Feedback, Adjoint: true), "feedbackAdjoint", "adjoint.Feedback", RowLocal: "feedbackAdjointRow"),
        new SignalSource(new SignalRef(Signal.PostActivity, Adjoint: true), "postAdjoint", "adjoint.Post"),
        new SignalSource(new SignalRef(Signal.PreActivity, Adjoint: true), "preAdjoint", "adjoint.Pre"),
        new SignalSource(new SignalRef(Signal.PostPotential, Adjoint: true), "potentialAdjoint", "adjoint.PreActivation"),
        new SignalSource(new SignalRef(Signal.PostError, Adjoint: true), "postErrorAdjoint", "adjoint.PostError"),
        new SignalSource(new SignalRef(Signal.PreError, Adjoint: true), "preErrorAdjoint", "adjoint.PreError"),
    });

    private static readonly ContextArray HiddenStates = new("hiddenStates", "HiddenStates", "network.Steps * hidden", "z");
    private static readonly ContextArray InputSequence = new("inputSequence", "InputSequence", "network.Steps * inputs", "x");
    private static readonly ContextArray Errors = new("errors", "Errors", "network.Steps * hidden", "e");
    private static readonly ContextArray Output = new("output", "Output", "outputs", "y_T");
    private static readonly ContextArray OutputError = new("outputError", "OutputError", "outputs", "e_o");

    private static readonly ContextArray HiddenStatesTangent = new("hiddenStatesTangent", "HiddenStates", "network.Steps * hidden", "ż", Tangent: true);
    private static readonly ContextArray InputSequenceTangent = new("inputSequenceTangent", "InputSequence", "network.Steps * inputs", "ẋ", Tangent: true);
    private static readonly ContextArray ErrorsTangent = new("errorsTangent", "Errors", "network.Steps * hidden", "ė", Tangent: true);
    private static readonly ContextArray OutputTangent = new("outputTangent", "Output", "outputs", "ẏ_T", Tangent: true);
    private static readonly ContextArray OutputErrorTangent = new("outputErrorTangent", "OutputError", "outputs", "ė_o", Tangent: true);

    /// <summary>A recurrent network, and for the tangent kernel its tangents (<c>RecurrentTangents</c>), laid out alike.</summary>
    public static KernelContext Recurrent { get; } = new("network", Runtime + ".RecurrentSignals", Runtime + ".RecurrentTangents",
        new[] { HiddenStates, InputSequence, Errors, Output, OutputError, HiddenStatesTangent, InputSequenceTangent, ErrorsTangent, OutputTangent, OutputErrorTangent },
        new[]
        {
            new SignalSource(new SignalRef(Signal.RecurrentWeights), "recurrent", "network.RecurrentWeights"),
            new SignalSource(new SignalRef(Signal.InputWeights), "input", "network.InputWeights"),
            new SignalSource(new SignalRef(Signal.ReadoutWeights), "readout", "network.ReadoutWeights"),
            new SignalSource(new SignalRef(Signal.HiddenNow), "zNow", null, HiddenStates, "t * hidden", PerTime: true),
            new SignalSource(new SignalRef(Signal.HiddenNext), "zNext", null, HiddenStates, "(t + 1) * hidden", PerTime: true),
            new SignalSource(new SignalRef(Signal.ErrorNow), "eNow", null, Errors, "t * hidden", PerTime: true),
            new SignalSource(new SignalRef(Signal.ErrorNext), "eNext", null, Errors, "(t + 1) * hidden", PerTime: true),
            new SignalSource(new SignalRef(Signal.InputNow), "xNow", null, InputSequence, "t * inputs", PerTime: true),
            new SignalSource(new SignalRef(Signal.InputNext), "xNext", null, InputSequence, "(t + 1) * inputs", PerTime: true),
            new SignalSource(new SignalRef(Signal.HiddenLast), "zLast", null, HiddenStates, "transitions * hidden"),
            new SignalSource(new SignalRef(Signal.ErrorLast), "eLast", null, Errors, "transitions * hidden"),
            new SignalSource(new SignalRef(Signal.Output), "output", null, Output, "0"),
            new SignalSource(new SignalRef(Signal.OutputError), "outputError", null, OutputError, "0"),
            new SignalSource(new SignalRef(Signal.RecurrentWeights, Tangent: true), "recurrentTangent", "tangent.RecurrentWeights"),
            new SignalSource(new SignalRef(Signal.InputWeights, Tangent: true), "inputTangent", "tangent.InputWeights"),
            new SignalSource(new SignalRef(Signal.ReadoutWeights, Tangent: true), "readoutTangent", "tangent.ReadoutWeights"),
            new SignalSource(new SignalRef(Signal.HiddenNow, Tangent: true), "zNowTangent", null, HiddenStatesTangent, "t * hidden", PerTime: true),
            new SignalSource(new SignalRef(Signal.HiddenNext, Tangent: true), "zNextTangent", null, HiddenStatesTangent, "(t + 1) * hidden", PerTime: true),
            new SignalSource(new SignalRef(Signal.ErrorNow, Tangent: true), "eNowTangent", null, ErrorsTangent, "t * hidden", PerTime: true),
            new SignalSource(new SignalRef(Signal.ErrorNext, Tangent: true), "eNextTangent", null, ErrorsTangent, "(t + 1) * hidden", PerTime: true),
            new SignalSource(new SignalRef(Signal.InputNow, Tangent: true), "xNowTangent", null, InputSequenceTangent, "t * inputs", PerTime: true),
            new SignalSource(new SignalRef(Signal.InputNext, Tangent: true), "xNextTangent", null, InputSequenceTangent, "(t + 1) * inputs", PerTime: true),
            new SignalSource(new SignalRef(Signal.HiddenLast, Tangent: true), "zLastTangent", null, HiddenStatesTangent, "transitions * hidden"),
            new SignalSource(new SignalRef(Signal.ErrorLast, Tangent: true), "eLastTangent", null, ErrorsTangent, "transitions * hidden"),
            new SignalSource(new SignalRef(Signal.Output, Tangent: true), "outputTangent", null, OutputTangent, "0"),
            new SignalSource(new SignalRef(Signal.OutputError, Tangent: true), "outputErrorTangent", null, OutputErrorTangent, "0"),
        });

    /// <summary>A dimension's size as the C# local that holds it in the kernel.</summary>
    public static string Size(Dimension d) => d switch
    {
        Dimension.Hidden => "hidden",
        Dimension.Input => "inputs",
        Dimension.Output => "outputs",
        Dimension.Post => "rows",
        Dimension.Pre => "columns",
        _ => "1",
    };

    /// <summary>The length of a scratch slice as a C# expression: T−1 of them when <paramref name="perTime"/>.</summary>
    public static string Length(Dimension length, bool perTime) =>
        !perTime ? Size(length) : length == Dimension.One ? "transitions" : "transitions * " + Size(length);

    /// <summary>The slice of its array a signal is, at t when it is per-t.</summary>
    public static string Slice(SignalSource source) => $"{source.Array!.Local}.Slice({source.Offset}, {Size(source.Signal.Shape.Rows)})";
}
