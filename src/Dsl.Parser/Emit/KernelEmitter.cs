using System.Globalization;
using System.Linq;
using System.Text;
using PlasticityDsl.Language;
using PlasticityDsl.Language.Binding;
using PlasticityDsl.Language.Lowering;

namespace PlasticityDsl.Language.Emit;

/// <summary>Prints a <see cref="KernelModel"/> as C#. Decides nothing: the lowering did. Deterministic and
/// culture-invariant; names in the output come only from the model, whose names the front end validated.</summary>
public static class KernelEmitter
{
    public const string Namespace = "PlasticityDsl.Rules";
    private const string Runtime = "global::PlasticityDsl.Runtime";
    private const string Primitives = Runtime + ".KernelPrimitives";
    private const string GeneratedCode = "[global::System.CodeDom.Compiler.GeneratedCode(\"PlasticityDsl.Generator\", \"1.0.0\")]";

    public static string HintName(KernelModel model) => model.ClassName + ".g.cs";

    public static string Emit(KernelModel model)
    {
        if (model.Recurrent) return EmitRecurrent(model);
        IndentedWriter w = OpenFile();
        w.Line("/// <summary>");
        w.Line($"/// Kernel of the plasticity rule <c>{Xml(model.RuleName)}</c>, applied in place to W of layer l:");
        w.Line("/// <code>");
        foreach (string line in model.Source.Split('\n')) w.Line("/// " + Xml(line));
        w.Line("/// </code>");
        w.Line("/// </summary>");
        w.Line("/// <remarks>");
        w.Line($"/// Cost per update: {Xml(model.Cost)} multiply-adds; W is streamed {Passes(model)}, never an n×n temporary.");
        w.Line($"/// Reads: {Xml(string.Join(", ", ReadSignals(model)))}.");
        w.Line("/// </remarks>");
        w.Line(GeneratedCode);
        w.Open($"public sealed partial class {model.ClassName} : {Runtime}.IPlasticityRule");
        EmitIdentity(w, model);
        w.Line($"public {Runtime}.RuleSignals Signals => {SignalFlags(model)};");
        w.Line();
        w.Line($"public int ScratchLength(int rows, int columns) => {ScratchFormula(model)};");
        w.Line();
        if (model.Parameters.Count > 0)
        {
            string parameters = string.Join(", ", model.Parameters.Select(p => $"new {Runtime}.RuleParameter({Literal(p.Name)}, {Int(p.Index)}, {FloatLiteral(p.Default)})"));
            w.Line($"public global::System.Collections.Generic.IReadOnlyList<{Runtime}.RuleParameter> Parameters {{ get; }} = new {Runtime}.RuleParameter[] {{ {parameters} }};");
            w.Line();
        }

        if (model.Steps.Any(x => x.Operation is nameof(ElementFunction.Activation) or nameof(ElementFunction.ActivationDerivative)))
        {
            w.Line($"private static {Runtime}.Activation Activation(in {Runtime}.LayerSignals layer) =>");
            w.Line("    layer.Activation ?? throw new global::System.ArgumentException(\"this rule applies f or df: the layer needs its activation.\", nameof(layer));");
            w.Line();
        }

        EmitApply(w, model);
        w.Close();
        w.Close();
        return w.ToString();
    }

    /// <summary>The list of all rules of a compilation, so that a program can look kernels up by name.</summary>
    public static string EmitRegistry(IEnumerable<KernelModel> rules)
    {
        IndentedWriter w = OpenFile();
        w.Line("/// <summary>Every rule compiled from this project's .rule files, ordered by name.</summary>");
        w.Line(GeneratedCode);
        w.Open("public static partial class GeneratedRules");
        w.Line($"public static global::System.Collections.Generic.IReadOnlyList<{Runtime}.IPlasticityRule> All {{ get; }} = new {Runtime}.IPlasticityRule[]");
        w.Line("{");
        foreach (KernelModel rule in rules.Where(r => !r.Recurrent).OrderBy(r => r.RuleName, StringComparer.Ordinal)) w.Line($"    {rule.ClassName}.Instance,");
        w.Line("};");
        w.Line();
        w.Line("/// <summary>The recurrent rules (those that update dWh, dWx or dWo), ordered by name.</summary>");
        w.Line($"public static global::System.Collections.Generic.IReadOnlyList<{Runtime}.IRecurrentRule> Recurrent {{ get; }} = new {Runtime}.IRecurrentRule[]");
        w.Line("{");
        foreach (KernelModel rule in rules.Where(r => r.Recurrent).OrderBy(r => r.RuleName, StringComparer.Ordinal)) w.Line($"    {rule.ClassName}.Instance,");
        w.Line("};");
        w.Close();
        w.Close();
        return w.ToString();
    }

    /// <summary>What every kernel class says about itself: its instance, name, source and coefficients.</summary>
    private static void EmitIdentity(IndentedWriter w, KernelModel model)
    {
        w.Line($"public static {model.ClassName} Instance {{ get; }} = new {model.ClassName}();");
        w.Line();
        w.Line($"public string Name => {Literal(model.RuleName)};");
        w.Line();
        w.Line($"public string Source => {Literal(model.Source)};");
        w.Line();
        w.Line($"public global::System.Collections.Generic.IReadOnlyList<int> Coefficients {{ get; }} = new int[] {{ {string.Join(", ", model.Coefficients.Select(Int))} }};");
        w.Line();
    }

    /// <summary>The header every generated file starts with, up to the opened namespace.</summary>
    private static IndentedWriter OpenFile()
    {
        var w = new IndentedWriter();
        w.Line("// <auto-generated/>");
        w.Line("#nullable enable");
        w.Line();
        w.Open("namespace " + Namespace);
        return w;
    }

    private static void EmitApply(IndentedWriter w, KernelModel model)
    {
        int thetaLength = 10 + model.Parameters.Count;
        w.Open($"public void Apply(in {Runtime}.LayerSignals layer, global::System.ReadOnlySpan<float> theta, global::System.Span<float> scratch)");
        w.Line($"if (theta.Length < {Int(thetaLength)}) throw new global::System.ArgumentException(\"theta must hold {(model.Parameters.Count == 0 ? "t0..t9" : "t0..t9 and the rule's parameters")}.\", nameof(theta));");
        w.Line("if (scratch.Length < ScratchLength(layer.Rows, layer.Columns)) throw new global::System.ArgumentException(\"scratch is too short; size it with ScratchLength.\", nameof(scratch));");
        if (model.ReadsFeedback) w.Line("if (layer.Feedback.Length != layer.Weights.Length) throw new global::System.ArgumentException(\"this rule reads or updates B: the layer needs feedback weights.\", nameof(layer));");
        w.Line("int rows = layer.Rows;");
        w.Line("int columns = layer.Columns;");
        w.Line("global::System.Span<float> weights = layer.Weights;");
        if (model.ReadsFeedback) w.Line("global::System.Span<float> feedback = layer.Feedback;");
        foreach ((string local, string property) in SignalLocals(model)) w.Line($"global::System.ReadOnlySpan<float> {local} = layer.{property};");
        foreach (int k in model.Coefficients) w.Line($"float t{Int(k)} = theta[{Int(k)}];");

        var offsets = new List<string>();
        Func<string, string> slice = length =>
        {
            string start = offsets.Count == 0 ? "0" : string.Join(" + ", offsets);
            offsets.Add(length);
            return $"scratch.Slice({start}, {length})";
        };
        foreach (Step step in model.Steps)
        {
            w.Line();
            w.Line($"// {step.Name} = {step.Description}");
            if (step.IsScalar)
            {
                w.Line($"float {step.Name} = {ScalarStep(step)};");
                continue;
            }

            w.Line($"global::System.Span<float> {step.Name} = {slice(step.Length == Dimension.Post ? "rows" : "columns")};");
            foreach (string line in VectorStep(step)) w.Line(line);
        }

        foreach (string matrix in model.OldRowCopies) w.Line($"global::System.Span<float> {OldRow(matrix)} = {slice("columns")};");

        w.Line();
        var keeps = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (TargetUpdate target in model.Targets) keeps[target.Matrix] = HoistKeep(w, target);
        w.Line($"// One pass over {string.Join(" and ", model.Targets.Select(t => t.Matrix == "weights" ? "W" : "B"))}: each row gets all its terms while it is in cache.");
        w.Open("for (int i = 0; i < rows; i++)");
        foreach (string matrix in model.OldRowCopies) w.Line($"{matrix}.Slice(i * columns, columns).CopyTo({OldRow(matrix)});");
        foreach (TargetUpdate target in model.Targets)
        {
            string row = target.Matrix == "weights" ? "row" : "feedbackRow";
            w.Line($"global::System.Span<float> {row} = {target.Matrix}.Slice(i * columns, columns);");
            foreach (string line in RowUpdateCalls(target, row, keeps[target.Matrix])) w.Line(line);
        }

        w.Close();
        w.Close();
    }

    /// <summary>The widest fused overloads of <c>KernelPrimitives.AddScaled</c> and <c>ScaleAddScaled</c> take three
    /// (coefficient, vector) pairs.</summary>
    private const int FusedTerms = 3;

    /// <summary>
    /// c·M without a row scale is one factor for every row: declares <c>keepM = 1 + c</c> once, before the pass, and
    /// returns its name; null when the target has no such term or its scale varies by row.
    /// </summary>
    private static string? HoistKeep(IndentedWriter w, TargetUpdate target)
    {
        ScaleTerm[] own = OwnScales(target);
        if (own.Length == 0 || own.Any(x => x.RowScale is not null)) return null;
        string keep = "keep" + Capitalized(target.Matrix);
        w.Line($"float {keep} = 1f + ({Sum(own.Select(x => Product(x.Factor, null)))});");
        return keep;
    }

    /// <summary>The terms c·diag(a)·M of a target that scale its own rows: the row's keep factor is 1 + their sum.</summary>
    private static ScaleTerm[] OwnScales(TargetUpdate target) =>
        target.Scales.Where(x => x.Matrix == target.Matrix && x.ColumnScale is null).ToArray();

    /// <summary>
    /// The time-independent update of row i of a target: its scale, its rank-one terms and the terms that add another
    /// matrix's old row, all in fused calls (<see cref="FusedUpdateCalls"/>); then each term scaled column by column
    /// (c·diag(a)·M·diag(b)), whose vector is a product of two, in its own <c>AddScaledProduct</c> pass.
    /// </summary>
    private static IEnumerable<string> RowUpdateCalls(TargetUpdate target, string row, string? hoistedKeep)
    {
        ScaleTerm[] own = OwnScales(target);
        string? keep = hoistedKeep ?? (own.Length == 0 ? null : "1f + " + Parenthesized(Sum(own.Select(x => Product(x.Factor, AtRow(x.RowScale))))));
        var terms = target.Rows.Where(r => !r.PerTime)
            .Select(r => (Sum(r.Terms.Select(t => Product(t.Factor, AtRow(t.Column)))), r.RowVector))
            .Concat(target.Scales.Where(x => x.Matrix != target.Matrix && x.ColumnScale is null)
                .Select(x => (Product(x.Factor, AtRow(x.RowScale)), OldRow(x.Matrix))))
            .ToList();
        foreach (string call in FusedUpdateCalls(row, keep, terms)) yield return call;
        foreach (ScaleTerm term in target.Scales.Where(x => x.ColumnScale is not null))
        {
            yield return $"{Primitives}.AddScaledProduct({row}, {Product(term.Factor, AtRow(term.RowScale))}, {OldRow(term.Matrix)}, {term.ColumnScale});";
        }
    }

    /// <summary>The element of a row-indexed vector at row i.</summary>
    private static string? AtRow(string? vector) => vector is null ? null : vector + "[i]";

    /// <summary>
    /// destination = keep·destination + Σ coefficient_k·vector_k, in calls of the fused primitives, each of which loads
    /// and stores the destination once: the scale and the first <see cref="FusedTerms"/> terms in one call, the rest
    /// chained, <see cref="FusedTerms"/> at a time, in order (as separate calls would add them). Two or more pairs are
    /// printed one per line.
    /// </summary>
    private static IEnumerable<string> FusedUpdateCalls(string destination, string? keep, IReadOnlyList<(string Coefficient, string Vector)> terms)
    {
        if (terms.Count == 0)
        {
            if (keep is not null) yield return $"{Primitives}.Scale({destination}, {keep});";
            yield break;
        }

        for (int first = 0; first < terms.Count; first += FusedTerms)
        {
            string call = first == 0 && keep is not null
                ? $"{Primitives}.ScaleAddScaled({destination}, {keep},"
                : $"{Primitives}.AddScaled({destination},";
            string[] pairs = terms.Skip(first).Take(FusedTerms).Select(t => t.Coefficient + ", " + t.Vector).ToArray();
            if (pairs.Length == 1)
            {
                yield return $"{call} {pairs[0]});";
                continue;
            }

            yield return call;
            for (int k = 0; k < pairs.Length; k++) yield return "    " + pairs[k] + (k == pairs.Length - 1 ? ");" : ",");
        }
    }

    /// <summary>
    /// A recurrent rule (docs/recurrent.md): every vector and scalar of every t = 1…T−1 is computed first, from the
    /// pre-update weights, into T−1 rows of scratch; then one fused pass over each target matrix adds, row by row,
    /// the time-independent terms and, for each t, the rank-one terms of sum_t.
    /// </summary>
    private static string EmitRecurrent(KernelModel model)
    {
        IndentedWriter w = OpenFile();
        w.Line("/// <summary>");
        w.Line($"/// Kernel of the recurrent plasticity rule <c>{Xml(model.RuleName)}</c>, applied in place to {Xml(string.Join(", ", model.Targets.Select(t => t.Target.Substring(1))))}:");
        w.Line("/// <code>");
        foreach (string line in model.Source.Split('\n')) w.Line("/// " + Xml(line));
        w.Line("/// </code>");
        w.Line("/// </summary>");
        w.Line("/// <remarks>");
        w.Line($"/// Cost per sequence: {Xml(model.Cost)} multiply-adds: each term of sum_t is a rank-one product a_t·b_tᵀ whose");
        w.Line("/// vectors are built by matrix-vector products only (quadratic per t, never a matrix-matrix product). Every vector");
        w.Line("/// of every t is computed from the pre-update weights first; then one fused pass over each target matrix.");
        w.Line($"/// Reads: {Xml(string.Join(", ", RecurrentReads(model)))}.");
        w.Line("/// </remarks>");
        w.Line(GeneratedCode);
        w.Open($"public sealed partial class {model.ClassName} : {Runtime}.IRecurrentRule");
        EmitIdentity(w, model);
        w.Line($"public global::System.Collections.Generic.IReadOnlyList<string> Targets {{ get; }} = new string[] {{ {string.Join(", ", model.Targets.Select(t => Literal(t.Target)))} }};");
        w.Line();
        if (model.Parameters.Count > 0)
        {
            string parameters = string.Join(", ", model.Parameters.Select(p => $"new {Runtime}.RuleParameter({Literal(p.Name)}, {Int(p.Index)}, {FloatLiteral(p.Default)})"));
            w.Line($"public global::System.Collections.Generic.IReadOnlyList<{Runtime}.RuleParameter> Parameters {{ get; }} = new {Runtime}.RuleParameter[] {{ {parameters} }};");
            w.Line();
        }

        // Scratch: time-independent vectors, then T−1 rows per per-t vector and T−1 floats per per-t scalar.
        var lengths = new List<string>();
        var slices = new Dictionary<string, string>(StringComparer.Ordinal);
        string Slice(string length)
        {
            string start = lengths.Count == 0 ? "0" : string.Join(" + ", lengths);
            lengths.Add(length);
            return $"scratch.Slice({start}, {length})";
        }

        foreach (Step step in model.Steps.Where(x => !x.PerTime && !x.IsScalar)) slices[step.Name] = Slice(Size(step.Length));
        foreach (Step step in model.Steps.Where(x => x.PerTime && !x.IsScalar)) slices[step.Name + "s"] = Slice($"transitions * {Size(step.Length)}");
        // Per-t scalars are kept for the update pass only when a term of it reads them.
        var stored = new HashSet<string>(model.Targets.SelectMany(t => t.Rows.Where(r => r.PerTime)).SelectMany(r => r.Terms).SelectMany(x => x.Factor.Dots)
            .Select(d => "s" + Int(d)), StringComparer.Ordinal);
        foreach (Step step in model.Steps.Where(x => x.PerTime && x.IsScalar && stored.Contains(x.Name))) slices[step.Name + "s"] = Slice("transitions");
        foreach (string matrix in model.OldRowCopies) slices[OldRow(matrix)] = Slice(MatrixSizes(matrix).Split(',')[1].Trim());

        w.Line($"public int ScratchLength(int hidden, int inputs, int outputs, int steps) => Scratch(hidden, inputs, outputs, global::System.Math.Max(steps - 1, 0));");
        w.Line();
        string total = lengths.Count == 0 ? "0" : string.Join(" + ", lengths.GroupBy(l => l, StringComparer.Ordinal)
            .Select(g => g.Count() == 1 ? g.Key : Int(g.Count()) + " * " + g.Key));
        w.Line($"private static int Scratch(int hidden, int inputs, int outputs, int transitions) => {total};");
        w.Line();
        bool activation = model.Steps.Any(x => x.Operation is nameof(ElementFunction.Activation) or nameof(ElementFunction.ActivationDerivative));
        if (activation)
        {
            w.Line($"private static {Runtime}.Activation Activation(in {Runtime}.RecurrentSignals network) =>");
            w.Line("    network.Activation ?? throw new global::System.ArgumentException(\"this rule applies f or df: the network needs its activation.\", nameof(network));");
            w.Line();
        }

        HashSet<string> used = UsedLocals(model), matrices = UsedMatrices(model);
        var sequences = RecurrentSequences.Where(q => used.Contains(q.Local)).Select(q => q.Sequence).Distinct().ToList();

        int thetaLength = 10 + model.Parameters.Count;
        w.Open($"public void Apply(in {Runtime}.RecurrentSignals network, global::System.ReadOnlySpan<float> theta, global::System.Span<float> scratch)");
        w.Line($"if (theta.Length < {Int(thetaLength)}) throw new global::System.ArgumentException(\"theta must hold {(model.Parameters.Count == 0 ? "t0..t9" : "t0..t9 and the rule's parameters")}.\", nameof(theta));");
        w.Line("int hidden = network.Hidden;");
        w.Line("int inputs = network.Inputs;");
        w.Line("int outputs = network.Outputs;");
        w.Line("int transitions = network.Steps - 1;");
        w.Line("if (scratch.Length < Scratch(hidden, inputs, outputs, transitions)) throw new global::System.ArgumentException(\"scratch is too short; size it with ScratchLength.\", nameof(scratch));");
        foreach ((string local, string property, string spelling) in RecurrentMatrices.Where(m => matrices.Contains(m.Local)))
        {
            w.Line($"global::System.Span<float> {local} = network.{property};");
            w.Line($"if ({local}.Length != {MatrixSizes(local).Replace(", ", " * ")}) throw new global::System.ArgumentException(\"this rule reads or updates {spelling}: the network needs it.\", nameof(network));");
        }

        foreach ((string sequence, string property, string size, string spelling) in RecurrentSequenceSources.Where(q => sequences.Contains(q.Local)))
        {
            string expected = size == "outputs" ? "outputs" : $"network.Steps * {size}";
            w.Line($"global::System.ReadOnlySpan<float> {sequence} = network.{property};");
            w.Line($"if ({sequence}.Length != {expected}) throw new global::System.ArgumentException(\"this rule reads {spelling}: the network must provide it.\", nameof(network));");
        }

        foreach (var signal in RecurrentSequences.Where(q => used.Contains(q.Local) && !q.PerTime && q.Local != q.Sequence))
        {
            w.Line($"global::System.ReadOnlySpan<float> {signal.Local} = {signal.Sequence}.Slice({signal.Offset}, {signal.Size});");
        }

        foreach (int k in model.Coefficients) w.Line($"float t{Int(k)} = theta[{Int(k)}];");

        // Time-independent steps.
        foreach (Step step in model.Steps.Where(x => !x.PerTime && x.Kind != StepKind.TimeSum))
        {
            w.Line();
            w.Line($"// {step.Name} = {step.Description}");
            if (step.IsScalar)
            {
                w.Line($"float {step.Name} = {ScalarStep(step, "network")};");
                continue;
            }

            w.Line($"global::System.Span<float> {step.Name} = {slices[step.Name]};");
            foreach (string line in VectorStep(step, "network")) w.Line(line);
        }

        // Every vector and scalar of every t, from the pre-update weights.
        Step[] perTime = model.Steps.Where(x => x.PerTime || x.Kind == StepKind.TimeSum).ToArray();
        if (perTime.Length > 0)
        {
            w.Line();
            foreach (Step step in perTime.Where(x => slices.ContainsKey(x.Name + "s"))) w.Line($"global::System.Span<float> {step.Name}s = {slices[step.Name + "s"]};");
            foreach (Step step in perTime.Where(x => x.Kind == StepKind.TimeSum)) w.Line($"float {step.Name} = 0f;");
            w.Open("for (int t = 0; t < transitions; t++)");
            var operands = new HashSet<string>(perTime.SelectMany(x => x.Operands), StringComparer.Ordinal);
            foreach (var signal in RecurrentSequences.Where(q => operands.Contains(q.Local) && q.PerTime))
            {
                w.Line($"global::System.ReadOnlySpan<float> {signal.Local} = {signal.Sequence}.Slice({signal.Offset}, {signal.Size});");
            }

            foreach (Step step in perTime)
            {
                w.Line();
                w.Line($"// {step.Name} = {step.Description}");
                if (step.Kind == StepKind.TimeSum)
                {
                    w.Line($"{step.Name} += {Product(step.Factors[0], null)};");
                }
                else if (step.IsScalar)
                {
                    w.Line($"float {step.Name} = {ScalarStep(step, "network")};");
                    if (slices.ContainsKey(step.Name + "s")) w.Line($"{step.Name}s[t] = {step.Name};");
                }
                else
                {
                    w.Line($"global::System.Span<float> {step.Name} = {step.Name}s.Slice(t * {Size(step.Length)}, {Size(step.Length)});");
                    foreach (string line in VectorStep(step, "network")) w.Line(line);
                }
            }

            w.Close();
        }

        var steps = model.Steps.ToDictionary(x => x.Name, StringComparer.Ordinal);
        // A vector, and its element i, inside the loop over t of the update pass, where per-t values are read from scratch.
        string VectorAtT(string vector)
        {
            if (steps.TryGetValue(vector, out Step? step) && step.PerTime) return $"{vector}s.Slice(t * {Size(step.Length)}, {Size(step.Length)})";
            if (RecurrentSequences.FirstOrDefault(q => q.Local == vector) is { PerTime: true } signal) return $"{signal.Sequence}.Slice({signal.Offset}, {signal.Size})";
            return vector;
        }

        string ElementAtT(string vector)
        {
            if (steps.TryGetValue(vector, out Step? step) && step.PerTime) return $"{vector}s[t * {Size(step.Length)} + i]";
            if (RecurrentSequences.FirstOrDefault(q => q.Local == vector) is { PerTime: true } signal) return $"{signal.Sequence}[{signal.Offset} + i]";
            return vector + "[i]";
        }

        string ScalarAt(int index) => steps.TryGetValue("s" + Int(index), out Step? step) && step.PerTime ? $"s{Int(index)}s[t]" : "s" + Int(index);

        if (model.OldRowCopies.Count > 0) w.Line();
        foreach (string matrix in model.OldRowCopies) w.Line($"global::System.Span<float> {OldRow(matrix)} = {slices[OldRow(matrix)]};");

        foreach (TargetUpdate target in model.Targets)
        {
            string[] sizes = MatrixSizes(target.Matrix).Split(',').Select(x => x.Trim()).ToArray();
            w.Line();
            string? keep = HoistKeep(w, target);
            w.Line($"// One pass over {target.Target.Substring(1)}: each row gets all its terms, those of every t included, while it is in cache.");
            w.Open($"for (int i = 0; i < {sizes[0]}; i++)");
            if (model.OldRowCopies.Contains(target.Matrix)) w.Line($"{target.Matrix}.Slice(i * {sizes[1]}, {sizes[1]}).CopyTo({OldRow(target.Matrix)});");
            w.Line($"global::System.Span<float> row = {target.Matrix}.Slice(i * {sizes[1]}, {sizes[1]});");
            foreach (string line in RowUpdateCalls(target, "row", keep)) w.Line(line);
            RowUpdate[] timed = target.Rows.Where(r => r.PerTime).ToArray();
            if (timed.Length > 0)
            {
                w.Open("for (int t = 0; t < transitions; t++)");
                var terms = timed.Select(u => (Sum(u.Terms.Select(t => Product(t.Factor, t.Column is null ? null : ElementAtT(t.Column), ScalarAt))), VectorAtT(u.RowVector))).ToList();
                foreach (string line in FusedUpdateCalls("row", null, terms)) w.Line(line);
                w.Close();
            }

            w.Close();
        }

        w.Close();
        w.Close();
        w.Close();
        return w.ToString();
    }

    private static readonly (string Local, string Property, string Spelling)[] RecurrentMatrices =
    {
        ("recurrent", "RecurrentWeights", "Wh"), ("input", "InputWeights", "Wx"), ("readout", "ReadoutWeights", "Wo"),
    };

    private static readonly (string Local, string Property, string Size, string Spelling)[] RecurrentSequenceSources =
    {
        ("hiddenStates", "HiddenStates", "hidden", "z"), ("inputSequence", "InputSequence", "inputs", "x"), ("errors", "Errors", "hidden", "e"),
        ("output", "Output", "outputs", "y_T"), ("outputError", "OutputError", "outputs", "e_o"),
    };

    /// <summary>Each recurrent signal's local, the sequence it is read from, where, and whether it depends on t.</summary>
    private static readonly (string Local, string Sequence, string Offset, string Size, bool PerTime, string Spelling)[] RecurrentSequences =
    {
        ("zNow", "hiddenStates", "t * hidden", "hidden", true, "z_t"),
        ("zNext", "hiddenStates", "(t + 1) * hidden", "hidden", true, "z_<t+1>"),
        ("eNow", "errors", "t * hidden", "hidden", true, "e_t"),
        ("eNext", "errors", "(t + 1) * hidden", "hidden", true, "e_<t+1>"),
        ("xNow", "inputSequence", "t * inputs", "inputs", true, "x_t"),
        ("xNext", "inputSequence", "(t + 1) * inputs", "inputs", true, "x_<t+1>"),
        ("zLast", "hiddenStates", "transitions * hidden", "hidden", false, "z_T"),
        ("eLast", "errors", "transitions * hidden", "hidden", false, "e_T"),
        ("output", "output", "0", "outputs", false, "y_T"),
        ("outputError", "outputError", "0", "outputs", false, "e_o"),
    };

    private static IEnumerable<string> RecurrentReads(KernelModel model)
    {
        HashSet<string> used = UsedLocals(model), matrices = UsedMatrices(model);
        return RecurrentMatrices.Where(m => matrices.Contains(m.Local)).Select(m => m.Spelling)
            .Concat(RecurrentSequences.Where(q => used.Contains(q.Local)).Select(q => q.Spelling))
            .Concat(model.Steps.Any(x => x.Operation is nameof(ElementFunction.Activation) or nameof(ElementFunction.ActivationDerivative)) ? new[] { "f" } : Array.Empty<string>());
    }

    private static string OldRow(string matrix) => "old" + Capitalized(matrix) + "Row";

    private static string Capitalized(string s) => char.ToUpperInvariant(s[0]) + s.Substring(1);

    private static string Parenthesized(string expression) => expression.Contains(" ") ? "(" + expression + ")" : expression;

    private static IEnumerable<string> VectorStep(Step step, string context = "layer")
    {
        string v = step.Name;
        switch (step.Kind)
        {
            case StepKind.MultiplyMatrix:
                yield return $"{Primitives}.{(step.Transposed ? "MultiplyTransposedVector" : "MultiplyVector")}({step.Operation}, {MatrixSizes(step.Operation)}, {step.Operands[0]}, {v});";
                break;
            case StepKind.Hadamard:
                yield return $"{Primitives}.Multiply({step.Operands[0]}, {step.Operands[1]}, {v});";
                break;
            case StepKind.Map when step.Operation == nameof(ElementFunction.Activation):
                yield return $"Activation({context}).Apply({step.Operands[0]}, {v});";
                break;
            case StepKind.Map when step.Operation == nameof(ElementFunction.ActivationDerivative):
                yield return $"Activation({context}).Derivative({step.Operands[0]}, {v});";
                break;
            case StepKind.Map:
                yield return $"{Primitives}.{step.Operation}({step.Operands[0]}, {v});";
                break;
            case StepKind.Ones:
                yield return $"{v}.Fill(1f);";
                break;
            case StepKind.Combine:
                yield return $"{v}.Clear();";
                foreach (string call in FusedUpdateCalls(v, null, step.Operands.Select((x, k) => (Product(step.Factors[k], null), x)).ToList())) yield return call;
                break;
            default:
                throw new InvalidOperationException("not a vector step: " + step.Kind);
        }
    }

    private static string ScalarStep(Step step, string context = "layer") => step.Kind switch
    {
        StepKind.Dot => $"{Primitives}.Dot({step.Operands[0]}, {step.Operands[1]})",
        StepKind.Reduce => $"{Primitives}.{step.Operation}({step.Operands[0]})",
        StepKind.MapScalar when step.Operation == nameof(ElementFunction.Activation) => $"Activation({context}).Apply({Sum(step.Factors.Select(f => Product(f, null)))})",
        StepKind.MapScalar when step.Operation == nameof(ElementFunction.ActivationDerivative) => $"Activation({context}).Derivative({Sum(step.Factors.Select(f => Product(f, null)))})",
        StepKind.MapScalar => $"{Primitives}.{step.Operation}({Sum(step.Factors.Select(f => Product(f, null)))})",
        _ => throw new InvalidOperationException("not a scalar step: " + step.Kind),
    };

    /// <summary>The rows and columns of a matrix as C# expressions in a kernel.</summary>
    private static string MatrixSizes(string matrix) => matrix switch
    {
        "recurrent" => "hidden, hidden",
        "input" => "hidden, inputs",
        "readout" => "outputs, hidden",
        _ => "rows, columns",
    };

    private static string Size(Dimension d) => d switch
    {
        Dimension.Hidden => "hidden",
        Dimension.Input => "inputs",
        Dimension.Output => "outputs",
        Dimension.Post => "rows",
        Dimension.Pre => "columns",
        _ => "1",
    };

    private static string Passes(KernelModel model)
    {
        int vectorPasses = model.Steps.Count(s => s.Kind == StepKind.MultiplyMatrix);
        return vectorPasses == 0 ? "once" : $"{vectorPasses + 1} times ({vectorPasses} matrix-vector product{(vectorPasses == 1 ? "" : "s")}, then one fused update pass)";
    }

    /// <summary>The locals (signals and scratch vectors) the kernel's steps and updates read.</summary>
    private static HashSet<string> UsedLocals(KernelModel model) =>
        new(model.Steps.SelectMany(x => x.Operands)
                .Concat(model.Targets.SelectMany(t => t.Rows.SelectMany(r => r.Terms.Select(x => x.Column ?? "").Append(r.RowVector))))
                .Concat(model.Targets.SelectMany(t => t.Scales.SelectMany(x => new[] { x.RowScale ?? "", x.ColumnScale ?? "" }))),
            StringComparer.Ordinal);

    /// <summary>The matrices the kernel multiplies by, updates or reads a row of.</summary>
    private static HashSet<string> UsedMatrices(KernelModel model) =>
        new(model.Steps.Where(x => x.Kind == StepKind.MultiplyMatrix).Select(x => x.Operation)
            .Concat(model.Targets.Select(t => t.Matrix)).Concat(model.Targets.SelectMany(t => t.Scales.Select(x => x.Matrix))), StringComparer.Ordinal);

    private static IEnumerable<(string Local, string Property)> SignalLocals(KernelModel model)
    {
        HashSet<string> used = UsedLocals(model);
        (string Local, string Property)[] candidates =
        {
            ("post", "Post"), ("pre", "Pre"), ("potential", "PreActivation"), ("postError", "PostError"), ("preError", "PreError"),
        };
        return candidates.Where(c => used.Contains(c.Local));
    }

    private static IEnumerable<string> ReadSignals(KernelModel model)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["post"] = "y_l", ["pre"] = "y_<l-1>", ["potential"] = "z_l", ["postError"] = "e_l", ["preError"] = "e_<l-1>",
        };
        return new[] { "W" }.Concat(model.ReadsFeedback ? new[] { "B" } : Array.Empty<string>()).Concat(SignalLocals(model).Select(s => names[s.Local]));
    }

    private static string SignalFlags(KernelModel model)
    {
        var flags = new List<string>();
        if (model.ReadsPostError) flags.Add(Runtime + ".RuleSignals.PostError");
        if (model.ReadsPreError) flags.Add(Runtime + ".RuleSignals.PreError");
        if (model.ReadsFeedback) flags.Add(Runtime + ".RuleSignals.Feedback");
        if (model.UpdatesFeedback) flags.Add(Runtime + ".RuleSignals.FeedbackUpdate");
        return flags.Count == 0 ? Runtime + ".RuleSignals.None" : string.Join(" | ", flags);
    }

    private static string ScratchFormula(KernelModel model)
    {
        var parts = new List<string>();
        if (model.PostScratchVectors > 0) parts.Add(model.PostScratchVectors == 1 ? "rows" : $"{Int(model.PostScratchVectors)} * rows");
        if (model.PreScratchVectors > 0) parts.Add(model.PreScratchVectors == 1 ? "columns" : $"{Int(model.PreScratchVectors)} * columns");
        return parts.Count == 0 ? "0" : string.Join(" + ", parts);
    }

    /// <summary>constant · Π t_k · Π s_j (· <paramref name="vector"/>) as a C# float expression; a unit
    /// constant is left out and a negative one becomes a leading minus.</summary>
    private static string Product(ScalarFactor factor, string? vector, Func<int, string>? scalar = null)
    {
        var symbols = factor.Coefficients.Select(k => "t" + Int(k)).Concat(factor.Dots.Select(d => scalar?.Invoke(d) ?? "s" + Int(d))).ToList();
        if (vector is not null) symbols.Add(vector);
        double magnitude = Math.Abs(factor.Constant);
        if (magnitude != 1 || symbols.Count == 0) symbols.Insert(0, FloatLiteral(magnitude));
        return (factor.Constant < 0 ? "-" : "") + string.Join(" * ", symbols);
    }

    /// <summary>Terms joined as <c>a + b - c</c>, not <c>a + -c</c>.</summary>
    private static string Sum(IEnumerable<string> terms)
    {
        var text = new StringBuilder();
        foreach (string term in terms)
        {
            if (text.Length == 0) text.Append(term);
            else if (term.StartsWith("-", StringComparison.Ordinal)) text.Append(" - ").Append(term, 1, term.Length - 1);
            else text.Append(" + ").Append(term);
        }

        return text.ToString();
    }

    /// <summary>A float literal; folding constants can overflow single precision, which C# spells by name.</summary>
    private static string FloatLiteral(double value) => (float)value switch
    {
        float.PositiveInfinity => "float.PositiveInfinity",
        float.NegativeInfinity => "float.NegativeInfinity",
        float f when float.IsNaN(f) => "float.NaN",
        float f => f.ToString("R", CultureInfo.InvariantCulture) + "f",
    };

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Xml(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    /// <summary>A C# string literal: every character outside printable ASCII is escaped, so no input can
    /// end the literal or the line.</summary>
    private static string Literal(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in text)
        {
            if (c == '"' || c == '\\') sb.Append('\\').Append(c);
            else if (c == '\n') sb.Append("\\n");
            else if (c >= 0x20 && c < 0x7f) sb.Append(c);
            else sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
        }

        return sb.Append('"').ToString();
    }
}
