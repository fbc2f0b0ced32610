using System.Collections.Immutable;
using System.Globalization;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using PlasticityDsl.Language;
using PlasticityDsl.Language.Binding;
using PlasticityDsl.Language.Emit;
using PlasticityDsl.Language.Layout;
using PlasticityDsl.Language.Lowering;
using PlasticityDsl.Runtime;
using PlasticityDsl.Testing;
using Xunit;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>Layers (b) and (c): emitter snapshots, and end-to-end source-generator driver runs.</summary>
public sealed class GeneratorTests
{
    private const string RegistryHint = "GeneratedRules.g.cs";

    /// <summary>The project's snapshots live in one folder beside the test folders (data, never compiled).</summary>
    private const string SnapshotFolder = "../Snapshots";

    private static string VirtualPath(string fileName) => Path.Combine(Path.GetTempPath(), "virtual-project", "rules", fileName);

    private static Dictionary<string, string> Sources(GeneratorRunResult result) =>
        result.GeneratedSources.ToDictionary(s => s.HintName, s => s.SourceText.ToString(), StringComparer.Ordinal);

    [Fact]
    public void Generator_over_the_examples_throws_nothing_and_its_output_compiles()
    {
        (_, GeneratorRunResult result, Compilation output) = GeneratorHarness.Run(GeneratorHarness.AllExamples());

        Assert.Null(result.Exception);
        Assert.Empty(result.Diagnostics);
        Assert.Equal(
            ExampleRules.All.Select(r => RuleFrontEnd.ClassName(r.Stem) + ".g.cs").Append(RegistryHint).OrderBy(h => h, StringComparer.Ordinal),
            result.GeneratedSources.Select(s => s.HintName).OrderBy(h => h, StringComparer.Ordinal));
        Assert.Empty(RoslynHarness.Problems(output));

        // The registry lists every kernel, ordered by rule name: layer rules in All, recurrent ones in Recurrent.
        Assembly assembly = RoslynHarness.EmitAndLoad((Microsoft.CodeAnalysis.CSharp.CSharpCompilation)output);
        var all = (IReadOnlyList<IPlasticityRule>)assembly.GetType(KernelEmitter.DefaultNamespace + ".GeneratedRules")!.GetProperty("All")!.GetValue(null)!;
        Assert.Equal(ExampleRules.Layer.Select(r => r.Stem).OrderBy(s => s, StringComparer.Ordinal), all.Select(r => r.Name));
        var recurrent = (IReadOnlyList<IRecurrentRule>)assembly.GetType(KernelEmitter.DefaultNamespace + ".GeneratedRules")!.GetProperty("Recurrent")!.GetValue(null)!;
        Assert.Equal(ExampleRules.Recurrent.Select(r => r.Stem).OrderBy(s => s, StringComparer.Ordinal), recurrent.Select(r => r.Name));
    }

    public static TheoryData<string, string, string, int, int, int> InvalidRules() => new()
    {
        // file text, id, the text the span covers, 0-based line, column of the start, span length
        { "# broken\r\ndW = t0*e_l*y_l\r\n", "PDSL1001", "*", 1, 11, 1 },
        { "dW = t0*", "PDSL0001", "", 0, 8, 0 },
        { "\n\ndW = x*y_l'", "PDSL2001", "x", 2, 5, 1 },
        { "dW = W\ndW = -t3*W", "PDSL2002", "dW", 1, 0, 2 },
        { "# nothing\n", "PDSL0002", "", 1, 0, 0 },
    };

    [Theory]
    [MemberData(nameof(InvalidRules))]
    public void Diagnostics_of_an_invalid_rule_are_located_in_the_rule_file(string text, string id, string covered, int line, int column, int length)
    {
        string path = VirtualPath("broken.rule");
        (_, GeneratorRunResult result, Compilation output) = GeneratorHarness.Run(new[] { new InMemoryAdditionalText(path, text) });

        Assert.Null(result.Exception);
        Diagnostic diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.EndsWith("#" + id.ToLowerInvariant(), diagnostic.Descriptor.HelpLinkUri, StringComparison.Ordinal);

        FileLinePositionSpan lines = diagnostic.Location.GetLineSpan();
        Assert.Equal(path, lines.Path);
        Assert.Equal(new LinePosition(line, column), lines.StartLinePosition);
        Assert.Equal(new LinePosition(line, column + length), lines.EndLinePosition);
        Assert.Equal(covered, text.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
        // Roslyn's own line map of the file agrees with the reported line/column.
        Assert.Equal(lines.StartLinePosition, SourceText.From(text).Lines.GetLinePosition(diagnostic.Location.SourceSpan.Start));

        // No kernel for the broken file, only its shell (so that code naming it compiles); the (empty) registry still compiles.
        Assert.Equal(new[] { "BrokenRule.g.cs", RegistryHint }, result.GeneratedSources.Select(s => s.HintName).OrderBy(h => h, StringComparer.Ordinal));
        Assert.Empty(RoslynHarness.Problems(output));
    }

    [Fact]
    public void A_valid_kernel_is_still_emitted_next_to_an_invalid_rule()
    {
        string broken = VirtualPath("broken.rule");
        // A program that names both kernels: the broken rule's shell keeps it free of C# errors.
        CSharpCompilation consumer = RoslynHarness.CreateCompilation([RoslynHarness.Parse(
            "namespace Consumer { public static class Uses { public static PlasticityDsl.Runtime.IPlasticityRule[] Rules => new PlasticityDsl.Runtime.IPlasticityRule[] { PlasticityDsl.Rules.BpOjaRule.Instance, PlasticityDsl.Rules.BrokenRule.Instance }; } }\n",
            "Uses.cs")], "Consumer");
        (_, GeneratorRunResult result, Compilation output) = GeneratorHarness.Run(new AdditionalText[]
        {
            GeneratorHarness.Example("bp_oja"),
            new InMemoryAdditionalText(broken, "dW = e_l*y_l"),
        }, consumer);

        Assert.Null(result.Exception);
        Diagnostic diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("PDSL1001", diagnostic.Id);
        Assert.Equal(broken, diagnostic.Location.GetLineSpan().Path);
        Assert.Equal(new[] { "BpOjaRule.g.cs", "BrokenRule.g.cs", RegistryHint }, result.GeneratedSources.Select(s => s.HintName).OrderBy(h => h, StringComparer.Ordinal));
        Assert.Empty(RoslynHarness.Problems(output));
        Assert.DoesNotContain("BrokenRule", result.GeneratedSources.Single(s => s.HintName == RegistryHint).SourceText.ToString());
    }

    [Fact]
    public void Files_that_are_not_rules_are_ignored()
    {
        (_, GeneratorRunResult result, _) = GeneratorHarness.Run(new AdditionalText[]
        {
            new InMemoryAdditionalText(VirtualPath("notes.txt"), "dW = this is not a rule"),
            new InMemoryAdditionalText(VirtualPath("UPPER.RULE"), "dW = -t3*W"),
        });
        Assert.Null(result.Exception);
        Assert.Empty(result.Diagnostics);
        Assert.Equal(new[] { RegistryHint, "UPPERRule.g.cs" }, result.GeneratedSources.Select(s => s.HintName).OrderBy(h => h, StringComparer.Ordinal));
    }

    /// <summary>Regression: a duplicate class once meant AddSource twice with one hint name, so Roslyn dropped the
    /// whole generator (CS8785) and PDSL2005 was never seen.</summary>
    [Fact]
    public void Two_files_with_the_same_class_name_give_PDSL2005()
    {
        string first = VirtualPath("bp_oja.rule"), second = VirtualPath("bp-oja.rule");
        (_, GeneratorRunResult result, Compilation output) = GeneratorHarness.Run(new AdditionalText[]
        {
            new InMemoryAdditionalText(first, ExampleRules.Get("bp_oja").Text),
            new InMemoryAdditionalText(second, "dW = -t3*W"),
        });

        Assert.Null(result.Exception);
        Diagnostic duplicate = Assert.Single(result.Diagnostics, d => d.Id == "PDSL2005");
        Assert.Equal(second, duplicate.Location.GetLineSpan().Path);
        Assert.Contains("BpOjaRule", duplicate.GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        Assert.Contains("bp_oja.rule", duplicate.GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        Assert.Empty(RoslynHarness.Problems(output));

        // The first file's kernel is the one emitted, once.
        GeneratedSourceResult kernel = Assert.Single(result.GeneratedSources, s => s.HintName == "BpOjaRule.g.cs");
        Assert.Contains("float t2 = theta[2];", kernel.SourceText.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_header_name_clashing_with_another_file_gives_PDSL2005()
    {
        (_, GeneratorRunResult result, _) = GeneratorHarness.Run(new AdditionalText[]
        {
            new InMemoryAdditionalText(VirtualPath("decay.rule"), "dW = -t3*W"),
            new InMemoryAdditionalText(VirtualPath("other.rule"), "rule decay\ndW = -t4*W"),
        });
        Assert.Null(result.Exception);
        Assert.Equal(VirtualPath("other.rule"), Assert.Single(result.Diagnostics, d => d.Id == "PDSL2005").Location.GetLineSpan().Path);
    }

    /// <summary>Snapshots of everything the generator emits for examples/rules (Verify naming, see <see cref="Snapshot"/>).</summary>
    [Fact]
    public void Generated_sources_match_snapshots()
    {
        (_, GeneratorRunResult result, _) = GeneratorHarness.Run(GeneratorHarness.AllExamples());
        Assert.Null(result.Exception);
        var failures = new List<string>();
        foreach (GeneratedSourceResult source in result.GeneratedSources.OrderBy(s => s.HintName, StringComparer.Ordinal))
        {
            try
            {
                Snapshot.Verify(source.SourceText.ToString(), source.HintName, SnapshotFolder);
            }
            catch (SnapshotMismatchException ex)
            {
                failures.Add(ex.Message);
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    /// <summary>Layer (b): the emitter alone, from a model built by hand with every construct it can print.</summary>
    [Fact]
    public void Emitter_prints_a_hand_built_model()
    {
        static ScalarFactor F(double c, int[]? k = null, int[]? s = null) =>
            new(c, (k ?? Array.Empty<int>()).Select(i => new CoefficientRef(i)).ToEquatableArray(), (s ?? Array.Empty<int>()).ToEquatableArray());
        static SignalRef S(Signal signal) => new(signal);
        static ComputedVector V(int index) => new(index);
        SignalRef weights = S(Signal.Weights), feedback = S(Signal.Feedback), post = S(Signal.PostActivity);
        var plan = new KernelPlan(
            new[] { 1, 4, 10 }.Select(k => new CoefficientRef(k)).ToEquatableArray(),
            new[]
            {
                new Step(0, Dimension.Pre, new MultiplyMatrix(weights, true, S(Signal.PostError)), "W'*e_l"),
                new Step(1, Dimension.Post, new MultiplyMatrix(feedback, false, S(Signal.PreError)), "B*e_<l-1>"),
                new Step(2, Dimension.Post, new Hadamard(post, V(1)), "y_l .* (B*e_<l-1>)"),
                new Step(3, Dimension.Post, new MapVector(ElementFunction.Activation, S(Signal.PostPotential)), "f(z_l)"),
                new Step(4, Dimension.Post, new MapVector(ElementFunction.ActivationDerivative, S(Signal.PostPotential)), "df(z_l)"),
                new Step(5, Dimension.Pre, new MapVector(ElementFunction.Exp, S(Signal.PreActivity)), "exp(y_<l-1>)"),
                new Step(6, Dimension.Pre, new Ones(), "ones_<l-1>"),
                new Step(7, Dimension.Post, new Combine(new[] { new ScaledRef(F(2, new[] { 1 }), V(3)), new ScaledRef(F(-1), V(4)) }.ToEquatableArray()), "2*t1*f(z_l) - df(z_l)"),
                new Step(0, Dimension.Post, new Dot(post, V(1)), "y_l'*(B*e_<l-1>)"),
                new Step(1, Dimension.Pre, new Reduce(Reduction.Norm2, V(5)), "norm2(exp(y_<l-1>))"),
                new Step(2, Dimension.One, new MapScalar(ElementFunction.Sqrt, new[] { F(1, new[] { 10 }), F(0.5, s: new[] { 1 }) }.ToEquatableArray()), "sqrt(eta + 0.5*s1)"),
            }.ToEquatableArray(),
            new[]
            {
                new TargetUpdate("dW", weights,
                    new[]
                    {
                        new ScaleTerm(F(-0.5, new[] { 4 }, new[] { 0 }), null, weights, null),
                        new ScaleTerm(F(1, s: new[] { 2 }), V(2), weights, null),
                        new ScaleTerm(F(-1, new[] { 10 }), null, feedback, V(5)),
                    }.ToEquatableArray(),
                    new[]
                    {
                        new RowUpdate(V(0), new[]
                        {
                            new RowTerm(F(2, new[] { 1 }), S(Signal.PostPotential)),
                            new RowTerm(F(-1e-3, s: new[] { 0 }), null),
                        }.ToEquatableArray()),
                        new RowUpdate(V(6), new[] { new RowTerm(F(1), V(7)) }.ToEquatableArray()),
                    }.ToEquatableArray()),
                new TargetUpdate("dB", feedback,
                    new[] { new ScaleTerm(F(0.1), null, feedback, null), new ScaleTerm(F(1, new[] { 4 }), null, weights, null) }.ToEquatableArray(),
                    new[] { new RowUpdate(S(Signal.PreError), new[] { new RowTerm(F(-1, new[] { 4 }), post) }.ToEquatableArray()) }.ToEquatableArray()),
            }.ToEquatableArray(),
            Recurrent: false);
        // The cost is the snapshot's, not what the layout pass states for this made-up plan: the printer prints what it is given.
        var model = new KernelModel("hand_built", "HandBuiltRule", "dW = hand-built model: every construct of the emitter",
            new[] { new ParameterSpec("eta", 10, 0.25) }.ToEquatableArray(),
            plan, KernelLayout.Of(plan) with { Cost = "8·n_l·n_<l-1> + 6·n_l + 3·n_<l-1>" });

        string source = KernelEmitter.Emit(model);
        Snapshot.Verify(source, KernelEmitter.HintName(model), SnapshotFolder);
        Assert.Empty(RoslynHarness.Problems(RoslynHarness.CreateCompilation(new[] { RoslynHarness.Parse(source) })));
    }

    [Fact]
    public void Output_is_identical_under_a_culture_with_a_unicode_minus_and_a_decimal_comma()
    {
        const string rule = "dW = -0.5*t2*(y_l*y_<l-1>' - (y_l*y_l')*W) - 1e-3*W + 2.5E-1*e_l*e_<l-1>' - -1.25*(e_l'*e_l)*W";
        AdditionalText[] texts = GeneratorHarness.AllExamples().Append(new InMemoryAdditionalText(VirtualPath("numbers.rule"), rule)).ToArray();

        Dictionary<string, string> invariant = Sources(GeneratorHarness.Run(texts).Result);

        var culture = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        culture.NumberFormat.NegativeSign = "\u2212";
        culture.NumberFormat.NumberDecimalSeparator = ",";
        culture.NumberFormat.NumberGroupSeparator = ".";
        CultureInfo previous = CultureInfo.CurrentCulture, previousUi = CultureInfo.CurrentUICulture;
        Dictionary<string, string> hostile;
        try
        {
            CultureInfo.CurrentCulture = culture;
            CultureInfo.CurrentUICulture = culture;
            Assert.Equal("\u22121,5", (-1.5).ToString()); // the culture is in force
            (_, GeneratorRunResult result, Compilation output) = GeneratorHarness.Run(texts);
            Assert.Null(result.Exception);
            Assert.Empty(result.Diagnostics);
            Assert.Empty(RoslynHarness.Problems(output));
            hostile = Sources(result);
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
            CultureInfo.CurrentUICulture = previousUi;
        }

        Assert.Equal(invariant.Keys.OrderBy(k => k, StringComparer.Ordinal), hostile.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach ((string hint, string text) in invariant)
        {
            Assert.True(text == hostile[hint], $"{hint} depends on the culture: {Snapshot.FirstDifference(text, hostile[hint])}");
        }

        string numbers = invariant["NumbersRule.g.cs"];
        Assert.Contains("0.001f", numbers, StringComparison.Ordinal);
        Assert.Contains("0.5f", numbers, StringComparison.Ordinal);
        Assert.DoesNotContain("\u2212", numbers, StringComparison.Ordinal);
    }

    [Fact]
    public void Output_is_deterministic_and_LF_only_even_for_CRLF_rule_files()
    {
        AdditionalText[] Texts() => ExampleRules.All
            .Select(r => (AdditionalText)new InMemoryAdditionalText(r.Path, r.Text.Replace("\r\n", "\n").Replace("\n", "\r\n")))
            .ToArray();

        Dictionary<string, string> first = Sources(GeneratorHarness.Run(Texts()).Result);
        Dictionary<string, string> second = Sources(GeneratorHarness.Run(Texts().Reverse()).Result);
        Assert.Equal(first, second);
        foreach ((string hint, string text) in first)
        {
            Assert.False(text.Contains('\r', StringComparison.Ordinal), $"{hint} contains a carriage return");
            Assert.StartsWith("// <auto-generated/>\n#nullable enable\n", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_front_end_and_the_generator_emit_the_same_kernel()
    {
        ExampleRule rule = ExampleRules.Get("bp_oja");
        (_, GeneratorRunResult result, _) = GeneratorHarness.Run(new[] { GeneratorHarness.Example("bp_oja") });
        KernelModel model = RuleFrontEnd.Compile(rule.Stem, rule.Text).Model!;
        Assert.Equal(KernelEmitter.Emit(model), Sources(result)[KernelEmitter.HintName(model)]);
    }
}
