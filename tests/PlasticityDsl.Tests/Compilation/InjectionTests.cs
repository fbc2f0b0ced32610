using Xunit;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using PlasticityDsl.Language;
using PlasticityDsl.Language.Emit;
using PlasticityDsl.Language.Lowering;
using PlasticityDsl.Runtime;
using PlasticityDsl.Compiler;

namespace PlasticityDsl.Tests.RuleCompilation;

/// <summary>
/// Nothing a rule file holds can inject C# into its kernel. Names (file stems and <c>rule</c> headers) that could
/// break out of an identifier, a string, a comment or a line are rejected with PDSL0003 or a syntax error, so no
/// code is emitted for them; rules that compile, whatever their comments, names and literals, emit one file that
/// parses cleanly and holds the namespace with the one kernel class and nothing else at the top level.
/// </summary>
public sealed class InjectionTests
{
    private const string Update = "dW = -t0*e_l*y_<l-1>'\n";

    /// <summary>Names that must never become a kernel: quotes, semicolons, comment delimiters, line breaks of every
    /// kind, braces, C# and XML metacharacters, non-ASCII letters and look-alikes, surrogates, control and
    /// formatting characters, a leading digit or underscore, and a name over the 128-character limit.</summary>
    public static TheoryData<string> HostileNames() => new()
    {
        "a\"b", "a;b", "a*/b", "a/*b", "a//b", "a\nb", "a\r\nb", "a\rb", "a{b", "a}b", "a(b)", "a'b", "a\\b", "a<b>", "a_<l-1>",
        "a.b", "a,b", "a=b", "a+b", "a:b", "a@b", "a$b", "a`b", "a#b", "a&b", "a b", "a\tb", "a\0b", "a\u0007b", "a\u2028b",
        "a\u2029b", "a\u0085b", "a\u202Eb", "a\uFEFFb", "a\u200Bb", "a\uD800b", "a\uDC00", "a\U0001F600", "naïve", "Ωmega",
        "ℓayer", "\u0430bc" /* Cyrillic a */, "\uFF41bc" /* fullwidth a */, "a\u0663", "_a", "1a", "-a", "@class", "",
        new string('a', 129), "\"); } public class Evil { //", "x\"*/ public class Pwned {} /*", "Evil { } //",
        "a\n#error injected", "a\n#if false", "a</code></summary>", "a]]>",
    };

    [Theory]
    [MemberData(nameof(HostileNames))]
    public void A_hostile_file_stem_is_rejected_with_PDSL0003(string name)
    {
        CompiledRule compiled = RuleFrontEnd.Compile(name, Update);
        Assert.Null(compiled.Model);
        Assert.Contains(compiled.Diagnostics, d => d.Code == DiagnosticCode.InvalidRuleName);
        AssertCleanDiagnostics(compiled, Update);

        var error = Assert.Throws<RuleCompilationException>(() => RuleCompiler.Compile(Update, name));
        Assert.False(error.IsInternal);
        Assert.All(error.Message.Split(Environment.NewLine), line => Assert.DoesNotContain(line, char.IsControl));
    }

    [Theory]
    [MemberData(nameof(HostileNames))]
    public void A_hostile_header_name_is_rejected_with_PDSL0003_or_a_syntax_error(string name)
    {
        string text = "rule " + name + "\n" + Update;
        CompiledRule compiled = RuleFrontEnd.Compile("fine", text);
        if (compiled.Model is not null)
        {
            // Only a comment may follow a name on its line (`rule a#b`, `rule a\n#error`): the name ends before it,
            // and the rest never reaches the kernel.
            string rest = name.Substring(compiled.Model.RuleName.Length);
            Assert.True(name.StartsWith(compiled.Model.RuleName, StringComparison.Ordinal) && (rest.TrimStart().StartsWith('#') || rest.TrimStart().StartsWith("//", StringComparison.Ordinal)),
                $"`rule {FuzzTests.Escape(name)}` compiled, as {compiled.Model.ClassName}");
            Assert.DoesNotContain(rest.Trim(), AssertOneKernelFile(compiled.Model), StringComparison.Ordinal);
            return;
        }

        Assert.Contains(compiled.Diagnostics, d => d.Code is DiagnosticCode.InvalidRuleName or DiagnosticCode.SyntaxError);
        AssertCleanDiagnostics(compiled, text);
    }

    /// <summary>Valid names that read like C# keywords, runtime types or members of the kernel: the class name is
    /// derived (PascalCase + "Rule"), never the name itself, so each still compiles and loads.</summary>
    [Theory]
    [InlineData("class")]
    [InlineData("namespace")]
    [InlineData("global")]
    [InlineData("System")]
    [InlineData("PlasticityDsl")]
    [InlineData("IPlasticity")]
    [InlineData("KernelPrimitives")]
    [InlineData("GeneratedRules")]
    [InlineData("Rule")]
    [InlineData("Instance")]
    [InlineData("Apply")]
    [InlineData("dW")]
    [InlineData("t0")]
    [InlineData("a--b__c")]
    [InlineData("x-")]
    [InlineData("Z9_z")]
    public void A_valid_name_that_looks_like_code_stays_a_name(string name)
    {
        // A header names a rule with an identifier (letters, digits, `_`); only a file stem can hold a `-`.
        foreach (string text in name.Contains('-') ? new[] { Update } : new[] { Update, "rule " + name + "\n" + Update })
        {
            CompiledRule compiled = RuleFrontEnd.Compile(text == Update ? name : "other", text);
            Assert.NotNull(compiled.Model);
            AssertOneKernelFile(compiled.Model!);
        }

        IPlasticityRule rule = RuleCompiler.Compile("# injection test\n" + Update, name);
        Assert.Equal(name, rule.Name);
        Assert.Equal("PlasticityDsl.Rules." + RuleFrontEnd.ClassName(name), rule.GetType().FullName);
    }

    [Fact]
    public void The_longest_valid_name_compiles()
    {
        string name = "a" + new string('b', 127);
        IPlasticityRule rule = RuleCompiler.Compile(Update, name);
        Assert.Equal(name, rule.Name);
    }

    /// <summary>Comments are free text: whatever they hold never reaches the kernel.</summary>
    [Theory]
    [InlineData("# \"); } class Evil { /*\n" + Update)]
    [InlineData("// */ class Evil {} /*\n" + Update)]
    [InlineData("# \n#error Evil\n" + Update)]
    [InlineData("#if false Evil\n" + Update)]
    [InlineData(Update + "# Evil \u2028 class X {} \u2029 \u0085 end")]
    [InlineData(Update + "// Evil \\u000a class X {}")]
    [InlineData("# Evil </code></summary><script>\n" + Update)]
    [InlineData("rule Named # \"Evil\"; }\n" + Update)]
    [InlineData("# Evil \0 \uD800 \U0001F600 ]]> &amp;\n" + Update)]
    public void A_comment_never_reaches_the_kernel(string text)
    {
        CompiledRule compiled = RuleFrontEnd.Compile("commented", text);
        Assert.True(compiled.Model is not null, string.Join("\n", compiled.Diagnostics));
        string source = AssertOneKernelFile(compiled.Model!);
        Assert.DoesNotContain("Evil", source, StringComparison.Ordinal);
        Assert.DoesNotContain("class X", source, StringComparison.Ordinal);
        Assert.DoesNotContain("#error", source, StringComparison.Ordinal);
        Assert.DoesNotContain("#if", source, StringComparison.Ordinal);
        Assert.DoesNotContain('\u2028', source);
        Assert.DoesNotContain('\0', source);
    }

    /// <summary>Numeric literals are parsed and printed again, never copied: each compiles, loads and keeps its value.</summary>
    [Theory]
    [InlineData("dW = 1e-45*W")]
    [InlineData("dW = 3.4028235e38*e_l*y_<l-1>'")]
    [InlineData("dW = 0.1*W + 00001.5000*W")]
    [InlineData("dW = 1.0000000000000000000000001*W")]
    [InlineData("dW = 123456789*e_l*y_<l-1>'")]
    [InlineData("dW = 2.5E+2*W - 1e-3*W")]
    [InlineData("dW = 0*W + 0.0*e_l*y_<l-1>'")]
    public void A_numeric_literal_is_printed_as_a_CSharp_float(string text)
    {
        CompiledRule compiled = RuleFrontEnd.Compile("numbers", text);
        Assert.True(compiled.Model is not null, string.Join("\n", compiled.Diagnostics));
        AssertOneKernelFile(compiled.Model!);
        AssertCompiles(compiled.Model!);
    }

    /// <summary>Folding constants must not overflow into a literal C# cannot read (<c>Infinityf</c>): the front end
    /// rejects the rule, or its kernel compiles.</summary>
    [Theory]
    [InlineData("dW = 1e30*1e30*W")]
    [InlineData("dW = 1e30*1e30*e_l*y_<l-1>'")]
    [InlineData("dW = 3e38*W + 3e38*W")]
    [InlineData("dW = 2e38*e_l*y_<l-1>' + 2e38*e_l*y_<l-1>'")]
    [InlineData("dW = 1e20*(1e20*(y_l*y_l'))*W")]
    public void Constant_folding_never_emits_an_unreadable_literal(string text)
    {
        CompiledRule compiled = RuleFrontEnd.Compile("overflow", text);
        if (compiled.Model is null)
        {
            Assert.Contains(compiled.Diagnostics, d => d.Code == DiagnosticCode.NumberOutOfRange);
            AssertCleanDiagnostics(compiled, text);
            return;
        }

        AssertOneKernelFile(compiled.Model);
        AssertCompiles(compiled.Model);
    }

    /// <summary>User-chosen names of the extended language (<c>let</c> bindings, <c>param</c> coefficients) that are
    /// C# keywords or the kernel's own locals: rejected with a located diagnostic, or renamed so the kernel compiles.</summary>
    [Theory]
    [InlineData("let class = y_l*y_<l-1>'\ndW = t0*class")]
    [InlineData("let float = W\ndW = -t3*float")]
    [InlineData("let @float = W\ndW = -t3*@float")]
    [InlineData("let row = e_l*y_<l-1>'\ndW = -t0*row")]
    [InlineData("let i = t0\ndW = -i*e_l*y_<l-1>'")]
    [InlineData("let weights = W\ndW = -t3*weights")]
    [InlineData("let theta = t0\ndW = -theta*e_l*y_<l-1>'")]
    [InlineData("let scratch = t0\nlet keep = t3\nlet v0 = y_l\nlet s0 = t1\ndW = -scratch*e_l*y_<l-1>' - keep*W + s0*v0*y_<l-1>'")]
    [InlineData("let t0 = t1\ndW = -t0*e_l*y_<l-1>'")]
    [InlineData("let naïve = t0\ndW = -naïve*e_l*y_<l-1>'")]
    [InlineData("let x\"y = t0\ndW = W")]
    [InlineData("param class = 0.01\ndW = -class*e_l*y_<l-1>'")]
    [InlineData("param rows = 0.01\ndW = -rows*e_l*y_<l-1>'")]
    [InlineData("param eta = 1e999\ndW = -eta*e_l*y_<l-1>'")]
    [InlineData("param eta = 0.01\nparam eta = 0.02\ndW = -eta*e_l*y_<l-1>'")]
    [InlineData("param Name = 0.01\nparam Source = 1\ndW = -Name*Source*e_l*y_<l-1>'")]
    public void A_user_chosen_name_never_breaks_the_kernel(string text)
    {
        CompiledRule compiled = RuleFrontEnd.Compile("named", text);
        if (compiled.Model is null)
        {
            Assert.NotEmpty(compiled.Diagnostics);
            AssertCleanDiagnostics(compiled, text);
            return;
        }

        AssertOneKernelFile(compiled.Model);
        AssertCompiles(compiled.Model);
    }

    /// <summary>Every diagnostic is a user error (not internal) with a one-line message and a span inside the text.</summary>
    private static void AssertCleanDiagnostics(CompiledRule compiled, string text)
    {
        Assert.NotEmpty(compiled.Diagnostics);
        foreach (RuleDiagnostic d in compiled.Diagnostics)
        {
            Assert.NotEqual(DiagnosticCode.InternalError, d.Code);
            Assert.DoesNotContain(d.Message, char.IsControl);
            Assert.Null(FuzzTests.SpanProblem(d.Span, text));
        }
    }

    /// <summary>The emitted file parses without a diagnostic; its only top-level member is the namespace
    /// PlasticityDsl.Rules, whose only member is the class <see cref="KernelModel.ClassName"/>; no extern alias, no
    /// assembly attribute, no using but of System and PlasticityDsl namespaces, no preprocessor directive but
    /// <c>#nullable</c> and <c>#pragma warning</c>.</summary>
    private static string AssertOneKernelFile(KernelModel model)
    {
        Assert.True(RuleFrontEnd.IsValidRuleName(model.RuleName));
        string source = KernelEmitter.Emit(model);
        SyntaxTree tree = CSharpSyntaxTree.ParseText(source, RuleCompiler.ParseOptions);
        Assert.Empty(tree.GetDiagnostics().Select(d => d.ToString()));
        var root = (CompilationUnitSyntax)tree.GetRoot();
        Assert.Empty(root.Externs);
        Assert.Empty(root.AttributeLists);
        var ns = Assert.IsAssignableFrom<BaseNamespaceDeclarationSyntax>(Assert.Single(root.Members));
        Assert.Equal(KernelEmitter.DefaultNamespace, ns.Name.ToString());
        Assert.Empty(ns.Externs);
        foreach (UsingDirectiveSyntax u in root.Usings.Concat(ns.Usings))
        {
            Assert.True(u.Alias is null && u.GlobalKeyword.IsKind(SyntaxKind.None) && u.StaticKeyword.IsKind(SyntaxKind.None), u.ToString());
            Assert.Matches(@"^(global::)?(System|PlasticityDsl)(\.|$)", u.NamespaceOrType.ToString());
        }

        var kernel = Assert.IsType<ClassDeclarationSyntax>(Assert.Single(ns.Members));
        Assert.Equal(model.ClassName, kernel.Identifier.ValueText);
        Assert.Equal(model.ClassName, kernel.Identifier.Text); // no @ or \u escape in the name
        Assert.All(root.DescendantTrivia(descendIntoTrivia: true).Where(t => t.IsDirective),
            t => Assert.True(t.IsKind(SyntaxKind.NullableDirectiveTrivia) || t.IsKind(SyntaxKind.PragmaWarningDirectiveTrivia), t.ToFullString()));
        return source;
    }

    /// <summary>The kernel compiles against the references RuleCompiler uses, without an error.</summary>
    private static void AssertCompiles(KernelModel model)
    {
        CSharpCompilation compilation = RuleCompiler.CreateCompilation("Injection" + model.ClassName,
            new[] { CSharpSyntaxTree.ParseText(KernelEmitter.Emit(model), RuleCompiler.ParseOptions) });
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()));
    }
}
