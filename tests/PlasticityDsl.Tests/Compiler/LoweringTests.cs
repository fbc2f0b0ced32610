using PlasticityDsl.Language.Emit;
using PlasticityDsl.Language;
using PlasticityDsl.Language.Binding;
using PlasticityDsl.Language.Lowering;
using Xunit;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>The lowering to kernel plans: matrix-vector products only, never an n×n temporary; shared
/// vectors and inner products computed once; like terms merged; models equatable and position-free.</summary>
public sealed class LoweringTests
{
    private static KernelModel Lower(string text, string stem = "lowered")
    {
        CompiledRule compiled = RuleFrontEnd.Compile(stem, text);
        Assert.True(compiled.Succeeded, string.Join("\n", compiled.Diagnostics));
        return compiled.Model!;
    }

    private static ScalarFactor Factor(double constant, int[]? coefficients = null, int[]? dots = null) =>
        new(constant, (coefficients ?? Array.Empty<int>()).Select(k => new CoefficientRef(k)).ToEquatableArray(), (dots ?? Array.Empty<int>()).ToEquatableArray());

    /// <summary>A vector by the name the kernel gives it: a layer signal's local, or v0, v1, … for computed vectors.</summary>
    private static VectorRef Ref(string name) => name switch
    {
        "post" => new SignalRef(Signal.PostActivity),
        "pre" => new SignalRef(Signal.PreActivity),
        "potential" => new SignalRef(Signal.PostPotential),
        "postError" => new SignalRef(Signal.PostError),
        "preError" => new SignalRef(Signal.PreError),
        _ => new ComputedVector(int.Parse(name.Substring(1), System.Globalization.CultureInfo.InvariantCulture)),
    };

    private static RowTerm Term(ScalarFactor factor, string? column) => new(factor, column is null ? null : Ref(column));

    private static RowUpdate Row(string rowVector, params RowTerm[] terms) => new(Ref(rowVector), terms.ToEquatableArray());

    private static Step[] Vectors(KernelModel model) => model.Plan.Steps.Where(s => !s.IsScalar).ToArray();

    private static Step[] Dots(KernelModel model) => model.Plan.Steps.Where(s => s.IsScalar).ToArray();

    private static TargetUpdate Weights(KernelModel model) => model.Plan.Targets.Single(t => t.Matrix.Signal == Signal.Weights);

    /// <summary>The factors of the c·W terms.</summary>
    private static ScalarFactor[] Decay(KernelModel model) =>
        Weights(model).Scales.Where(x => x is { Matrix.Signal: Signal.Weights, RowScale: null, ColumnScale: null }).Select(x => x.Factor).ToArray();

    private static RowUpdate[] RowUpdates(KernelModel model) => Weights(model).Rows.ToArray();

    private static bool Reads(KernelModel model, Signal signal) => model.Layout.Reads.Contains(new SignalRef(signal));

    /// <summary>Scratch vectors of length n_l and n_(l-1).</summary>
    private static (int Post, int Pre) ScratchVectors(KernelModel model) =>
        (model.Layout.Scratch.Count(s => s.Length == Dimension.Post), model.Layout.Scratch.Count(s => s.Length == Dimension.Pre));

    private static Step MatrixVector(int index, bool transposed, string operand, string description) =>
        new(index, transposed ? Dimension.Pre : Dimension.Post, new MultiplyMatrix(new SignalRef(Signal.Weights), transposed, Ref(operand)), description);

    [Fact]
    public void Bp_oja_needs_one_transposed_matrix_vector_product_and_no_square_matrix()
    {
        KernelModel model = Lower(ExampleRules.Get("bp_oja").Text, "bp_oja");

        Step step = Assert.Single(Vectors(model));
        Assert.Equal(MatrixVector(0, true, "post", "W'*y_l"), step);
        Assert.Empty(Dots(model));
        Assert.Empty(Decay(model));
        Assert.Equal(new[] { 0, 2 }, model.Plan.Coefficients.Select(k => k.Index));
        Assert.True(Reads(model, Signal.PostError));
        Assert.False(Reads(model, Signal.PreError));

        // (y_l*y_l')*W became y_l (Wᵀy_l)ᵀ: row i gets (-t0 e_l[i] + t2 y_l[i]) y_<l-1> - t2 y_l[i] (Wᵀy_l).
        Assert.Equal(new[]
        {
            Row("pre", Term(Factor(-1, new[] { 0 }), "postError"), Term(Factor(1, new[] { 2 }), "post")),
            Row("v0", Term(Factor(-1, new[] { 2 }), "post")),
        }, RowUpdates(model));

        // No n×n quantity anywhere: scratch is one n_<l-1> vector and every cost term is at most n_l·n_<l-1>.
        Assert.Equal((0, 1), ScratchVectors(model));
        Assert.Equal("3·n_l·n_<l-1>", model.Layout.Cost);
        Assert.DoesNotContain("n_l·n_l", model.Layout.Cost, StringComparison.Ordinal);
        Assert.DoesNotContain("n_<l-1>·n_<l-1>", model.Layout.Cost, StringComparison.Ordinal);
        Assert.Equal("dW = -t0*e_l*y_<l-1>' + t2*(y_l*y_<l-1>' - (y_l*y_l')*W)", model.Source);
        Assert.Equal(("bp_oja", "BpOjaRule"), (model.RuleName, model.ClassName));
    }

    [Fact]
    public void The_model_ignores_layout_and_comments()
    {
        string original = ExampleRules.Get("bp_oja").Text;
        const string relaid = "// same rule, new layout\r\n\r\ndW = - t0 * e_l * y_<l-1>'   # the BP term\r\n   + t2 * ( y_l*y_<l-1>'\r\n - (y_l*y_l') * W )\r\n";
        KernelModel a = Lower(original, "bp_oja"), b = Lower(relaid, "bp_oja");
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, Lower(original.Replace("t2", "t3", StringComparison.Ordinal), "bp_oja"));
    }

    [Fact]
    public void Opposite_decays_cancel()
    {
        KernelModel model = Lower("dW = t0*W - t0*W + e_l*y_<l-1>'");
        Assert.Empty(Decay(model));
        Assert.Empty(Vectors(model));
        Assert.Equal(new[] { Row("pre", Term(Factor(1), "postError")) }, RowUpdates(model));
        Assert.DoesNotContain("keep", KernelEmitter.Emit(model), StringComparison.Ordinal);
    }

    [Fact]
    public void A_scalar_times_W_is_a_decay_with_an_inner_product()
    {
        KernelModel model = Lower("dW = (e_l'*e_l)*W");
        Step dot = Assert.Single(Dots(model));
        Assert.Equal(new[] { Ref("postError"), Ref("postError") }, dot.Operation.Operands);
        Assert.Equal(Dimension.Post, dot.Length);
        Assert.Equal(new[] { Factor(1, dots: new[] { 0 }) }, Decay(model));
        Assert.Empty(RowUpdates(model));
        Assert.Empty(Vectors(model));
        Assert.True(Reads(model, Signal.PostError));
        Assert.Empty(model.Plan.Coefficients);
    }

    [Fact]
    public void An_inner_product_inside_a_chain_becomes_a_scalar_factor()
    {
        KernelModel model = Lower("dW = y_l*(y_l'*e_l)*y_<l-1>'");
        Step dot = Assert.Single(Dots(model));
        Assert.Equal(new[] { Ref("postError"), Ref("post") }, dot.Operation.Operands.OrderBy(s => s.ToString(), StringComparer.Ordinal));
        Assert.Empty(Vectors(model));
        Assert.Equal(new[] { Row("pre", Term(Factor(1, dots: new[] { 0 }), "post")) }, RowUpdates(model));
    }

    [Fact]
    public void A_chain_of_weights_ending_in_a_vector_lowers_to_matrix_vector_products()
    {
        KernelModel model = Lower("dW = W*W'*e_l*y_<l-1>'");
        Assert.Equal(Lower("dW = W*(W'*e_l)*y_<l-1>'") with { Source = model.Source }, model);
    }

    [Fact]
    public void W_times_W_transpose_times_a_vector_is_two_matrix_vector_products()
    {
        KernelModel model = Lower("dW = W*(W'*e_l)*y_<l-1>'");
        Assert.Equal(new[]
        {
            MatrixVector(0, true, "postError", "W'*e_l"),
            MatrixVector(1, false, "v0", "W*(W'*e_l)"),
        }, Vectors(model));
        Assert.Equal(new[] { Row("pre", Term(Factor(1), "v1")) }, RowUpdates(model));
        Assert.Equal((1, 1), ScratchVectors(model));
    }

    [Fact]
    public void A_transposed_outer_product_lowers_like_the_outer_product_it_equals()
    {
        KernelModel transposed = Lower("dW = -(y_<l-1>*e_l')'");
        KernelModel direct = Lower("dW = -e_l*y_<l-1>'");
        // The update's plan and layout are equal; the tangents list the same terms in another order.
        Assert.Equal((direct.Plan, direct.Layout), (transposed.Plan, transposed.Layout));
        Assert.Equal(new[] { Row("pre", Term(Factor(-1), "postError")) }, RowUpdates(transposed));
    }

    [Fact]
    public void A_rule_without_errors_reads_no_error_signal()
    {
        KernelModel model = Lower(ExampleRules.Get("oja").Text, "oja");
        Assert.False(Reads(model, Signal.PostError));
        Assert.False(Reads(model, Signal.PreError));
        Assert.Contains("public global::PlasticityDsl.Runtime.RuleSignals Signals => global::PlasticityDsl.Runtime.RuleSignals.None;", KernelEmitter.Emit(model), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dW = t1*e_l*e_<l-1>'", true, true)]
    [InlineData("dW = z_l*y_<l-1>'", false, false)]
    [InlineData("dW = -t3*W", false, false)]
    [InlineData("dW = W*(e_<l-1>*y_<l-1>')", false, true)]
    public void Error_signals_are_read_exactly_when_used(string text, bool post, bool pre)
    {
        KernelModel model = Lower(text);
        Assert.Equal((post, pre), (Reads(model, Signal.PostError), Reads(model, Signal.PreError)));
    }

    [Fact]
    public void Like_terms_merge_and_equal_vectors_are_computed_once()
    {
        KernelModel model = Lower("dW = t1*e_l*y_<l-1>' + t1*e_l*y_<l-1>' + (y_l*y_l')*W + (e_l*y_l')*W");
        Step step = Assert.Single(Vectors(model));
        Assert.Equal("W'*y_l", step.Description);
        Assert.Equal(new[]
        {
            Row("pre", Term(Factor(2, new[] { 1 }), "postError")),
            Row("v0", Term(Factor(1), "post"), Term(Factor(1), "postError")),
        }, RowUpdates(model));
    }

    [Fact]
    public void Oja_terms_with_proportional_coefficients_add_one_combined_vector()
    {
        KernelModel model = Lower(ExampleRules.Get("oja").Text, "oja");

        // t2 y_l[i] y_<l-1> - t2 y_l[i] Wᵀy_l = t2 y_l[i] (y_<l-1> - Wᵀy_l): each row streams one vector instead of two.
        Assert.Equal(new[] { Row("v1", Term(Factor(1, new[] { 2 }), "post")) }, RowUpdates(model));
        Step combined = Vectors(model)[1];
        Assert.Equal("y_<l-1> - (W'*y_l)", combined.Description);
        Assert.Equal(new[] { Ref("pre"), Ref("v0") }, combined.Operation.Operands);
        Assert.Equal(new[] { Factor(1), Factor(-1) }, Assert.IsType<Combine>(combined.Operation).Terms.Select(t => t.Factor));
        Assert.Equal((0, 2), ScratchVectors(model));
        Assert.Equal("2·n_l·n_<l-1> + n_<l-1>", model.Layout.Cost);
    }

    [Fact]
    public void Coefficients_proportional_by_symbols_or_a_power_of_two_merge()
    {
        // (y_l - t5)(y_<l-1> - t6)ᵀ: the coefficient of the ones row is -t6 times that of the y_<l-1> row.
        KernelModel centered = Lower("dW = t0*(y_l - t5)*(y_<l-1> - t6)'");
        Step combined = Vectors(centered).Single(s => s.Operation is Combine);
        Assert.Equal("y_<l-1> - t6*ones_<l-1>", combined.Description);
        Assert.Equal(new[] { Factor(1), Factor(-1, new[] { 6 }) }, Assert.IsType<Combine>(combined.Operation).Terms.Select(t => t.Factor));
        Assert.Equal(new[] { Row("v" + combined.Index, Term(Factor(1, new[] { 0 }), "post"), Term(Factor(-1, new[] { 0, 5 }), null)) },
            RowUpdates(centered));

        KernelModel halved = Lower("dW = y_l*y_<l-1>' - 0.5*y_l*e_<l-1>'");
        Assert.Equal("y_<l-1> - 0.5*e_<l-1>", Assert.Single(Vectors(halved)).Description);
        Assert.Equal(new[] { Row("v0", Term(Factor(1), "post")) }, RowUpdates(halved));
    }

    [Theory]
    [InlineData("dW = y_l*y_<l-1>' + 3*y_l*e_<l-1>'")] // not a power of two: in float, 3·c need not be float(3c)
    [InlineData("dW = y_l*y_<l-1>' + e_l*e_<l-1>'")] // different columns
    [InlineData("dW = (y_l + e_l)*y_<l-1>' + y_l*e_<l-1>'")] // one of two terms in common
    public void Rows_whose_coefficients_are_not_proportional_stay_apart(string text)
    {
        KernelModel model = Lower(text);
        Assert.Equal(2, RowUpdates(model).Length);
        Assert.DoesNotContain(Vectors(model), s => s.Operation is Combine);
    }

    [Fact]
    public void A_row_with_more_terms_than_the_widest_fused_call_chains_a_second_call()
    {
        string emitted = KernelEmitter.Emit(Lower("dW = e_l*y_<l-1>' + y_l*e_<l-1>' + z_l*(W'*e_l)' + (e_l .* y_l)*(W'*y_l)' - t3*W"));

        // The decay and three terms in one pass over the row, the fourth term in a second.
        const string Primitives = "global::PlasticityDsl.Runtime.KernelPrimitives";
        Assert.Contains($"{Primitives}.ScaleAddScaled(row, keepWeights,\n" +
            "                    postError[i], pre,\n" +
            "                    post[i], preError,\n" +
            "                    potential[i], v1);\n" +
            $"                {Primitives}.AddScaled(row, v0[i], v2);\n", emitted, StringComparison.Ordinal);
    }

    [Fact]
    public void Equal_inner_products_written_both_ways_are_computed_once()
    {
        KernelModel model = Lower("dW = (e_l'*y_l)*W + t1*(y_l'*e_l)*W");
        Assert.Single(Dots(model));
        Assert.Equal(2, Decay(model).Length);
    }

    [Fact]
    public void Inner_product_descriptions_parenthesize_compound_vectors()
    {
        KernelModel model = Lower("dW = (y_l'*W*y_<l-1>)*W");
        Assert.Equal("(W'*y_l)'*y_<l-1>", Assert.Single(Dots(model)).Description);
    }

    [Fact]
    public void An_update_that_expands_past_the_term_limit_is_refused_at_its_right_hand_side()
    {
        // (t0 + t1)^11 multiplies out to 2,048 terms, more than a kernel may have.
        string value = string.Join("*", Enumerable.Repeat("(t0 + t1)", 11)) + "*W";
        string text = "# too large\ndW = " + value + "\n";
        CompiledRule compiled = RuleFrontEnd.Compile("large", text);
        Assert.Null(compiled.Model);
        RuleDiagnostic diagnostic = Assert.Single(compiled.Diagnostics);
        Assert.Equal(DiagnosticCode.RuleTooLarge, diagnostic.Code);
        Assert.Equal(new SourceSpan(text.IndexOf(value, StringComparison.Ordinal), value.Length, 1, 5, 1, 5 + value.Length), diagnostic.Span);
    }

    [Fact]
    public void A_short_rule_whose_kernel_would_be_megabytes_is_refused_at_its_update()
    {
        // 10 matrix terms cubed elementwise: 1,000 terms, 94 KB of C# from a 250-byte rule (issue 10, item 9).
        const string let = "let S = y_l*y_l'*W + e_l*e_l'*W + y_l*e_l'*W + e_l*y_l'*W + z_l*z_l'*W + z_l*y_l'*W + y_l*z_l'*W + e_l*z_l'*W + z_l*e_l'*W + f(z_l)*y_l'*W\n";
        const string value = "t0*(S .* S .* S)";
        string text = let + "dW = " + value + "\n";
        CompiledRule compiled = RuleFrontEnd.Compile("costly", text);
        Assert.Null(compiled.Model);
        RuleDiagnostic diagnostic = Assert.Single(compiled.Diagnostics);
        Assert.Equal(DiagnosticCode.RuleTooLarge, diagnostic.Code);
        Assert.Contains("KiB of C# (at most 64 KiB)", diagnostic.Message, StringComparison.Ordinal);
        Assert.Equal(new SourceSpan(text.IndexOf(value, StringComparison.Ordinal), value.Length, 1, 5, 1, 5 + value.Length), diagnostic.Span);
        // Every example rule stays far below the bound.
        Assert.All(ExampleRules.Layer, r => Assert.True(RuleFrontEnd.Compile(r.Stem, r.Text).Succeeded, r.Stem));
    }

    [Fact]
    public void Lowering_starts_from_the_bound_tree()
    {
        // The front end and a direct Binder + Lowerer run agree (the path the differential tests rely on).
        const string text = "dW = 0.5*t2*(y_l*y_<l-1>' - (y_l*y_l')*W) - t0*e_l*y_<l-1>'";
        Assert.True(PlasticityDsl.Language.Syntax.RuleParser.TryParse(text, out var syntax, out _));
        var binder = new Binder();
        IReadOnlyList<BoundUpdate> updates = binder.Bind(syntax!);
        Assert.Empty(binder.Diagnostics);
        Assert.Equal(Shape.Weights, Assert.Single(updates).Value.Shape);
        Assert.True(Lowerer.TryLower(updates, out KernelPlan? direct, out _));
        Assert.Equal(Lower(text).Plan, direct);
    }
}
