using System.Text;
using PlasticityDsl.Language.Emit;
using PlasticityDsl.Language;
using PlasticityDsl.Language.Syntax;
using Xunit;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>Layer (a): the parser. Valid inputs parse; invalid ones give one PDSL0001 at the exact 0-based
/// position with a message naming what was expected; no input, however mangled, makes the front end throw.</summary>
public sealed class ParserTests
{
    private const string BpOja = "dW = -t0*e_l*y_<l-1>' + t2*(y_l*y_<l-1>' - (y_l*y_l')*W)";

    /// <summary>Valid rules beyond the examples, for the prefix sweep and the mutations.</summary>
    private static readonly string[] ExtraValidRules =
    {
        BpOja,
        "rule weight_decay\n# L2 decay only\ndW = -t3*W\n",
        "// Hebbian with error gating\r\ndW = t1*e_l*e_<l-1>' + 0.5*(e_l'*e_l)*W\r\n",
        "dW = y_l*(y_l'*e_l)*y_<l-1>' - 1e-3*W  # trailing comment",
        "rule Mixed_Name_2\n\n\n   dW = -(y_<l-1>*e_l')' + z_l*y_<l-1>'\n",
    };

    public static TheoryData<string, string> ValidInputs() => new()
    {
        { "bp_oja exactly", BpOja },
        { "hash comment", "# a comment\ndW = -t0*e_l*y_<l-1>'\n" },
        { "slash comment", "// a comment\ndW = -t0*e_l*y_<l-1>' // and one after\n" },
        { "comments between tokens", "dW = -t0 # scale\n  * e_l // error\n  * y_<l-1>'\n" },
        { "rule header", "rule my_rule\ndW = -t0*e_l*y_<l-1>'\n" },
        { "rule header with comment", "rule Oja2 // the name\n# body\ndW = t2*(y_l*y_<l-1>' - (y_l*y_l')*W)" },
        { "multiple blank lines", "\n\n\ndW = -t0*e_l*y_<l-1>'\n\n\n\n" },
        { "CRLF line endings", "# bp\r\n\r\ndW = -t0*e_l*y_<l-1>'\r\n  + t2*(y_l*y_<l-1>' - (y_l*y_l')*W)\r\n" },
        { "no trailing newline, comment at end", "dW = -t3*W # decay" },
        { "tabs and spaces", "\tdW\t=\t-t3 * W\t\n" },
        { "numbers", "dW = 0.5*W + 2*W + 1e-3*W + 2.5E+2*W + 0*W" },
        { "double transpose and negation", "dW = --W'' - -(y_<l-1>*e_l')'" },
        { "nested parentheses", "dW = (((e_l)*((y_<l-1>'))))" },
    };

    [Theory]
    [MemberData(nameof(ValidInputs))]
    public void Valid_input_parses_and_compiles(string description, string text)
    {
        Assert.True(RuleParser.TryParse(text, out RuleFileSyntax? syntax, out RuleDiagnostic? diagnostic), $"{description}: {diagnostic}");
        Assert.NotNull(syntax);
        Assert.Null(diagnostic);
        CompiledRule compiled = RuleFrontEnd.Compile("valid", text);
        Assert.True(compiled.Succeeded, string.Join("\n", compiled.Diagnostics));
        Assert.Empty(compiled.Diagnostics);
    }

    [Fact]
    public void Bp_oja_parses_with_the_usual_precedence_and_associativity()
    {
        Assert.True(RuleParser.TryParse(BpOja, out RuleFileSyntax? syntax, out _));
        UpdateSyntax update = Assert.Single(syntax!.Updates);
        Assert.Equal("dW", update.Target);
        Assert.Equal(
            "(+ (* (* (- t0) e_l) (' y_<l-1>)) (* t2 (- (* y_l (' y_<l-1>)) (* (* y_l (' y_l)) W))))",
            Lisp(update.Value));
        Assert.Equal(BpOja, PrettyPrinter.Print(syntax));
    }

    [Fact]
    public void Subtraction_is_left_associative_and_transpose_binds_tighter_than_negation()
    {
        Assert.True(RuleParser.TryParse("dW = W - W - -W'' * t0", out RuleFileSyntax? syntax, out _));
        Assert.Equal("(- (- W W) (* (- (' (' W))) t0))", Lisp(syntax!.Updates[0].Value));
    }

    [Fact]
    public void Syntax_nodes_carry_exact_spans_across_CRLF_lines()
    {
        const string text = "rule Name\r\n# c\r\ndW =  t0 * e_l*y_<l-1>'\r\n";
        Assert.True(RuleParser.TryParse(text, out RuleFileSyntax? syntax, out _));
        Assert.Equal("Name", syntax!.Name);
        AssertSpan(syntax.NameSpan!, text, "Name", 0, 5);
        UpdateSyntax update = syntax.Updates[0];
        AssertSpan(update.TargetSpan, text, "dW", 2, 0);
        AssertSpan(update.Value.Span, text, "t0 * e_l*y_<l-1>'", 2, 6);
        var outer = Assert.IsType<BinarySyntax>(update.Value);
        AssertSpan(outer.OperatorSpan, text, "*", 2, 14);
        var inner = Assert.IsType<BinarySyntax>(outer.Left);
        AssertSpan(inner.OperatorSpan, text, "*", 2, 9);
        AssertSpan(outer.Right.Span, text, "y_<l-1>'", 2, 15);
    }

    public static TheoryData<string, int, int, string> InvalidInputs() => new()
    {
        // input, 0-based line, 0-based column, message
        { "dW = t0*", 0, 8, "expected an expression, found end of file" },
        { "dW = (t0*e_l*y_<l-1>'", 0, 21, "expected `)` or an operator, found end of file" },
        { "dW = t0*e_l*y_<l-1>')", 0, 20, "expected an operator or a new statement, found `)`" },
        { "dW t0", 0, 3, "expected `=`, found `t`" },
        { "dW = t0 @ W", 0, 8, "expected an operator or a new statement, found `@`" },
        { "dW = \"W\"", 0, 5, "expected an expression, found `\"`" },
        { "dW = 5.W", 0, 7, "expected `*` after `.` (the elementwise product `.*`), found `W`" },
        { "= W", 0, 0, "expected an operator or a new statement, found `=`" },
        { "# ok\ndW = W +\n  * e_l", 2, 2, "expected an expression, found `*`" },
        { "dW = -t0*e_l*y_<l-1>' +\r\n\r\n", 2, 0, "expected an expression, found end of file" },
        { "dW = W\n  ) + W", 1, 2, "expected an operator or a new statement, found `)`" },
        { "dW = W\0", 0, 6, "expected an operator or a new statement, found control character U+0000" },
        { "dW = W /* block */", 0, 7, "expected an operator or a new statement, found `/`" },
    };

    [Theory]
    [MemberData(nameof(InvalidInputs))]
    public void Invalid_input_gives_one_syntax_error_at_the_exact_position(string text, int line, int column, string message)
    {
        CompiledRule compiled = RuleFrontEnd.Compile("invalid", text);
        Assert.False(compiled.Succeeded);
        RuleDiagnostic diagnostic = Assert.Single(compiled.Diagnostics);
        Assert.Equal(DiagnosticCode.SyntaxError, diagnostic.Code);
        Assert.Equal("PDSL0001", diagnostic.Id);
        Assert.Equal((line, column), (diagnostic.Span.StartLine, diagnostic.Span.StartColumn));
        Assert.Equal(message, diagnostic.Message);
        AssertConsistent(diagnostic.Span, text);
    }

    [Fact]
    public void Syntax_error_span_covers_the_offending_character_or_is_empty_at_the_end()
    {
        RuleDiagnostic stray = Assert.Single(RuleFrontEnd.Compile("x", "dW = W )").Diagnostics);
        Assert.Equal(new SourceSpan(7, 1, 0, 7, 0, 8), stray.Span);
        RuleDiagnostic end = Assert.Single(RuleFrontEnd.Compile("x", "dW = W +").Diagnostics);
        Assert.Equal(new SourceSpan(8, 0, 0, 8, 0, 8), end.Span);
        RuleDiagnostic emoji = Assert.Single(RuleFrontEnd.Compile("x", "dW = W \U0001F600").Diagnostics);
        Assert.Equal(new SourceSpan(7, 2, 0, 7, 0, 9), emoji.Span);
    }

    [Fact]
    public void Unclosed_subscript_names_the_missing_angle_bracket()
    {
        RuleDiagnostic diagnostic = Assert.Single(RuleFrontEnd.Compile("x", "dW = y_<l-1").Diagnostics);
        Assert.Equal(DiagnosticCode.SyntaxError, diagnostic.Code);
        Assert.Equal((0, 11), (diagnostic.Span.StartLine, diagnostic.Span.StartColumn));
        Assert.Contains("`>`", diagnostic.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unclosed_subscript_is_at_least_one_located_syntax_error()
    {
        // What the parser does today (see the skipped test above): one PDSL0001 inside the subscript.
        RuleDiagnostic diagnostic = Assert.Single(RuleFrontEnd.Compile("x", "dW = y_<l-1").Diagnostics);
        Assert.Equal(DiagnosticCode.SyntaxError, diagnostic.Code);
        Assert.InRange(diagnostic.Span.StartColumn, 5, 11);
    }

    [Fact]
    public void A_lone_high_surrogate_gets_a_one_character_span()
    {
        const string text = "dW = W \uD800\n";
        RuleDiagnostic diagnostic = Assert.Single(RuleFrontEnd.Compile("x", text).Diagnostics);
        Assert.Equal(new SourceSpan(7, 1, 0, 7, 0, 8), diagnostic.Span);
        AssertConsistent(diagnostic.Span, text);
    }

    [Fact]
    public void Format_prints_one_based_compiler_style_lines()
    {
        RuleDiagnostic diagnostic = Assert.Single(RuleFrontEnd.Compile("x", "# c\ndW = t0*").Diagnostics);
        Assert.Equal("rules/x.rule(2,9): error PDSL0001: expected an expression, found end of file", diagnostic.Format("rules/x.rule"));
        RuleDiagnostic shape = Assert.Single(RuleFrontEnd.Compile("x", "dW = e_l*y_l").Diagnostics);
        Assert.StartsWith("a.rule(1,9): error PDSL1001: cannot multiply", shape.Format("a.rule"), StringComparison.Ordinal);
    }

    public static IEnumerable<object[]> SweepSources() =>
        ExampleRules.All.Select(r => new object[] { r.Stem, r.Text })
            .Concat(ExtraValidRules.Select((text, i) => new object[] { "extra" + i, text }));

    [Theory]
    [MemberData(nameof(SweepSources))]
    public void Every_prefix_compiles_or_fails_with_located_diagnostics(string name, string text)
    {
        Assert.True(RuleFrontEnd.Compile(name, text).Succeeded, $"{name} itself must compile");
        for (int length = 0; length <= text.Length; length++)
        {
            CheckNeverThrows(name, text.Substring(0, length));
        }
    }

    [Fact]
    public void Random_mutations_never_throw_and_always_locate_their_errors()
    {
        string[] bases = ExampleRules.All.Select(r => r.Text).Concat(ExtraValidRules).ToArray();
        string[] alphabet =
        {
            "d", "W", "t", "0", "2", "9", "y", "e", "z", "l", "_", "<", ">", "-", "1", "+", "*", "'", "(", ")", "=", ".", "E",
            " ", "\n", "\r\n", "\r", "\t", "#", "//", "rule ", "\"", "*/", "/*", ";", "@", "\\", "é", "∑", "\u2212", "\u00a0",
            "\u2028", "\0", "\u0007", "\U0001F600", "\uDC00", "\uD800x", "1e999", "y_<", "W'",
        };
        var random = new Random(20240611);
        int failures = 0, successes = 0;
        for (int i = 0; i < 4000; i++)
        {
            var text = new StringBuilder(bases[random.Next(bases.Length)]);
            int edits = 1 + random.Next(3);
            for (int k = 0; k < edits; k++)
            {
                int at = random.Next(text.Length + 1);
                switch (random.Next(3))
                {
                    case 0:
                        text.Insert(at, alphabet[random.Next(alphabet.Length)]);
                        break;
                    case 1 when text.Length > 0:
                        text.Remove(Math.Min(at, text.Length - 1), 1 + random.Next(Math.Min(3, text.Length - Math.Min(at, text.Length - 1))));
                        break;
                    default:
                        if (at < text.Length) text.Remove(at, 1);
                        text.Insert(at, alphabet[random.Next(alphabet.Length)]);
                        break;
                }
            }

            if (CheckNeverThrows("mutant", text.ToString())) successes++;
            else failures++;
        }

        // The sweep must exercise both outcomes to mean anything.
        Assert.InRange(failures, 1000, 4000);
        Assert.InRange(successes, 100, 4000);
    }

    [Theory]
    [InlineData("bad name")]
    [InlineData("x\"*/")]
    [InlineData("a\0b")]
    public void A_file_stem_never_reaches_a_message_as_a_control_character(string stem)
    {
        CompiledRule compiled = RuleFrontEnd.Compile(stem, "dW = W");
        RuleDiagnostic diagnostic = Assert.Single(compiled.Diagnostics);
        Assert.Equal(DiagnosticCode.InvalidRuleName, diagnostic.Code);
        Assert.DoesNotContain(diagnostic.Message, char.IsControl);
    }

    /// <summary>Compiles and checks the invariants of the result; returns whether it succeeded.</summary>
    private static bool CheckNeverThrows(string name, string text)
    {
        CompiledRule compiled;
        try
        {
            compiled = RuleFrontEnd.Compile(name, text);
        }
        catch (Exception ex)
        {
            throw new Xunit.Sdk.XunitException($"RuleFrontEnd.Compile threw {ex.GetType().Name} on {Escape(text)}: {ex}");
        }

        if (compiled.Succeeded)
        {
            Assert.True(compiled.Diagnostics.Count == 0, $"a compiled rule has diagnostics: {Escape(text)}");
            // The emitter must accept whatever the front end accepts.
            string emitted = KernelEmitter.Emit(compiled.Model!);
            Assert.DoesNotContain('\r', emitted);
            return true;
        }

        Assert.True(compiled.Diagnostics.Count > 0, $"failed without a diagnostic: {Escape(text)}");
        if (compiled.Diagnostics.Any(d => d.Code == DiagnosticCode.SyntaxError))
        {
            Assert.True(compiled.Diagnostics.Count == 1, $"a syntax error came with other diagnostics on {Escape(text)}: {string.Join("; ", compiled.Diagnostics)}");
        }

        foreach (RuleDiagnostic d in compiled.Diagnostics)
        {
            Assert.True(d.Code != DiagnosticCode.InternalError, $"internal error on {Escape(text)}: {d.Message}");
            Assert.False(string.IsNullOrWhiteSpace(d.Message));
            Assert.True(!d.Message.Any(char.IsControl), $"control character in the message for {Escape(text)}: {Escape(d.Message)}");
            AssertConsistent(d.Span, text);
        }

        return false;
    }

    /// <summary>The span lies inside the text, and its lines/columns are those of its offsets ('\n' ends a line).</summary>
    internal static void AssertConsistent(SourceSpan span, string text)
    {
        Assert.True(span.Start >= 0 && span.Length >= 0 && span.Start + span.Length <= text.Length, $"span {span} outside the text {Escape(text)}");
        Assert.True((span.StartLine, span.StartColumn) == LineColumn(text, span.Start), $"span start {span} does not match its offset in {Escape(text)}");
        Assert.True((span.EndLine, span.EndColumn) == LineColumn(text, span.Start + span.Length), $"span end {span} does not match its offset in {Escape(text)}");
    }

    private static (int Line, int Column) LineColumn(string text, int offset)
    {
        int line = 0, lineStart = 0;
        for (int i = 0; i < offset; i++)
        {
            if (text[i] == '\n') { line++; lineStart = i + 1; }
        }

        return (line, offset - lineStart);
    }

    private static void AssertSpan(SourceSpan span, string text, string covered, int line, int column)
    {
        Assert.Equal(covered, text.Substring(span.Start, span.Length));
        Assert.Equal((line, column), (span.StartLine, span.StartColumn));
        AssertConsistent(span, text);
    }

    /// <summary>Fully parenthesized prefix form, to pin down precedence and associativity.</summary>
    private static string Lisp(ExpressionSyntax e) => e switch
    {
        NumberSyntax n => n.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
        SymbolSyntax s => s.Name,
        TransposeSyntax t => "(' " + Lisp(t.Operand) + ")",
        NegateSyntax n => "(- " + Lisp(n.Operand) + ")",
        ParenthesizedSyntax p => Lisp(p.Inner),
        BinarySyntax b => "(" + (b.Operator switch { BinaryOperator.Add => "+", BinaryOperator.Subtract => "-", _ => "*" }) + " " + Lisp(b.Left) + " " + Lisp(b.Right) + ")",
        _ => throw new InvalidOperationException(e.GetType().Name),
    };

    private static string Escape(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in text)
        {
            if (c is >= ' ' and < (char)0x7f and not '"' and not '\\') sb.Append(c);
            else sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
        }

        return sb.Append('"').ToString();
    }
}
