using PlasticityDsl.Language;
using Xunit;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>Binding and shape checking: each mistake gives exactly one diagnostic, with a message in the
/// user's terms and the span of the construct at fault (for a binary operator, the operator).</summary>
public sealed class ShapeCheckerTests
{
    /// <summary>The one diagnostic of a rule that must not compile, with a span consistent with the text.</summary>
    internal static RuleDiagnostic Single(string text, string stem = "shapes")
    {
        CompiledRule compiled = RuleFrontEnd.Compile(stem, text);
        Assert.False(compiled.Succeeded, "the rule should not compile");
        Assert.Null(compiled.Model);
        RuleDiagnostic diagnostic = Assert.Single(compiled.Diagnostics);
        ParserTests.AssertConsistent(diagnostic.Span, text);
        return diagnostic;
    }

    internal static void AssertAt(RuleDiagnostic d, string text, string covered, int line, int column)
    {
        Assert.Equal((line, column), (d.Span.StartLine, d.Span.StartColumn));
        Assert.Equal(covered, text.Substring(d.Span.Start, d.Span.Length));
    }

    [Fact]
    public void Adding_different_shapes_names_both_shapes_at_the_plus()
    {
        const string text = "dW = W + y_l*y_l'";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.AddShapeMismatch, d.Code);
        Assert.Equal("PDSL1002", d.Id);
        Assert.Equal("cannot add [n_l × n_<l-1>] and [n_l × n_l]", d.Message);
        AssertAt(d, text, "+", 0, 7);
    }

    [Fact]
    public void Subtracting_different_shapes_names_both_shapes_at_the_minus()
    {
        const string text = "# Oja with a typo\ndW = t2*(y_l*y_<l-1>' - (y_l*y_l'))";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.AddShapeMismatch, d.Code);
        Assert.Equal("cannot subtract [n_l × n_l] from [n_l × n_<l-1>]", d.Message);
        AssertAt(d, text, "-", 1, 22);
    }

    [Fact]
    public void Multiplying_mismatched_inner_dimensions_points_at_the_star()
    {
        const string text = "dW = e_l*y_l";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.MultiplyShapeMismatch, d.Code);
        Assert.Equal("cannot multiply [n_l × 1] by [n_l × 1]: inner dimensions 1 and n_l differ", d.Message);
        AssertAt(d, text, "*", 0, 8);
    }

    [Fact]
    public void Multiplying_W_by_the_wrong_vector_points_at_the_star()
    {
        const string text = "dW = (W*y_l)*y_<l-1>'";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.MultiplyShapeMismatch, d.Code);
        Assert.Equal("cannot multiply [n_l × n_<l-1>] by [n_l × 1]: inner dimensions n_<l-1> and n_l differ", d.Message);
        AssertAt(d, text, "*", 0, 7);
    }

    [Fact]
    public void A_right_hand_side_of_the_wrong_shape_is_reported_over_the_whole_expression()
    {
        const string text = "dW = y_l*y_l'";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.TargetShapeMismatch, d.Code);
        Assert.Equal("PDSL1003", d.Id);
        Assert.Equal("`dW` must have the shape [n_l × n_<l-1>] of `W`, but the right-hand side is [n_l × n_l]", d.Message);
        AssertAt(d, text, "y_l*y_l'", 0, 5);
    }

    [Fact]
    public void A_scalar_right_hand_side_broadcasts_to_every_weight()
    {
        Assert.True(RuleFrontEnd.Compile("r", "dW = t0 * (e_l'*e_l)").Succeeded);
    }

    [Fact]
    public void A_right_hand_side_that_cannot_broadcast_is_a_target_shape_mismatch()
    {
        const string text = "dW = t0 * e_<l-1>";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.TargetShapeMismatch, d.Code);
        Assert.EndsWith("the right-hand side is [n_<l-1> × 1]", d.Message, StringComparison.Ordinal);
        AssertAt(d, text, "t0 * e_<l-1>", 0, 5);
    }

    [Fact]
    public void An_unknown_symbol_is_reported_at_the_symbol_with_the_list_of_known_ones()
    {
        const string text = "dW = x*y_l'";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.UnknownSymbol, d.Code);
        Assert.Equal("PDSL2001", d.Id);
        Assert.Equal("unknown symbol `x`; expected one of `W`, `B`, `y_l`, `y_<l-1>`, `z_l`, `e_l`, `e_<l-1>`, a coefficient `t0`…`t9`, or a name defined earlier with `let` or `param`", d.Message);
        AssertAt(d, text, "x", 0, 5);
    }

    [Theory]
    [InlineData("dW = t10*W", "t10")]
    [InlineData("dW = T0*W", "T0")]
    [InlineData("dW = y_<l>*y_<l-1>'", "y_<l>")]
    [InlineData("dW = e_<l+1>*y_<l-1>'", "e_<l+1>")]
    public void Near_miss_symbols_are_unknown(string text, string symbol)
    {
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.UnknownSymbol, d.Code);
        AssertAt(d, text, symbol, 0, 5);
    }

    [Fact]
    public void An_unknown_target_is_reported_at_the_target()
    {
        const string text = "dQ = -t0*e_l*y_<l-1>'";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.UnknownTarget, d.Code);
        Assert.Equal("PDSL2003", d.Id);
        Assert.Equal("unknown update target `dQ`; expected one of `dW`, `dB`", d.Message);
        AssertAt(d, text, "dQ", 0, 0);
    }

    [Fact]
    public void A_duplicate_target_is_reported_at_the_second_target()
    {
        const string text = "dW = -t0*e_l*y_<l-1>'\r\ndW = -t3*W\r\n";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.DuplicateTarget, d.Code);
        Assert.Equal("PDSL2002", d.Id);
        Assert.Contains("updated twice", d.Message, StringComparison.Ordinal);
        AssertAt(d, text, "dW", 1, 0);
    }

    [Fact]
    public void A_product_of_weight_matrices_without_a_vector_is_unsupported()
    {
        const string text = "dW = W*W'*W";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.UnsupportedProduct, d.Code);
        Assert.Equal("PDSL2004", d.Id);
        Assert.Contains("cubic-cost", d.Message, StringComparison.Ordinal);
        Assert.Contains("(y_l*y_l')*W", d.Message, StringComparison.Ordinal);
        AssertAt(d, text, "W*W'*W", 0, 5);
    }

    [Fact]
    public void A_chain_of_weight_matrices_is_supported_once_a_vector_joins_it()
    {
        Assert.True(RuleFrontEnd.Compile("r", "dW = t0*(W*W'*W)*y_<l-1>*y_<l-1>'").Succeeded);
        RuleDiagnostic d = Single("dW = e_l*y_<l-1>' - t3*(W*W'*W)");
        Assert.Equal(DiagnosticCode.UnsupportedProduct, d.Code);
        AssertAt(d, "dW = e_l*y_<l-1>' - t3*(W*W'*W)", "W*W'*W", 0, 24);
    }

    [Theory]
    [InlineData("dW = 1e999*W", "1e999")]
    [InlineData("dW = 1e39*W", "1e39")]
    [InlineData("dW = W*3.4e38 + 400000000000000000000000000000000000000*W", "400000000000000000000000000000000000000")]
    public void A_number_beyond_single_precision_is_out_of_range(string text, string number)
    {
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.NumberOutOfRange, d.Code);
        Assert.Equal("PDSL0004", d.Id);
        Assert.Contains("single precision", d.Message, StringComparison.Ordinal);
        AssertAt(d, text, number, 0, text.IndexOf(number, StringComparison.Ordinal));
    }

    [Fact]
    public void The_largest_float_and_denormals_are_in_range()
    {
        // 1e-45 rounds to the smallest float denormal; 1e-50 would round to 0 and is refused (issue 10, item 12).
        Assert.True(RuleFrontEnd.Compile("ok", "dW = 3.4e38*W + 1e-45*W").Succeeded);
    }

    [Theory]
    [InlineData("bad name")]
    [InlineData("x\"*/")]
    [InlineData("1st")]
    [InlineData("_x")]
    [InlineData("")]
    [InlineData("ünïcode")]
    public void A_file_stem_that_is_not_a_rule_name_gives_PDSL0003(string stem)
    {
        RuleDiagnostic d = Single("dW = -t0*e_l*y_<l-1>'", stem);
        Assert.Equal(DiagnosticCode.InvalidRuleName, d.Code);
        Assert.Equal("PDSL0003", d.Id);
        Assert.Contains("file name", d.Message, StringComparison.Ordinal);
        Assert.Contains("rule Name", d.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bp-oja", "BpOjaRule")]
    [InlineData("Rule2_x", "Rule2XRule")]
    public void A_valid_file_stem_names_the_rule_and_its_class(string stem, string className)
    {
        CompiledRule compiled = RuleFrontEnd.Compile(stem, "dW = -t3*W");
        Assert.Equal(stem, compiled.Model!.RuleName);
        Assert.Equal(className, compiled.Model.ClassName);
    }

    [Fact]
    public void A_header_overrides_an_invalid_file_stem()
    {
        CompiledRule compiled = RuleFrontEnd.Compile("bad name", "rule good_name\ndW = -t3*W");
        Assert.True(compiled.Succeeded);
        Assert.Equal("good_name", compiled.Model!.RuleName);
        Assert.Equal("GoodNameRule", compiled.Model.ClassName);
    }

    [Theory]
    [InlineData("rule a_<b>\ndW = W", "a_<b>")]
    [InlineData("rule é\ndW = W", "é")]
    public void An_invalid_header_name_is_reported_at_the_name(string text, string name)
    {
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.InvalidRuleName, d.Code);
        AssertAt(d, text, name, 0, 5);
    }

    [Fact]
    public void A_quoted_header_name_is_a_syntax_error()
    {
        RuleDiagnostic d = Single("rule \"x\";\ndW = W");
        Assert.Equal(DiagnosticCode.SyntaxError, d.Code);
    }

    [Theory]
    [InlineData("", 0, 0)]
    [InlineData("# only a comment\n// and another\n", 2, 0)]
    [InlineData("rule Empty\n", 1, 0)]
    public void A_rule_without_updates_gives_PDSL0002_at_the_end(string text, int line, int column)
    {
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.EmptyRule, d.Code);
        Assert.Equal("PDSL0002", d.Id);
        Assert.Equal((line, column), (d.Span.StartLine, d.Span.StartColumn));
        Assert.Equal(text.Length, d.Span.Start);
    }

    /// <summary>One mistake, one diagnostic: the parents of a failed subtree stay silent.</summary>
    [Theory]
    [InlineData("dW = x*y_l' + e_l*y_<l-1>'", DiagnosticCode.UnknownSymbol)]
    [InlineData("dW = t2*(y_l*y_<l-1>' - (y_l*q')*W)", DiagnosticCode.UnknownSymbol)]
    [InlineData("dW = (e_l*y_l)*W + W", DiagnosticCode.MultiplyShapeMismatch)]
    [InlineData("dW = -((e_l*y_l)')' * t0", DiagnosticCode.MultiplyShapeMismatch)]
    [InlineData("dW = (W + y_l*y_l')*W", DiagnosticCode.AddShapeMismatch)]
    [InlineData("dW = t0*(W*W'*W)*(y_<l-1>'*y_<l-1>)", DiagnosticCode.UnsupportedProduct)]
    [InlineData("dW = 1e999*W*W'*W", DiagnosticCode.NumberOutOfRange)]
    public void One_error_gives_exactly_one_diagnostic(string text, DiagnosticCode code)
    {
        Assert.Equal(code, Single(text).Code);
    }

    /// <summary>Independent errors each get their own diagnostic, in source order within a statement.</summary>
    [Theory]
    [InlineData("dW = x*W + e_l*y_l", new[] { DiagnosticCode.UnknownSymbol, DiagnosticCode.MultiplyShapeMismatch })]
    [InlineData("dW = x*W\ndQ = W", new[] { DiagnosticCode.UnknownSymbol, DiagnosticCode.UnknownTarget })]
    [InlineData("dW = W\ndW = x", new[] { DiagnosticCode.UnknownSymbol, DiagnosticCode.DuplicateTarget })]
    [InlineData("dW = e_l*y_l\n# second\ndW = W\ndQ = W", new[] { DiagnosticCode.MultiplyShapeMismatch, DiagnosticCode.DuplicateTarget, DiagnosticCode.UnknownTarget })]
    [InlineData("dW = y_l*y_l' - W + (W + y_<l-1>)", new[] { DiagnosticCode.AddShapeMismatch, DiagnosticCode.AddShapeMismatch })]
    [InlineData("dW = 1e999*W + q", new[] { DiagnosticCode.NumberOutOfRange, DiagnosticCode.UnknownSymbol })]
    public void Independent_errors_give_one_diagnostic_each(string text, DiagnosticCode[] codes)
    {
        CompiledRule compiled = RuleFrontEnd.Compile("independent", text);
        Assert.Equal(codes, compiled.Diagnostics.Select(d => d.Code).ToArray());
        foreach (RuleDiagnostic d in compiled.Diagnostics) ParserTests.AssertConsistent(d.Span, text);
    }

    [Fact]
    public void An_invalid_file_stem_and_a_body_error_are_both_reported()
    {
        CompiledRule compiled = RuleFrontEnd.Compile("bad name", "dW = e_l*y_l");
        Assert.Equal(new[] { DiagnosticCode.InvalidRuleName, DiagnosticCode.MultiplyShapeMismatch }, compiled.Diagnostics.Select(d => d.Code));
    }

    [Fact]
    public void Diagnostics_are_equatable_data()
    {
        CompiledRule first = RuleFrontEnd.Compile("x", "dW = x*y_l'");
        CompiledRule second = RuleFrontEnd.Compile("x", "dW = x*y_l'");
        Assert.Equal(first, second);
        Assert.Equal(first.GetHashCode(), second.GetHashCode());
    }
}
