using PlasticityDsl.Language;
using PlasticityDsl.Language.Layout;
using PlasticityDsl.Language.Lowering;
using Xunit;

namespace PlasticityDsl.Tests.Compiler;

/// <summary><c>tril(M)</c>: its shape rules and located diagnostics, and its lowering to a running sum
/// (docs/language.md, "Triangular products"). Numerical agreement with the dense reference and the tangent are in
/// LanguageDifferentialTests ("triangles") and DifferentiatorTests.</summary>
public sealed class TriangularTests
{
    private static RuleDiagnostic Single(string text) => ShapeCheckerTests.Single(text);

    [Fact]
    public void Tril_of_a_non_square_matrix_is_located_at_its_argument()
    {
        const string text = "dW = t2*tril(e_l*y_<l-1>')";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.NotSquare, d.Code);
        Assert.Equal("PDSL1004", d.Id);
        Assert.Equal("`tril` keeps the lower triangle of a square matrix, but its argument is [n_l × n_<l-1>]; `y_l*y_l'` is square", d.Message);
        ShapeCheckerTests.AssertAt(d, text, "e_l*y_<l-1>'", 0, 13);
    }

    [Theory]
    [InlineData("dW = tril(t0)*W", "t0")]
    [InlineData("dW = tril(e_l)*y_<l-1>'", "e_l")]
    public void Tril_of_a_scalar_or_vector_is_not_square(string text, string argument)
    {
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.NotSquare, d.Code);
        ShapeCheckerTests.AssertAt(d, text, argument, 0, text.IndexOf(argument, StringComparison.Ordinal));
    }

    [Fact]
    public void Tril_takes_one_argument()
    {
        const string text = "dW = tril(y_l*y_l', e_l*e_l')*W";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.FunctionArgument, d.Code);
        Assert.Equal("`tril` takes one argument, not 2", d.Message);
        ShapeCheckerTests.AssertAt(d, text, "tril(y_l*y_l', e_l*e_l')", 0, 5);
    }

    [Theory]
    [InlineData("dW = exp(y_l'*tril(y_l*y_l')*y_l)*W")] // in a scalar and a function
    [InlineData("dW = (tril(y_l*y_l')*W) .* W")] // in .*
    [InlineData("dW = t1*(tril(y_l*y_l')*e_l)*y_<l-1>'")] // fine as a vector? no: tril·v needs a prefix sum of a vector
    [InlineData("dW = tril(tril(y_l*y_l')*y_l*y_l')*W")] // tril of tril
    [InlineData("dW = (W'*tril(y_l*y_l'))'")] // triu(y yᵀ)·W: transposed
    [InlineData("let C = tril(y_l*y_l')\ndW = sum(C*e_l)*W")] // in a reduction, through a let
    public void Tril_where_no_running_sum_computes_it_is_located_at_the_tril(string text)
    {
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.UnsupportedTriangular, d.Code);
        Assert.Equal("PDSL2011", d.Id);
        Assert.StartsWith("tril(", text.Substring(d.Span.Start, d.Span.Length), StringComparison.Ordinal);
    }

    [Fact]
    public void Tril_in_a_recurrent_rule_is_refused_at_its_name()
    {
        const string text = "dWh = t1*tril(z_T*z_T')*Wh";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.UnsupportedTriangular, d.Code);
        ShapeCheckerTests.AssertAt(d, text, "tril", 0, 9);
    }

    [Fact]
    public void Tril_is_not_a_name_a_let_may_take()
    {
        CompiledRule compiled = RuleFrontEnd.Compile("t", "let tril = y_l\ndW = t0*W");
        RuleDiagnostic d = Assert.Single(compiled.Diagnostics);
        Assert.Equal(DiagnosticCode.NameAlreadyDefined, d.Code);
        Assert.Equal("`tril` is already defined; choose another name", d.Message);
    }

    [Fact]
    public void Sanger_lowers_to_one_running_sum_and_one_fused_pass()
    {
        CompiledRule compiled = RuleFrontEnd.Compile("sanger", "dW = t2*(y_l*y_<l-1>' - tril(y_l*y_l')*W)");
        Assert.True(compiled.Succeeded);
        KernelModel model = compiled.Model!;
        TargetUpdate target = Assert.Single(model.Plan.Targets);
        TriangularUpdate triangle = Assert.Single(target.Triangles);
        Assert.Equal(new SignalRef(Language.Binding.Signal.PostActivity), triangle.Weights);
        Assert.Equal(new SignalRef(Language.Binding.Signal.Weights), triangle.Matrix);
        Assert.Empty(model.Plan.Steps); // no matrix-vector product, no n×n matrix
        Assert.Single(model.Layout.Scratch.OfType<RunningSumSlice>());
        // y_l y_(l-1)ᵀ, the running sum's growth and its use: three passes' worth of multiply-adds.
        Assert.Equal("3·n_l·n_<l-1>", model.Layout.Cost);
        Assert.Null(model.NotDifferentiable);
    }

    [Fact]
    public void Tril_terms_with_one_running_sum_share_it_and_tril_distributes_over_sums()
    {
        CompiledRule compiled = RuleFrontEnd.Compile("t", "dW = t1*tril(e_l*y_l' + z_l*y_l')*W - t3*tril(y_l*y_l')*W");
        Assert.True(compiled.Succeeded);
        TriangularUpdate triangle = Assert.Single(compiled.Model!.Plan.Targets[0].Triangles);
        Assert.Equal(3, triangle.Terms.Count);
        Assert.Single(compiled.Model.Layout.Scratch.OfType<RunningSumSlice>());
    }

    [Fact]
    public void Independent_errors_of_a_file_are_all_reported_with_their_own_spans()
    {
        // A cubic product and a misplaced sign(W) in one update; a lowering error (a transposed tril) in the other.
        const string text = "dW = t3*W*W'*W - t0*(sign(W)*y_<l-1>)*y_<l-1>'\ndB = t0*tril(y_l*y_l')'*W";
        CompiledRule compiled = RuleFrontEnd.Compile("t", text);
        Assert.Equal(new[] { DiagnosticCode.UnsupportedProduct, DiagnosticCode.UnsupportedElementwise, DiagnosticCode.UnsupportedTriangular },
            compiled.Diagnostics.Select(d => d.Code));
        Assert.Equal(new[] { "W*W'*W", "sign(W)", "tril(y_l*y_l')" }, compiled.Diagnostics.Select(d => text.Substring(d.Span.Start, d.Span.Length)).Select(t => t.StartsWith("t3*", StringComparison.Ordinal) ? t.Substring(3) : t));
    }

    [Fact]
    public void A_lowering_error_in_an_update_with_a_binder_error_is_reported_too()
    {
        // The cubic product is the binder's (PDSL2004); the transposed tril in another term of the same update is the
        // lowering's (PDSL2011), and used to be hidden because the update never reached the lowering.
        const string text = "dW = t3*W*W'*W + t0*tril(y_l*y_l')'*W";
        CompiledRule compiled = RuleFrontEnd.Compile("t", text);
        Assert.Equal(new[] { DiagnosticCode.UnsupportedProduct, DiagnosticCode.UnsupportedTriangular }, compiled.Diagnostics.Select(d => d.Code));
        Assert.Equal(new[] { "W*W'*W", "tril(y_l*y_l')" }, compiled.Diagnostics.Select(d => text.Substring(d.Span.Start, d.Span.Length)).Select(t => t.StartsWith("t3*", StringComparison.Ordinal) ? t.Substring(3) : t));
    }

    [Fact]
    public void A_lowering_error_at_the_place_of_a_binder_error_is_not_repeated()
    {
        // sign(W) multiplied by a vector is one mistake: the binder's PDSL2012, not the lowering's as well.
        CompiledRule compiled = RuleFrontEnd.Compile("t", "dW = t0*(sign(W)*y_<l-1>)*y_<l-1>'");
        Assert.Equal(DiagnosticCode.UnsupportedElementwise, Assert.Single(compiled.Diagnostics).Code);
    }

    [Fact]
    public void A_cubic_product_does_not_hide_the_updates_shape()
    {
        const string text = "dW = t3*W*W'*W*W'";
        CompiledRule compiled = RuleFrontEnd.Compile("t", text);
        Assert.Equal(new[] { DiagnosticCode.UnsupportedProduct, DiagnosticCode.TargetShapeMismatch }, compiled.Diagnostics.Select(d => d.Code));
    }
}
