using PlasticityDsl.Language.Binding;
using PlasticityDsl.Language.Layout;
using PlasticityDsl.Language.Lowering;
using static PlasticityDsl.Language.Emit.CSharpText;

namespace PlasticityDsl.Language.Emit;

/// <summary>
/// Prints a <see cref="KernelModel"/> as C#, layer and recurrent kernels alike: the plan says what to compute, the
/// layout where and in which passes, and the <see cref="KernelContext"/>'s signal table how each signal is spelled.
/// Deterministic and culture-invariant; names in the output come only from the model, whose names the front end
/// validated, and from the tables.
/// </summary>
internal static class KernelEmitter
{
    /// <summary>The namespace of generated kernels unless the project sets another (PlasticityDslNamespace, or an
    /// AdditionalFiles item's Namespace metadata).</summary>
    public const string DefaultNamespace = "PlasticityDsl.Rules";
    private const string Runtime = "global::PlasticityDsl.Runtime";
    private const string Primitives = Runtime + ".KernelPrimitives";
    private const string GeneratedCode = "[global::System.CodeDom.Compiler.GeneratedCode(\"PlasticityDsl.Generator\", \"1.0.0\")]";

    /// <summary>The widest fused overloads of <c>KernelPrimitives.AddScaled</c> and <c>ScaleAddScaled</c> take three
    /// (coefficient, vector) pairs.</summary>
    private const int FusedTerms = 3;

    public static string HintName(KernelModel model) => model.ClassName + ".g.cs";

    /// <summary>The kernel class of <paramref name="model"/> in <paramref name="namespace"/>, which must be valid
    /// (<see cref="RuleFrontEnd.IsValidNamespace"/>).</summary>
    public static string Emit(KernelModel model, string @namespace = DefaultNamespace)
    {
        var kernel = new KernelSymbols(model);
        IndentedWriter w = OpenFile(@namespace);
        if (model.Plan.Recurrent) RecurrentClass(w, kernel);
        else LayerClass(w, kernel);
        EmitApply(w, kernel);
        if (model.Tangent is not null)
        {
            w.Line();
            EmitApply(w, new KernelSymbols(model, tangent: true));
        }

        if (model.Adjoint is not null) EmitAdjoint(w, new KernelSymbols(model, adjoint: true));

        w.Close();
        w.Close();
        return w.ToString();
    }

    /// <summary>The class of a rule file that has errors, under the name its kernel would have: the build then reports
    /// the rule's diagnostics, located in the .rule file, rather than C# errors wherever a program names the kernel.
    /// Never run (the build fails on the rule); <paramref name="ruleName"/> must be a valid rule name.</summary>
    public static string EmitShell(string ruleName, string @namespace)
    {
        IndentedWriter w = OpenFile(@namespace);
        w.Line($"/// <summary>Stands in for the kernel of the rule <c>{ruleName}</c>, which has errors: see its .rule file's diagnostics.</summary>");
        w.Line(GeneratedCode);
        w.Open($"public sealed partial class {RuleFrontEnd.ClassName(ruleName)}");
        w.Line($"public static {Runtime}.IPlasticityRule Instance => throw new global::System.InvalidOperationException(\"the rule {ruleName} has errors; see its diagnostics in the build\");");
        w.Close();
        w.Close();
        return w.ToString();
    }

    /// <summary>The list of all rules of a compilation, so that a program can look kernels up by name; it lives in the
    /// project's namespace and names each kernel in its own.</summary>
    public static string EmitRegistry(IEnumerable<(string Namespace, KernelModel Model)> rules, string @namespace)
    {
        IndentedWriter w = OpenFile(@namespace);
        w.Line("/// <summary>Every rule compiled from this project's .rule files, ordered by name.</summary>");
        w.Line(GeneratedCode);
        w.Open("public static partial class GeneratedRules");
        w.Line($"public static global::System.Collections.Generic.IReadOnlyList<{Runtime}.IPlasticityRule> All {{ get; }} = new {Runtime}.IPlasticityRule[]");
        w.Line("{");
        foreach (var rule in rules.Where(r => !r.Model.Plan.Recurrent).OrderBy(r => r.Model.RuleName, StringComparer.Ordinal)) w.Line($"    global::{rule.Namespace}.{rule.Model.ClassName}.Instance,");
        w.Line("};");
        w.Line();
        w.Line("/// <summary>The recurrent rules (those that update dWh, dWx or dWo), ordered by name.</summary>");
        w.Line($"public static global::System.Collections.Generic.IReadOnlyList<{Runtime}.IRecurrentRule> Recurrent {{ get; }} = new {Runtime}.IRecurrentRule[]");
        w.Line("{");
        foreach (var rule in rules.Where(r => r.Model.Plan.Recurrent).OrderBy(r => r.Model.RuleName, StringComparer.Ordinal)) w.Line($"    global::{rule.Namespace}.{rule.Model.ClassName}.Instance,");
        w.Line("};");
        w.Close();
        w.Close();
        return w.ToString();
    }

    /// <summary>The header every generated file starts with, up to the opened namespace. The namespace is printed
    /// verbatim, so an invalid one is a bug of the caller, never emitted.</summary>
    private static IndentedWriter OpenFile(string @namespace)
    {
        if (!RuleFrontEnd.IsValidNamespace(@namespace)) throw new ArgumentException($"not a valid namespace: `{@namespace}`", nameof(@namespace));
        var w = new IndentedWriter();
        w.Line("// <auto-generated/>");
        w.Line("#nullable enable");
        w.Line();
        w.Open("namespace " + @namespace);
        return w;
    }

    /// <summary>An <c>IPlasticityRule</c>, up to its Apply method.</summary>
    private static void LayerClass(IndentedWriter w, KernelSymbols kernel)
    {
        KernelModel model = kernel.Model;
        w.Line("/// <summary>");
        w.Line($"/// Kernel of the plasticity rule <c>{Xml(model.RuleName)}</c>, applied in place to W of layer l:");
        SourceBlock(w, model);
        w.Line("/// <remarks>");
        int products = model.Plan.Steps.Count(s => s.Operation is MultiplyMatrix);
        string streamed = products == 0 ? "once" : $"{products + 1} times ({products} matrix-vector product{(products == 1 ? "" : "s")}, then one fused update pass)";
        w.Line($"/// Cost per update: {Xml(model.Layout.Cost)} multiply-adds; W is streamed {streamed}, never an n×n temporary.");
        if (kernel.MultipliesNextInput) w.Line("/// ApplyAndMultiply also computes the next input's product W x in the update pass, from each row as it is written.");
        w.Line($"/// Reads: {Xml(string.Join(", ", kernel.Declared.Select(s => s.Signal.ToString())))}.");
        if (model.Plan.States.Count > 0)
        {
            w.Line($"/// State per layer, updated after the weights from the values before this step: {Xml(string.Join(", ", model.Plan.States.Select(s => $"{s.State.Name} [{Shape.Name(s.State.Length)}] from {s.Initial.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}")))}.");
        }

        TangentRemarks(w, model);
        if (model.Adjoint is { } adjoint)
        {
            w.Line($"/// Adjoint (reverse-mode derivative of the update, for meta-learning): {Xml(adjoint.Layout.Cost)} multiply-adds, whatever the");
            w.Line($"/// number of meta-parameters; reads {Xml(string.Join(", ", adjoint.Layout.Reads.Select(s => s.ToString())))}{(adjoint.Plan.Coefficients.Count == 0 ? "" : ", " + Xml(string.Join(", ", adjoint.Plan.Coefficients)))}.");
            int streams = KernelCost.ProductStreams(adjoint.Plan, adjoint.Layout), passes = adjoint.Layout.ProductPasses.Count;
            string grouped = passes == 0 ? "" : passes == 1 ? "; one pass computes several products of its matrix" : $"; {Int(passes)} passes each compute several products of their matrix";
            w.Line($"/// Its products stream a weight-sized matrix {(streams == 1 ? "once" : Int(streams) + " times")} before the update pass{grouped}.");
        }
        else if (model.Tangent is not null && model.NoAdjoint is { } noAdjoint)
        {
            w.Line($"/// No adjoint (meta-learning uses the tangent): {Xml(noAdjoint)}.");
        }

        w.Line("/// </remarks>");
        w.Line(GeneratedCode);
        string kind = model.Adjoint is not null ? "IAdjointRule" : model.Tangent is not null ? "IDifferentiableRule" : "IPlasticityRule";
        w.Open($"public sealed partial class {model.ClassName} : {Runtime}.{kind}");
        Identity(w, model);
        var flags = new List<string>();
        if (kernel.Reads(Signal.PostError)) flags.Add(Runtime + ".RuleSignals.PostError");
        if (kernel.Reads(Signal.PreError)) flags.Add(Runtime + ".RuleSignals.PreError");
        if (kernel.Reads(Signal.Feedback)) flags.Add(Runtime + ".RuleSignals.Feedback");
        if (model.Plan.Targets.Any(t => t.Matrix.Signal == Signal.Feedback)) flags.Add(Runtime + ".RuleSignals.FeedbackUpdate");
        w.Line($"public {Runtime}.RuleSignals Signals => {(flags.Count == 0 ? Runtime + ".RuleSignals.None" : string.Join(" | ", flags))};");
        w.Line();
        w.Line($"public int ScratchLength(int rows, int columns) => {ScratchSize(model.Layout)};");
        w.Line();
        StateMembers(w, model.Plan);
        if (model.Tangent is not null)
        {
            w.Line($"public int TangentScratchLength(int rows, int columns) => {ScratchSize(model.Tangent.Layout)};");
            w.Line();
        }

        if (model.Adjoint is not null)
        {
            w.Line($"public int AdjointScratchLength(int rows, int columns) => {ScratchSize(model.Adjoint.Layout)};");
            w.Line();
        }

        Parameters(w, model);
        ActivationAccessor(w, kernel);
    }

    /// <summary>What the tangent kernel costs per direction and reads, or why the rule has none.</summary>
    private static void TangentRemarks(IndentedWriter w, KernelModel model)
    {
        if (model.Tangent is { } tangent)
        {
            w.Line($"/// Tangent (forward-mode derivative of the update, for meta-learning): {Xml(tangent.Layout.Cost)} multiply-adds per direction,");
            w.Line($"/// reads {Xml(string.Join(", ", tangent.Layout.Reads.Select(s => s.ToString())))}{(tangent.Plan.Coefficients.Count == 0 ? "" : ", " + Xml(string.Join(", ", tangent.Plan.Coefficients)))}.");
        }
        else if (model.NotDifferentiable is { } reason)
        {
            w.Line($"/// Not differentiable: {Xml(reason)}.");
        }
    }

    /// <summary>Where each state lies in the layer's state buffer: its offset and length as C# expressions.</summary>
    private static IEnumerable<(StateUpdate State, string Offset, string Length)> StateSlices(KernelPlan plan)
    {
        var before = new List<string>();
        foreach (StateUpdate state in plan.States)
        {
            string length = KernelContext.Size(state.State.Length);
            yield return (state, before.Count == 0 ? "0" : string.Join(" + ", before), length);
            before.Add(length);
        }
    }

    /// <summary>The size of a rule's per-layer state and its initial values; nothing for a rule without state (the
    /// interface's defaults say 0).</summary>
    private static void StateMembers(IndentedWriter w, KernelPlan plan)
    {
        if (plan.States.Count == 0) return;
        w.Line($"public int StateLength(int rows, int columns) => {string.Join(" + ", plan.States.Select(s => KernelContext.Size(s.State.Length)))};");
        w.Line();
        w.Open("public void InitializeState(global::System.Span<float> state, int rows, int columns)");
        w.Line("if (state.Length != StateLength(rows, columns)) throw new global::System.ArgumentException(\"state must hold StateLength(rows, columns) values.\", nameof(state));");
        foreach ((StateUpdate state, string offset, string length) in StateSlices(plan))
        {
            w.Line($"state.Slice({offset}, {length}).Fill({FloatLiteral(state.Initial)}); // {state.State.Name}");
        }

        w.Close();
        w.Line();
    }

    /// <summary>The states' slices of <c>layer.State</c>, checked for its length.</summary>
    private static void DeclareStates(IndentedWriter w, KernelSymbols kernel)
    {
        if (kernel.Plan.States.Count == 0) return;
        w.Line("global::System.Span<float> state = layer.State;");
        w.Line("if (state.Length != StateLength(rows, columns)) throw new global::System.ArgumentException(\"this rule keeps per-layer state: the layer needs it, sized with StateLength and set by InitializeState.\", nameof(layer));");
        foreach ((StateUpdate state, string offset, string length) in StateSlices(kernel.Plan))
        {
            w.Line($"global::System.Span<float> {kernel.Local(state.State)} = state.Slice({offset}, {length}); // {state.State.Name}");
        }
    }

    /// <summary>The states' updates, after the passes: their values were computed before the passes, from the values
    /// before this step, like the weights'.</summary>
    private static void UpdateStates(IndentedWriter w, KernelSymbols kernel)
    {
        if (kernel.Plan.States.Count == 0) return;
        w.Line();
        w.Line("// The states, from values computed before the passes.");
        foreach (StateUpdate state in kernel.Plan.States)
        {
            string local = kernel.Local(state.State);
            w.Line(state.Column is { } column
                ? $"{Primitives}.AddScaled({local}, 1f, {kernel.Local(column)});"
                : $"{local}[0] += {Sum(state.Scalar.Select(f => kernel.Factor(f, null)))};");
        }
    }

    /// <summary>An <c>IRecurrentRule</c> (docs/recurrent.md), up to its Apply method.</summary>
    private static void RecurrentClass(IndentedWriter w, KernelSymbols kernel)
    {
        KernelModel model = kernel.Model;
        w.Line("/// <summary>");
        w.Line($"/// Kernel of the recurrent plasticity rule <c>{Xml(model.RuleName)}</c>, applied in place to {Xml(string.Join(", ", model.Plan.Targets.Select(t => t.Matrix.ToString())))}:");
        SourceBlock(w, model);
        w.Line("/// <remarks>");
        w.Line($"/// Cost per sequence: {Xml(model.Layout.Cost)} multiply-adds: each term of sum_t is a rank-one product a_t·b_tᵀ whose");
        w.Line("/// vectors are built by matrix-vector products only (quadratic per t, never a matrix-matrix product). Every vector");
        w.Line("/// of every t is computed from the pre-update weights first; then one fused pass over each target matrix.");
        w.Line($"/// Reads: {Xml(string.Join(", ", kernel.Declared.Select(s => s.Signal.ToString()).Concat(kernel.UsesActivation ? new[] { "f" } : Array.Empty<string>())))}.");
        TangentRemarks(w, model);
        w.Line("/// </remarks>");
        w.Line(GeneratedCode);
        w.Open($"public sealed partial class {model.ClassName} : {Runtime}.{(model.Tangent is null ? "IRecurrentRule" : "IDifferentiableRecurrentRule")}");
        Identity(w, model);
        w.Line($"public global::System.Collections.Generic.IReadOnlyList<string> Targets {{ get; }} = new string[] {{ {string.Join(", ", model.Plan.Targets.Select(t => Literal(t.Target)))} }};");
        w.Line();
        Parameters(w, model);
        w.Line($"public int ScratchLength(int hidden, int inputs, int outputs, int steps) => Scratch(hidden, inputs, outputs, global::System.Math.Max(steps - 1, 0));");
        w.Line();
        w.Line($"private static int Scratch(int hidden, int inputs, int outputs, int transitions) => {ScratchSize(model.Layout)};");
        w.Line();
        if (model.Tangent is not null)
        {
            w.Line($"public int TangentScratchLength(int hidden, int inputs, int outputs, int steps) => TangentScratch(hidden, inputs, outputs, global::System.Math.Max(steps - 1, 0));");
            w.Line();
            w.Line($"private static int TangentScratch(int hidden, int inputs, int outputs, int transitions) => {ScratchSize(model.Tangent.Layout)};");
            w.Line();
        }

        ActivationAccessor(w, kernel);
    }

    private static void SourceBlock(IndentedWriter w, KernelModel model)
    {
        w.Line("/// <code>");
        foreach (string line in model.Source.Split('\n')) w.Line("/// " + Xml(line));
        w.Line("/// </code>");
        w.Line("/// </summary>");
    }

    /// <summary>What every kernel class says about itself: its instance, name, source and coefficients.</summary>
    private static void Identity(IndentedWriter w, KernelModel model)
    {
        w.Line($"public static {model.ClassName} Instance {{ get; }} = new {model.ClassName}();");
        w.Line();
        w.Line($"public string Name => {Literal(model.RuleName)};");
        w.Line();
        w.Line($"public string Source => {Literal(model.Source)};");
        w.Line();
        w.Line($"public global::System.Collections.Generic.IReadOnlyList<int> Coefficients {{ get; }} = new int[] {{ {string.Join(", ", model.Plan.Coefficients.Select(k => Int(k.Index)))} }};");
        w.Line();
    }

    private static void Parameters(IndentedWriter w, KernelModel model)
    {
        if (model.Parameters.Count == 0) return;
        string parameters = string.Join(", ", model.Parameters.Select(p => $"new {Runtime}.RuleParameter({Literal(p.Name)}, {Int(p.Index)}, {FloatLiteral(p.Default)})"));
        w.Line($"public global::System.Collections.Generic.IReadOnlyList<{Runtime}.RuleParameter> Parameters {{ get; }} = new {Runtime}.RuleParameter[] {{ {parameters} }};");
        w.Line();
    }

    private static void ActivationAccessor(IndentedWriter w, KernelSymbols kernel)
    {
        if (!kernel.UsesActivation) return;
        string p = kernel.Context.Parameter;
        w.Line($"private static {Runtime}.Activation Activation(in {kernel.Context.SignalsType} {p}) =>");
        w.Line($"    {p}.Activation ?? throw new global::System.ArgumentException(\"this rule applies f or df: the {p} needs its activation.\", nameof({p}));");
        w.Line();
    }

    private static string ScratchSize(KernelLayout layout) => layout.ScratchSize.Count == 0 ? "0" : string.Join(" + ",
        layout.ScratchSize.Select(t => t.Count == 1 ? KernelContext.Length(t.Length, t.PerTime) : Int(t.Count) + " * " + KernelContext.Length(t.Length, t.PerTime)));

    /// <summary>
    /// The Apply method: argument checks and sizes, the signals and coefficients the kernel reads, the time-independent
    /// steps, then (recurrent rules) every vector and scalar of every t from the pre-update weights, then the passes
    /// over the targets, each row getting all its terms, those of every t included, while it is in cache (for an adjoint
    /// kernel's ApplyAdjointProducts, <paramref name="withPasses"/> false: no passes).
    /// </summary>
    private static void EmitApply(IndentedWriter w, KernelSymbols kernel, bool withPasses = true)
    {
        string p = kernel.Context.Parameter;
        if (kernel.IsTangent)
        {
            w.Open($"public void ApplyTangent(in {kernel.Context.SignalsType} {p}, in {kernel.Context.TangentsType} tangent, global::System.ReadOnlySpan<float> theta, global::System.ReadOnlySpan<float> thetaTangent, global::System.Span<float> scratch)");
        }
        else if (kernel.IsAdjoint)
        {
            w.Open($"public void ApplyAdjointProducts(in {kernel.Context.SignalsType} {p}, in {Runtime}.LayerAdjoints adjoint, global::System.ReadOnlySpan<float> theta, global::System.Span<float> thetaAdjoint, global::System.Span<float> scratch)");
        }
        else if (kernel.MultipliesNextInput)
        {
            w.Line($"public void Apply(in {kernel.Context.SignalsType} {p}, global::System.ReadOnlySpan<float> theta, global::System.Span<float> scratch) =>");
            w.Line($"    ApplyAndMultiply(in {p}, theta, scratch, default, default);");
            w.Line();
            w.Open($"public void ApplyAndMultiply(in {kernel.Context.SignalsType} {p}, global::System.ReadOnlySpan<float> theta, global::System.Span<float> scratch, global::System.ReadOnlySpan<float> nextInput, global::System.Span<float> nextProduct)");
        }
        else
        {
            w.Open($"public void Apply(in {kernel.Context.SignalsType} {p}, global::System.ReadOnlySpan<float> theta, global::System.Span<float> scratch)");
        }

        Preamble(w, kernel, checkThetaAdjoint: kernel.IsAdjoint);
        foreach (Step step in kernel.Plan.Steps.Where(x => !x.PerTime && x.Operation is not TimeSum))
        {
            if (!step.IsScalar && kernel.Layout.ProductPasses.FirstOrDefault(x => x.Steps.Contains(step.Index)) is { } pass)
            {
                if (pass.Steps[0] == step.Index) ProductPass(w, kernel, pass);
                continue;
            }

            w.Line();
            w.Line($"// {kernel.Name(step)} = {step.Description}");
            if (step.IsScalar)
            {
                w.Line($"float {kernel.Name(step)} = {ScalarStep(step, kernel)};");
                continue;
            }

            w.Line($"global::System.Span<float> {kernel.Name(step)} = {kernel.Slice(kernel.Name(step))};");
            foreach (string line in VectorStep(step, kernel)) w.Line(line);
        }

        PerTimeSteps(w, kernel);
        if (withPasses) Passes(w, kernel);
        UpdateStates(w, kernel);
        AddAdjointOutputs(w, kernel);
        w.Close();
    }

    /// <summary>
    /// An adjoint kernel as three methods: ApplyAdjointProducts (the steps and the vector adjoints and θ̄),
    /// ApplyAdjointUpdate (the pass over W̄ and B̄, each row also gaining the caller's rank-one terms) and ApplyAdjoint,
    /// the two in turn with no terms. The reverse-mode engine calls the parts apart, so that W̄ += z̄ yᵀ and the error
    /// pass's outer products, known only once every layer's products are, join the pass instead of streaming W̄ and B̄
    /// again.
    /// </summary>
    private static void EmitAdjoint(IndentedWriter w, KernelSymbols kernel)
    {
        string signals = $"in {kernel.Context.SignalsType} {kernel.Context.Parameter}, in {Runtime}.LayerAdjoints adjoint, global::System.ReadOnlySpan<float> theta";
        w.Line();
        w.Open($"public void ApplyAdjoint({signals}, global::System.Span<float> thetaAdjoint, global::System.Span<float> scratch)");
        w.Line($"ApplyAdjointProducts(in {kernel.Context.Parameter}, in adjoint, theta, thetaAdjoint, scratch);");
        w.Line($"ApplyAdjointUpdate(in {kernel.Context.Parameter}, in adjoint, theta, scratch, default, default);");
        w.Close();
        w.Line();
        EmitApply(w, kernel, withPasses: false);
        w.Line();
        w.Open($"public void ApplyAdjointUpdate({signals}, global::System.Span<float> scratch, in {Runtime}.RankOneTerms weightsTerms, in {Runtime}.RankOneTerms feedbackTerms)");
        Preamble(w, kernel, checkThetaAdjoint: false);
        // What the pass reads of the steps: the vectors ApplyAdjointProducts left in scratch, and the scalars computed again
        // from them.
        foreach (Step step in PassReads(kernel))
        {
            w.Line(step.IsScalar
                ? $"float {kernel.Name(step)} = {ScalarStep(step, kernel)};"
                : $"global::System.Span<float> {kernel.Name(step)} = {kernel.Slice(kernel.Name(step))};");
        }

        Passes(w, kernel);
        var unchanged = new[] { (Signal.Weights, "weightsTerms"), (Signal.Feedback, "feedbackTerms") }
            .Where(x => !kernel.Layout.Passes.Any(p => p.Targets.Contains(new SignalRef(x.Item1, Adjoint: true)))).ToArray();
        if (unchanged.Length > 0)
        {
            w.Line();
            w.Line("// The caller's rank-one terms for what the rule leaves as it is.");
            foreach (var (matrix, terms) in unchanged) w.Line($"{terms}.AddTo(adjoint.{matrix}, columns);");
        }

        w.Close();
    }

    /// <summary>The steps an adjoint kernel's passes read, directly or through the scalars they read: vector steps and
    /// scalar steps are numbered apart.</summary>
    private static Step[] PassReads(KernelSymbols kernel)
    {
        var vectors = new HashSet<int>();
        var scalars = new HashSet<int>();
        var pending = new Stack<int>();
        void Vector(VectorRef? vector)
        {
            if (vector is ComputedVector v) vectors.Add(v.Index);
        }
        void Factor(ScalarFactor factor)
        {
            foreach (int scalar in factor.Scalars) if (scalars.Add(scalar)) pending.Push(scalar);
        }
        foreach (TargetUpdate target in kernel.Plan.Targets)
        {
            foreach (ScaleTerm x in target.Scales) { Factor(x.Factor); Vector(x.RowScale); Vector(x.ColumnScale); }
            foreach (RowUpdate r in target.Rows) { Vector(r.RowVector); foreach (RowTerm t in r.Terms) { Factor(t.Factor); Vector(t.Column); } }
            foreach (TriangularUpdate u in target.Triangles) { Vector(u.Weights); foreach (RowTerm t in u.Terms) { Factor(t.Factor); Vector(t.Column); } }
            foreach (ElementwiseUpdate e in target.Elementwise) { Vector(e.ColumnScale); foreach (RowTerm t in e.Terms) { Factor(t.Factor); Vector(t.Column); } }
        }

        // A scalar read is computed again from its operands (vectors in scratch, or other scalars).
        while (pending.Count > 0)
        {
            int index = pending.Pop();
            switch (kernel.Plan.Steps.Single(s => s.IsScalar && s.Index == index).Operation)
            {
                case Dot d: Vector(d.Left); Vector(d.Right); break;
                case Reduce r: Vector(r.Operand); break;
                case MapScalar m: foreach (ScalarFactor f in m.Argument) Factor(f); break;
            }
        }

        return kernel.Plan.Steps.Where(s => s.IsScalar ? scalars.Contains(s.Index) : vectors.Contains(s.Index)).ToArray();
    }

    /// <summary>A kernel method's argument checks, sizes, signals, states and coefficients.</summary>
    private static void Preamble(IndentedWriter w, KernelSymbols kernel, bool checkThetaAdjoint)
    {
        KernelModel model = kernel.Model;
        string p = kernel.Context.Parameter;
        string thetaLength = model.Parameters.Count == 0 ? "t0..t9" : "t0..t9 and the rule's parameters";
        w.Line($"if (theta.Length < {Int(10 + model.Parameters.Count)}) throw new global::System.ArgumentException(\"theta must hold {thetaLength}.\", nameof(theta));");
        if (kernel.IsTangent) w.Line($"if (thetaTangent.Length < {Int(10 + model.Parameters.Count)}) throw new global::System.ArgumentException(\"thetaTangent must hold {thetaLength}.\", nameof(thetaTangent));");
        if (checkThetaAdjoint) w.Line($"if (thetaAdjoint.Length < {Int(10 + model.Parameters.Count)}) throw new global::System.ArgumentException(\"thetaAdjoint must hold {thetaLength}.\", nameof(thetaAdjoint));");
        string scratchLength = kernel.IsTangent ? "TangentScratchLength" : kernel.IsAdjoint ? "AdjointScratchLength" : "ScratchLength";
        string ScratchTooShort = $"throw new global::System.ArgumentException(\"scratch is too short; size it with {scratchLength}.\", nameof(scratch));";
        if (model.Plan.Recurrent)
        {
            w.Line("int hidden = network.Hidden;");
            w.Line("int inputs = network.Inputs;");
            w.Line("int outputs = network.Outputs;");
            w.Line("int transitions = network.Steps - 1;");
            w.Line($"if (scratch.Length < {(kernel.IsTangent ? "TangentScratch" : "Scratch")}(hidden, inputs, outputs, transitions)) " + ScratchTooShort);
        }
        else
        {
            w.Line($"if (scratch.Length < {scratchLength}(layer.Rows, layer.Columns)) " + ScratchTooShort);
            if (kernel.IsTangent) TangentChecks(w, kernel);
            if (kernel.IsAdjoint) AdjointChecks(w, kernel);
            if (kernel.Reads(Signal.Feedback)) w.Line("if (layer.Feedback.Length != layer.Weights.Length) throw new global::System.ArgumentException(\"this rule reads or updates B: the layer needs feedback weights.\", nameof(layer));");
            w.Line("int rows = layer.Rows;");
            w.Line("int columns = layer.Columns;");
        }

        DeclareSignals(w, kernel);
        DeclareStates(w, kernel);
        foreach (CoefficientRef k in kernel.Plan.Coefficients) w.Line($"float {kernel.Coefficient(k)} = {kernel.CoefficientValue(k)};");
    }

    /// <summary>The passes over the targets, after the scratch rows they copy and the running sums they grow.</summary>
    private static void Passes(IndentedWriter w, KernelSymbols kernel)
    {
        foreach (OldRowSlice copy in kernel.Layout.Scratch.OfType<OldRowSlice>()) w.Line($"global::System.Span<float> {kernel.OldRow(copy.Matrix)} = {kernel.Slice(kernel.OldRow(copy.Matrix))};");
        foreach (RunningSumSlice sum in kernel.Layout.Scratch.OfType<RunningSumSlice>())
        {
            string name = kernel.RunningSum(sum.Weights, sum.Matrix);
            w.Line($"global::System.Span<float> {name} = {kernel.Slice(name)};");
            w.Line($"{name}.Clear();");
        }

        foreach (UpdatePass pass in kernel.Layout.Passes) Pass(w, kernel, pass);
    }

    /// <summary>The buffers a layer may leave empty (B̄ without a plastic B, ē without errors) must be there when the
    /// adjoint kernel reads, updates or adds to them.</summary>
    private static void AdjointChecks(IndentedWriter w, KernelSymbols kernel)
    {
        var written = new HashSet<Signal>(kernel.Plan.Outputs.Select(o => o.Signal?.Signal).OfType<Signal>());
        (Signal Signal, string Property, string Length, string Spelling)[] optional =
        {
            (Signal.Feedback, "Feedback", "layer.Weights.Length", "B̄"),
            (Signal.PostError, "PostError", "layer.Rows", "ē_l"),
            (Signal.PreError, "PreError", "layer.Columns", "ē_(l-1)"),
        };
        foreach (var (signal, property, length, spelling) in optional.Where(o => kernel.Reads(o.Signal, adjoint: true) || written.Contains(o.Signal)))
        {
            w.Line($"if (adjoint.{property}.Length != {length}) throw new global::System.ArgumentException({Literal($"this rule's adjoint reads or updates {spelling}: the adjoint needs it.")}, nameof(adjoint));");
        }
    }

    /// <summary>An adjoint kernel's vector adjoints and θ̄, from values computed before the passes.</summary>
    private static void AddAdjointOutputs(IndentedWriter w, KernelSymbols kernel)
    {
        if (kernel.Plan.Outputs.Count == 0) return;
        w.Line();
        w.Line("// The signals' adjoints and θ̄, from values computed before the passes.");
        foreach (AdjointOutput output in kernel.Plan.Outputs)
        {
            w.Line(output.Signal is { } signal
                ? $"{Primitives}.AddScaled({kernel.Context[signal].Value}, 1f, {kernel.Local(output.Column!)}); // {signal}"
                : $"thetaAdjoint[{Int(output.Coefficient)}] += {Sum(output.Scalar.Select(f => kernel.Factor(f, null)))}; // {SignalRef.Barred(new CoefficientRef(output.Coefficient).ToString())}");
        }
    }

    /// <summary>The tangents a layer may leave empty (Ḃ without a plastic B, ė without errors) must be there when the
    /// tangent kernel reads or updates them.</summary>
    private static void TangentChecks(IndentedWriter w, KernelSymbols kernel)
    {
        (Signal Signal, string Property, string Length, string Spelling)[] optional =
        {
            (Signal.Feedback, "Feedback", "layer.Weights.Length", "Ḃ"),
            (Signal.PostError, "PostError", "layer.Rows", "ė_l"),
            (Signal.PreError, "PreError", "layer.Columns", "ė_(l-1)"),
        };
        foreach (var (signal, property, length, spelling) in optional.Where(o => kernel.Reads(o.Signal, tangent: true)))
        {
            w.Line($"if (tangent.{property}.Length != {length}) throw new global::System.ArgumentException({Literal($"this rule's tangent reads or updates {spelling}: the tangent needs it.")}, nameof(tangent));");
        }
    }

    /// <summary>The matrices, the recurrent network's arrays and the signals the kernel reads, each with its check.</summary>
    private static void DeclareSignals(IndentedWriter w, KernelSymbols kernel)
    {
        string p = kernel.Context.Parameter;
        foreach (SignalSource matrix in kernel.Declared.Where(s => s.IsMatrix))
        {
            w.Line($"global::System.Span<float> {matrix.Local} = {matrix.Value};");
            if (!kernel.Model.Plan.Recurrent) continue;
            Shape shape = matrix.Signal.Shape;
            string needs = matrix.Signal.Tangent ? $"this rule's tangent reads or updates {matrix.Signal}: the tangent needs it.\", nameof(tangent)" : $"this rule reads or updates {matrix.Signal}: the network needs it.\", nameof({p})";
            w.Line($"if ({matrix.Local}.Length != {KernelContext.Size(shape.Rows)} * {KernelContext.Size(shape.Columns)}) throw new global::System.ArgumentException(\"{needs});");
        }

        foreach (ContextArray array in kernel.Context.Arrays.Where(a => kernel.Declared.Any(s => s.Array == a)))
        {
            w.Line($"global::System.ReadOnlySpan<float> {array.Local} = {(array.Tangent ? "tangent" : p)}.{array.Property};");
            string provide = array.Tangent ? $"this rule's tangent reads {array.Spelling}: the tangent must provide it.\", nameof(tangent)" : $"this rule reads {array.Spelling}: the network must provide it.\", nameof({p})";
            w.Line($"if ({array.Local}.Length != {array.Length}) throw new global::System.ArgumentException(\"{provide});");
        }

        foreach (SignalSource signal in kernel.Declared.Where(s => !s.IsMatrix && !s.PerTime && s.Local != s.Array?.Local))
        {
            w.Line($"global::System.ReadOnlySpan<float> {signal.Local} = {signal.Value ?? KernelContext.Slice(signal)};");
        }
    }

    /// <summary>Every vector and scalar of every t = 1…T−1, from the pre-update weights, into the per-t scratch; the
    /// sums over t accumulated.</summary>
    private static void PerTimeSteps(IndentedWriter w, KernelSymbols kernel)
    {
        Step[] perTime = kernel.Plan.Steps.Where(x => x.PerTime || x.Operation is TimeSum).ToArray();
        if (perTime.Length == 0) return;
        w.Line();
        foreach (Step step in perTime.Where(x => kernel.HasSlice(kernel.Name(x) + "s"))) w.Line($"global::System.Span<float> {kernel.Name(step)}s = {kernel.Slice(kernel.Name(step) + "s")};");
        foreach (Step step in perTime.Where(x => x.Operation is TimeSum)) w.Line($"float {kernel.Name(step)} = 0f;");
        w.Open("for (int t = 0; t < transitions; t++)");
        var operands = new HashSet<VectorRef>(perTime.SelectMany(x => x.Operation.Operands));
        foreach (SignalSource signal in kernel.Context.Signals.Where(s => s.PerTime && operands.Contains(s.Signal)))
        {
            w.Line($"global::System.ReadOnlySpan<float> {signal.Local} = {KernelContext.Slice(signal)};");
        }

        foreach (Step step in perTime)
        {
            string name = kernel.Name(step);
            w.Line();
            w.Line($"// {name} = {step.Description}");
            if (step.Operation is TimeSum sum)
            {
                w.Line($"{name} += {kernel.Factor(sum.Summand, null)};");
            }
            else if (step.IsScalar)
            {
                w.Line($"float {name} = {ScalarStep(step, kernel)};");
                if (kernel.HasSlice(name + "s")) w.Line($"{name}s[t] = {name};");
            }
            else
            {
                string size = KernelContext.Size(step.Length);
                w.Line($"global::System.Span<float> {name} = {name}s.Slice(t * {size}, {size});");
                foreach (string line in VectorStep(step, kernel)) w.Line(line);
            }
        }

        w.Close();
    }

    /// <summary>One loop over the rows of the pass's targets: the hoisted keep factors before it; in it, the copies of
    /// the rows that terms read whole, then each target's row updates, those of every t in a loop over t.</summary>
    private static void Pass(IndentedWriter w, KernelSymbols kernel, UpdatePass pass)
    {
        TargetUpdate[] targets = pass.Targets.Select(m => kernel.Plan.Targets.Single(t => t.Matrix == m)).ToArray();
        w.Line();
        foreach (TargetUpdate target in targets.Where(t => kernel.Layout.HoistedKeeps.Contains(t.Matrix)))
        {
            w.Line($"float {kernel.Keep(target.Matrix)} = 1f + ({Sum(target.OwnScales.Select(x => kernel.Factor(x.Factor, null)))});");
        }

        string everyT = kernel.Model.Plan.Recurrent ? ", those of every t included," : "";
        w.Line($"// One pass over {string.Join(" and ", pass.Targets)}: each row gets all its terms{everyT} while it is in cache.");
        Shape shape = pass.Targets[0].Shape;
        string rows = KernelContext.Size(shape.Rows), columns = KernelContext.Size(shape.Columns);
        w.Open($"for (int i = 0; i < {rows}; i++)");
        foreach (SignalRef matrix in pass.OldRowCopies) w.Line($"{kernel.Local(matrix)}.Slice(i * {columns}, {columns}).CopyTo({kernel.OldRow(matrix)});");
        foreach (RunningSumSlice sum in kernel.Layout.Scratch.OfType<RunningSumSlice>().Where(x => targets.Any(t => t.Triangles.Any(u => u.Weights == x.Weights && u.Matrix == x.Matrix))))
        {
            // Row i of the pre-update matrix joins the running sum before any row i changes.
            w.Line($"{Primitives}.AddScaled({kernel.RunningSum(sum.Weights, sum.Matrix)}, {kernel.AtRow(sum.Weights)}, {kernel.Local(sum.Matrix)}.Slice(i * {columns}, {columns}));");
        }

        foreach (TargetUpdate target in targets)
        {
            SignalSource source = kernel.Context[target.Matrix];
            w.Line($"global::System.Span<float> {source.RowLocal} = {source.Local}.Slice(i * {columns}, {columns});");
            foreach (string line in RowUpdateCalls(kernel, target, source.RowLocal)) w.Line(line);
            RowUpdate[] timed = target.Rows.Where(r => r.PerTime).ToArray();
            if (timed.Length == 0) continue;
            w.Open("for (int t = 0; t < transitions; t++)");
            var terms = timed.Select(u => (Sum(u.Terms.Select(t => kernel.Factor(t.Factor, t.Column is null ? null : kernel.ElementAtT(t.Column), atT: true))), kernel.VectorAtT(u.RowVector))).ToList();
            foreach (string line in FusedUpdateCalls(source.RowLocal, null, terms)) w.Line(line);
            w.Close();
        }

        if (kernel.MultipliesNextInput && pass.Targets.Contains(new SignalRef(Signal.Weights)))
        {
            w.Line($"{Primitives}.MultiplyUpdatedRow({kernel.Local(new SignalRef(Signal.Weights))}, {rows}, {columns}, i, nextInput, nextProduct);");
        }

        if (kernel.IsAdjoint)
        {
            // The caller's rank-one terms, after the row's own (ApplyAdjointUpdate).
            foreach (TargetUpdate target in targets)
            {
                string terms = target.Matrix.Signal == Signal.Weights ? "weightsTerms" : "feedbackTerms";
                w.Line($"{terms}.AddToRow({kernel.Context[target.Matrix].RowLocal}, i);");
            }
        }

        w.Close();
    }

    /// <summary>
    /// The time-independent update of row i of a target: its scale, its rank-one terms and the terms that add another
    /// matrix's old row, all in fused calls (<see cref="FusedUpdateCalls"/>); then each term scaled column by column
    /// (c·diag(a)·M·diag(b)), whose vector is a product of two, in its own <c>AddScaledProduct</c> pass.
    /// </summary>
    private static IEnumerable<string> RowUpdateCalls(KernelSymbols kernel, TargetUpdate target, string row)
    {
        ScaleTerm[] own = target.OwnScales.ToArray();
        string columns = KernelContext.Size(target.Matrix.Shape.Columns);
        string? keep = kernel.Layout.HoistedKeeps.Contains(target.Matrix) ? kernel.Keep(target.Matrix)
            : own.Length == 0 ? null : "1f + " + Parenthesized(Sum(own.Select(x => kernel.Factor(x.Factor, kernel.AtRow(x.RowScale)))));
        var terms = target.Rows.Where(r => !r.PerTime)
            .Select(r => (Sum(r.Terms.Select(t => kernel.Factor(t.Factor, kernel.AtRow(t.Column)))), kernel.Local(r.RowVector)))
            .Concat(target.Scales.Where(x => x.Matrix != target.Matrix && x.ColumnScale is null)
                .Select(x => (kernel.Factor(x.Factor, kernel.AtRow(x.RowScale)), kernel.WholeRow(x.Matrix, columns))))
            .Concat(target.Triangles.Select(u => (Sum(u.Terms.Select(t => kernel.Factor(t.Factor, kernel.AtRow(t.Column)))), kernel.RunningSum(u.Weights, u.Matrix))))
            .ToList();
        foreach (string call in FusedUpdateCalls(row, keep, terms)) yield return call;
        foreach (ScaleTerm term in target.Scales.Where(x => x.ColumnScale is not null))
        {
            yield return $"{Primitives}.AddScaledProduct({row}, {kernel.Factor(term.Factor, kernel.AtRow(term.RowScale))}, {kernel.WholeRow(term.Matrix, columns)}, {kernel.Local(term.ColumnScale!)});";
        }

        // Terms that read weights elementwise (sign(W), W .* B, (a bᵀ) .* sq(W)): one element at a time, from the rows as
        // they were before the pass.
        foreach (ElementwiseUpdate term in target.Elementwise)
        {
            string product = string.Join(" * ", term.Factors.Select(f => Element(kernel, f, columns))
                .Concat(term.ColumnScale is null ? Array.Empty<string>() : new[] { kernel.Local(term.ColumnScale) + "[j]" }));
            yield return "{";
            yield return $"    float scale = {Sum(term.Terms.Select(t => kernel.Factor(t.Factor, kernel.AtRow(t.Column))))};";
            yield return $"    for (int j = 0; j < {columns}; j++) {row}[j] += scale * {product};";
            yield return "}";
        }
    }

    /// <summary>Element j of row i of a factor: in the pass, the old row's copy when the pass changes the matrix, else the
    /// matrix in place; before the passes (<paramref name="inPlace"/>), the matrix in place.</summary>
    private static string Element(KernelSymbols kernel, MatrixFactor factor, string columns, bool inPlace = false) => factor switch
    {
        MatrixElement m => !inPlace && kernel.HasSlice(kernel.OldRow(m.Source)) ? kernel.OldRow(m.Source) + "[j]" : $"{kernel.Local(m.Source)}[i * {columns} + j]",
        MappedElement { Function: ElementFunction.Activation } f => $"Activation({kernel.Context.Parameter}).Apply({Element(kernel, f.Operand, columns, inPlace)})",
        MappedElement { Function: ElementFunction.ActivationDerivative } f => $"Activation({kernel.Context.Parameter}).Derivative({Element(kernel, f.Operand, columns, inPlace)})",
        MappedElement f => $"{Primitives}.{f.Function}({Element(kernel, f.Operand, columns, inPlace)})",
        _ => throw new InvalidOperationException("unknown matrix factor " + factor),
    };

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

    /// <summary>The products of a <see cref="Layout.ProductPass"/>, each described as its own step is, computed by one
    /// KernelPrimitives.MatrixPass over their matrix.</summary>
    private static void ProductPass(IndentedWriter w, KernelSymbols kernel, ProductPass pass)
    {
        Step[] steps = pass.Steps.Select(i => kernel.Plan.Steps.First(s => !s.IsScalar && s.Index == i)).ToArray();
        w.Line();
        foreach (Step step in steps) w.Line($"// {kernel.Name(step)} = {step.Description}");
        w.Line($"// One pass over {pass.Matrix} for these {Int(steps.Length)} products.");
        foreach (Step step in steps) w.Line($"global::System.Span<float> {kernel.Name(step)} = {kernel.Slice(kernel.Name(step))};");
        Shape shape = pass.Matrix.Shape;
        w.Line($"{Primitives}.Pass({kernel.Local(pass.Matrix)}, {KernelContext.Size(shape.Rows)}, {KernelContext.Size(shape.Columns)})");
        foreach (Step step in steps)
        {
            string v = kernel.Name(step);
            w.Line("    " + step.Operation switch
            {
                MultiplyMatrix { Transposed: true } m => $".TransposedTimes({kernel.Local(m.Operand)}, {v})",
                MultiplyMatrix m => $".Times({kernel.Local(m.Operand)}, {v})",
                SumElementwiseRows { Factors: [MatrixElement a, MatrixElement b] } => $".RowDots({kernel.Local(a.Source == pass.Matrix ? b.Source : a.Source)}, {v})",
                _ => throw new InvalidOperationException("not a product of a matrix pass: " + step.Operation),
            });
        }

        w.Line("    .Run();");
    }

    private static IEnumerable<string> VectorStep(Step step, KernelSymbols kernel)
    {
        string v = kernel.Name(step);
        string activation = $"Activation({kernel.Context.Parameter})";
        switch (step.Operation)
        {
            case MultiplyMatrix m:
                Shape shape = m.Matrix.Shape;
                yield return $"{Primitives}.{(m.Transposed ? "MultiplyTransposedVector" : "MultiplyVector")}({kernel.Local(m.Matrix)}, {KernelContext.Size(shape.Rows)}, {KernelContext.Size(shape.Columns)}, {kernel.Local(m.Operand)}, {v});";
                break;
            case MultiplyElementwise m:
            {
                // One pass over the factors' rows, as MultiplyVector and MultiplyTransposedVector make over a matrix.
                (string rows, string columns, string product) = ElementwiseRows(kernel, m.Factors);
                string x = kernel.Local(m.Operand);
                if (!m.Transposed)
                {
                    foreach (string line in RowSums(v, rows, columns, $"{product} * {x}[j]")) yield return line;
                    break;
                }

                yield return $"{v}.Clear();";
                yield return $"for (int i = 0; i < {rows}; i++)";
                yield return "{";
                yield return $"    float xi = {x}[i];";
                yield return $"    for (int j = 0; j < {columns}; j++) {v}[j] += {product} * xi;";
                yield return "}";
                break;
            }
            case SumElementwiseRows s:
            {
                // One pass over the factors' rows; two matrices read as they are (⟨Ū, W⟩ row by row) as SIMD dot products.
                (string rows, string columns, string product) = ElementwiseRows(kernel, s.Factors);
                if (s.Factors is [MatrixElement first, MatrixElement second])
                {
                    string Row(MatrixFactor f) => $"{kernel.Local(f.Matrix)}.Slice(i * {columns}, {columns})";
                    yield return $"for (int i = 0; i < {rows}; i++) {v}[i] = {Primitives}.Dot({Row(first)}, {Row(second)});";
                    break;
                }

                foreach (string line in RowSums(v, rows, columns, product)) yield return line;
                break;
            }
            case Hadamard h:
                yield return $"{Primitives}.Multiply({kernel.Local(h.Left)}, {kernel.Local(h.Right)}, {v});";
                break;
            case MapVector { Function: ElementFunction.Activation } f:
                yield return $"{activation}.Apply({kernel.Local(f.Operand)}, {v});";
                break;
            case MapVector { Function: ElementFunction.ActivationDerivative } f:
                yield return $"{activation}.Derivative({kernel.Local(f.Operand)}, {v});";
                break;
            case MapVector f:
                yield return $"{Primitives}.{f.Function}({kernel.Local(f.Operand)}, {v});";
                break;
            case Ones:
                yield return $"{v}.Fill(1f);";
                break;
            case Combine c:
                yield return $"{v}.Clear();";
                foreach (string call in FusedUpdateCalls(v, null, c.Terms.Select(t => (kernel.Factor(t.Factor, null), kernel.Local(t.Vector))).ToList())) yield return call;
                break;
            default:
                throw new InvalidOperationException("not a vector step: " + step.Operation);
        }
    }

    /// <summary>The size expressions of weights read elementwise, and the product of their elements at [i, j].</summary>
    private static (string Rows, string Columns, string Product) ElementwiseRows(KernelSymbols kernel, EquatableArray<MatrixFactor> factors)
    {
        Shape shape = factors[0].Matrix.Shape;
        string columns = KernelContext.Size(shape.Columns);
        return (KernelContext.Size(shape.Rows), columns, string.Join(" * ", factors.Select(f => Element(kernel, f, columns, inPlace: true))));
    }

    /// <summary>v[i] = Σ_j summand, row by row, in a scalar loop.</summary>
    private static IEnumerable<string> RowSums(string v, string rows, string columns, string summand)
    {
        yield return $"for (int i = 0; i < {rows}; i++)";
        yield return "{";
        yield return "    float sum = 0f;";
        yield return $"    for (int j = 0; j < {columns}; j++) sum += {summand};";
        yield return $"    {v}[i] = sum;";
        yield return "}";
    }

    private static string ScalarStep(Step step, KernelSymbols kernel) => step.Operation switch
    {
        Dot d => $"{Primitives}.Dot({kernel.Local(d.Left)}, {kernel.Local(d.Right)})",
        Reduce r => $"{Primitives}.{r.Reduction}({kernel.Local(r.Operand)})",
        ReadState r => kernel.Local(r.State) + "[0]",
        MapScalar { Function: ElementFunction.Activation } m => $"Activation({kernel.Context.Parameter}).Apply({Sum(m.Argument.Select(f => kernel.Factor(f, null)))})",
        MapScalar { Function: ElementFunction.ActivationDerivative } m => $"Activation({kernel.Context.Parameter}).Derivative({Sum(m.Argument.Select(f => kernel.Factor(f, null)))})",
        MapScalar m => $"{Primitives}.{m.Function}({Sum(m.Argument.Select(f => kernel.Factor(f, null)))})",
        _ => throw new InvalidOperationException("not a scalar step: " + step.Operation),
    };
}
