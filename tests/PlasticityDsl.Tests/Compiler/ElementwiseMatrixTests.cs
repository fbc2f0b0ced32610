using PlasticityDsl.Language;
using PlasticityDsl.Language.Binding;
using PlasticityDsl.Language.Lowering;
using Xunit;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>Elementwise functions and products of the weights (<c>sign(W)</c>, <c>W .* B</c>, <c>(y_l*y_&lt;l-1&gt;') .* (1 - sq(W))</c>):
/// the term kind they lower to, its cost, and located diagnostics where no elementwise pass computes them. Numerical
/// agreement with the dense reference and the tangents are in LanguageDifferentialTests ("elementwise_weights") and
/// DifferentiatorTests.</summary>
public sealed class ElementwiseMatrixTests
{
    private static KernelModel Compile(string text)
    {
        CompiledRule compiled = RuleFrontEnd.Compile("t", text);
        Assert.True(compiled.Succeeded, string.Join("\n", compiled.Diagnostics.Select(d => d.Format("t.rule"))));
        return compiled.Model!;
    }

    [Fact]
    public void L1_decay_is_one_elementwise_term_in_the_backprop_pass()
    {
        KernelModel model = Compile("dW = -t0*e_l*y_<l-1>' - t3*sign(W)");
        TargetUpdate target = Assert.Single(model.Plan.Targets);
        ElementwiseUpdate term = Assert.Single(target.Elementwise);
        Assert.Equal(new MappedElement(ElementFunction.Sign, new MatrixElement(new SignalRef(Signal.Weights))), Assert.Single(term.Factors));
        RowTerm coefficient = Assert.Single(term.Terms);
        Assert.Equal(-1, coefficient.Factor.Constant);
        Assert.Null(coefficient.Column);
        Assert.Null(term.ColumnScale);
        Assert.Single(model.Layout.Passes);
        Assert.Equal("2·n_l·n_<l-1>", model.Layout.Cost);
    }

    [Fact]
    public void Products_of_weights_are_like_terms_in_either_order_and_keep_their_outer_scales()
    {
        KernelModel model = Compile("dW = t1*W .* B + t1*B .* W + t3*(y_l*y_<l-1>') .* (1 - sq(W))");
        TargetUpdate target = Assert.Single(model.Plan.Targets);
        Assert.Equal(2, target.Elementwise.Count); // W .* B and B .* W merged; y x' .* sq(W)
        Assert.Equal(2, Assert.Single(target.Elementwise[0].Terms).Factor.Constant);
        ElementwiseUpdate bounded = target.Elementwise[1];
        Assert.NotNull(Assert.Single(bounded.Terms).Column);
        Assert.NotNull(bounded.ColumnScale);
        Assert.Single(target.Rows); // t3·y x' itself
    }

    [Fact]
    public void Terms_with_one_product_of_weights_and_one_column_scale_share_a_loop()
    {
        // The tangent of (y x') .* sq(W) has ẏ x' .* sq(W) and y x' .* sq(W) (ṫ2): one loop, their row coefficients summed.
        KernelModel model = Compile("dW = t2*(y_l*y_<l-1>') .* sq(W) + t1*(e_l*y_<l-1>') .* sq(W) - t3*(y_l*e_<l-1>') .* sq(W)");
        TargetUpdate target = Assert.Single(model.Plan.Targets);
        Assert.Equal(2, target.Elementwise.Count);
        Assert.Equal(2, target.Elementwise[0].Terms.Count);
        Assert.Equal("2·n_l·n_<l-1>", model.Layout.Cost); // one n_l·n_<l-1> per factor of each loop
    }

    [Fact]
    public void A_function_of_a_computed_matrix_is_located_at_its_argument()
    {
        const string text = "dW = -t3*exp(y_l*y_l')*W";
        RuleDiagnostic d = ShapeCheckerTests.Single(text);
        Assert.Equal(DiagnosticCode.FunctionArgument, d.Code);
        ShapeCheckerTests.AssertAt(d, text, "y_l*y_l'", 0, 13);
    }

    [Theory]
    [InlineData("dW = (sign(W)*y_<l-1>)*y_<l-1>'", "sign(W)")]
    [InlineData("dW = sum(abs(W)*y_<l-1>)*W", "abs(W)")]
    [InlineData("dW = (sq(W)'*y_l)'", "sq(W)")]
    [InlineData("dW = (W .* B)*W'*e_l*y_<l-1>'", "W .* B")]
    public void An_elementwise_matrix_term_that_is_not_a_term_is_located(string text, string node)
    {
        RuleDiagnostic d = ShapeCheckerTests.Single(text);
        Assert.Equal(DiagnosticCode.UnsupportedElementwise, d.Code);
        Assert.Equal("PDSL2012", d.Id);
        ShapeCheckerTests.AssertAt(d, text, node, 0, text.IndexOf(node, StringComparison.Ordinal));
    }

    [Fact]
    public void Transposed_weights_in_an_elementwise_product_are_refused_by_the_lowering()
    {
        const string text = "dW = ((W' .* W')')";
        RuleDiagnostic d = ShapeCheckerTests.Single(text);
        Assert.Equal(DiagnosticCode.UnsupportedElementwise, d.Code);
    }

    [Fact]
    public void Recurrent_rules_keep_functions_of_vectors_only()
    {
        RuleDiagnostic d = ShapeCheckerTests.Single("dWh = -t3*sign(Wh)");
        Assert.Equal(DiagnosticCode.FunctionArgument, d.Code);
    }
}
