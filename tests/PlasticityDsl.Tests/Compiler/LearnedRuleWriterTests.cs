using System.Globalization;
using PlasticityDsl.Language;
using PlasticityDsl.Tests.Cli;
using Xunit;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>Writing meta-learned coefficients back into a rule: the text is clean, exact, and compiles to a rule without coefficients.</summary>
public sealed class LearnedRuleWriterTests
{
    private const string BpOja = "dW = -t0*e_l*y_<l-1>' + t2*(y_l*y_<l-1>' - (y_l*y_l')*W)";
    private const string Eq9 = "dW = -t0*e_l*y_<l-1>' + t1*e_l*e_<l-1>' + t2*(y_l*y_<l-1>' - (y_l*y_l')*W) - t3*W\ndB = -t4*y_l*e_<l-1>' + t9*B\n";

    private static Dictionary<string, float> Values(params (string Name, float Value)[] values) => values.ToDictionary(v => v.Name, v => v.Value);

    /// <summary>Writes, then checks what the brief promises: the front end accepts the text with no diagnostic and it reads no coefficient.</summary>
    private static string Write(string source, Dictionary<string, float> values, float dropBelow = LearnedRuleWriter.DefaultDropBelow)
    {
        string text = LearnedRuleWriter.Write(source, values, dropBelow);
        CompiledRule compiled = RuleFrontEnd.Compile("learned", text);
        Assert.True(compiled.Succeeded, text);
        Assert.Empty(compiled.Diagnostics);
        Assert.Empty(compiled.Model!.Plan.Coefficients);
        Assert.Empty(compiled.Model.Parameters);
        return text;
    }

    [Fact]
    public void Coefficients_become_their_shortest_round_trip_literals()
    {
        Assert.Equal("dW = -0.0123*e_l*y_<l-1>' + 0.0004*(y_l*y_<l-1>' - (y_l*y_l')*W)\n", Write(BpOja, Values(("t0", 0.0123f), ("t2", 0.0004f))));
    }

    [Fact]
    public void Negative_values_fold_into_the_sign_of_their_term()
    {
        string text = Write(Eq9, Values(("t0", -0.01f), ("t1", -0.016f), ("t2", 0.02f), ("t3", -0.5f), ("t4", 0.25f), ("t9", -1.5f)));
        Assert.Equal(
            "dW = 0.01*e_l*y_<l-1>' - 0.016*e_l*e_<l-1>' + 0.02*(y_l*y_<l-1>' - (y_l*y_l')*W) + 0.5*W\n" +
            "dB = -0.25*y_l*e_<l-1>' - 1.5*B\n", text);
        Assert.DoesNotContain("--", text, StringComparison.Ordinal);
        Assert.DoesNotContain("+ -", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tiny_value_is_printed_exactly_when_kept()
    {
        string text = Write(BpOja, Values(("t0", 0.01f), ("t2", 1e-9f)), dropBelow: 0);
        Assert.Equal("dW = -0.01*e_l*y_<l-1>' + 1E-09*(y_l*y_<l-1>' - (y_l*y_l')*W)\n", text);
        Assert.Equal(1e-9f, float.Parse("1E-09", CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Terms_below_the_threshold_drop_and_so_does_a_statement_left_empty()
    {
        string text = Write(Eq9, Values(("t0", 0.012f), ("t1", 0f), ("t2", 0.003f), ("t3", 5e-7f), ("t4", -0f), ("t9", 1e-8f)), dropBelow: 1e-6f);
        Assert.Equal("dW = -0.012*e_l*y_<l-1>' + 0.003*(y_l*y_<l-1>' - (y_l*y_l')*W)\n", text);
    }

    [Fact]
    public void A_dropped_term_inside_parentheses_leaves_the_rest_of_the_group()
    {
        const string source = "dW = t2*(y_l*y_<l-1>' - t3*(y_l*y_l')*W) - t0*e_l*y_<l-1>'";
        Assert.Equal("dW = 0.5*(y_l*y_<l-1>') - 0.01*e_l*y_<l-1>'\n", Write(source, Values(("t0", 0.01f), ("t2", 0.5f), ("t3", 0f))));
        Assert.Equal("dW = -0.01*e_l*y_<l-1>'\n", Write(source, Values(("t0", 0.01f), ("t2", 0f), ("t3", 2f))));
    }

    [Fact]
    public void A_rule_with_nothing_left_is_an_error()
    {
        var e = Assert.Throws<ArgumentException>(() => LearnedRuleWriter.Write(BpOja, Values(("t0", 0f), ("t2", 1e-9f)), 1e-6f));
        Assert.Contains("no rule remains", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_coefficient_the_rule_reads_must_be_given_and_extra_names_are_ignored()
    {
        var e = Assert.Throws<ArgumentException>(() => LearnedRuleWriter.Write(BpOja, Values(("t0", 0.01f)), 0));
        Assert.Contains("reads t2", e.Message, StringComparison.Ordinal);
        Assert.Equal("dW = -0.01*e_l*y_<l-1>'\n", Write("dW = -t0*e_l*y_<l-1>'", Values(("t0", 0.01f), ("t5", 3f), ("t2", 0f))));
        Assert.Throws<ArgumentException>(() => LearnedRuleWriter.Write(BpOja, Values(("t0", float.NaN), ("t2", 1f)), 0));
        Assert.Throws<ArgumentException>(() => LearnedRuleWriter.Write("dW = t0*e_l*y_l", Values(("t0", 1f)), 0));
        Assert.Throws<ArgumentException>(() => LearnedRuleWriter.Write(BpOja, Values(("t0", 1f), ("t2", 1f)), -1));
    }

    [Fact]
    public void Parameters_take_the_given_value_or_their_default_and_the_header_stays()
    {
        const string source = "rule cov\n# covariance\nparam post_mean = 0.5\nparam pre_mean = 0.25\ndW = t0*(y_l - post_mean)*(y_<l-1> - pre_mean)'\n";
        Assert.Equal("rule cov\ndW = 0.1*(y_l - 0.2)*(y_<l-1> - 0.25)'\n", Write(source, Values(("t0", 0.1f), ("post_mean", 0.2f))));
        // A mean of zero drops from its group, and the lone signal needs no parentheses.
        Assert.Equal("rule cov\ndW = 0.1*y_l*y_<l-1>'\n", Write(source, Values(("t0", 0.1f), ("post_mean", 0f), ("pre_mean", 0f))));
    }

    [Fact]
    public void Lets_are_substituted_and_a_let_nothing_reads_goes()
    {
        const string source = "let oja = t2*(y_l*y_<l-1>' - (y_l*y_l')*W)\nlet hebb = t1*y_l*y_<l-1>'\ndW = -t0*e_l*y_<l-1>' + oja + hebb\n";
        Assert.Equal("let oja = 0.003*(y_l*y_<l-1>' - (y_l*y_l')*W)\ndW = -0.01*e_l*y_<l-1>' + oja\n",
            Write(source, Values(("t0", 0.01f), ("t1", 0f), ("t2", 0.003f))));
    }

    [Fact]
    public void Inside_a_function_argument_values_are_substituted_but_never_dropped()
    {
        const string source = "dWh = t1*sum_t(e_<t+1>*f(z_t)') + t2*sum_t(Wh*f(z_t)*z_t' - Wh*f(z_t)*f(z_t)'*Wh'*Wh)";
        Assert.Equal("dWh = -0.5*sum_t(e_<t+1>*f(z_t)')\n", Write(source, Values(("t1", -0.5f), ("t2", 0f))));
        const string scaled = "dW = t2*(y_l*y_<l-1>' - sq(t3*y_l) .* W)";
        Assert.Equal("dW = 0.5*(y_l*y_<l-1>' - sq(0*y_l) .* W)\n", Write(scaled, Values(("t2", 0.5f), ("t3", 0f))));
    }

    [Fact]
    public void Every_example_rule_writes_back_to_a_rule_without_coefficients()
    {
        foreach (string path in Directory.GetFiles(Path.Combine(CliRunner.RepositoryRoot(), "examples", "rules"), "*.rule"))
        {
            string source = File.ReadAllText(path);
            var values = Enumerable.Range(0, 10).ToDictionary(k => "t" + k, k => k % 2 == 0 ? 0.0125f : -0.003f);
            Write(source, values);
        }
    }

    [Fact]
    public void Output_is_culture_invariant_under_a_unicode_minus_and_a_decimal_comma()
    {
        var values = Values(("t0", -0.0125f), ("t1", 2.5e-7f), ("t2", 1.5f), ("t3", 0f), ("t4", 0.001f), ("t9", -3e-9f));
        string invariant = Write(Eq9, values, dropBelow: 0);
        var culture = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        culture.NumberFormat.NegativeSign = "\u2212";
        culture.NumberFormat.NumberDecimalSeparator = ",";
        CultureInfo previous = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = culture;
            Assert.Equal("\u22121,5", (-1.5).ToString()); // the culture is in force
            Assert.Equal(invariant, Write(Eq9, values, dropBelow: 0));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }

        Assert.DoesNotContain("\u2212", invariant, StringComparison.Ordinal);
        Assert.Contains("2.5E-07*e_l*e_<l-1>'", invariant, StringComparison.Ordinal);
        Assert.Contains("- 3E-09*B", invariant, StringComparison.Ordinal);
    }
}
