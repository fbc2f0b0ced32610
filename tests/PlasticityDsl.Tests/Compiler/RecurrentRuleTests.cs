using System.Reflection;
using Microsoft.CodeAnalysis;
using PlasticityDsl.Language;
using PlasticityDsl.Language.Binding;
using PlasticityDsl.Language.Emit;
using PlasticityDsl.Language.Lowering;
using PlasticityDsl.Language.Syntax;
using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using Xunit;
using Binder = PlasticityDsl.Language.Binding.Binder;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>
/// The recurrent context (docs/recurrent.md): BPTT (Eq. 4) and BPTT+Oja compile verbatim; every kernel matches a
/// dense double-precision evaluation of the bound tree, sum_t included, on random sizes and sequence lengths; and
/// misuse of the context gives one located diagnostic.
/// </summary>
public sealed class RecurrentRuleTests
{
    private const string Bptt = "dWh = t1*sum_t(e_<t+1>*f(z_t)')";
    private const string BpttOja = "dWh = t1*sum_t(e_<t+1>*f(z_t)') + t2*sum_t(Wh*f(z_t)*z_t' - Wh*f(z_t)*f(z_t)'*Wh'*Wh)";

    public static readonly (string Name, string Text)[] Rules =
    {
        ("r_bptt", Bptt),
        ("r_bptt_oja", BpttOja),
        ("r_input", "dWx = -t0*sum_t(e_<t+1>*x_<t+1>') + t3*Wx"),
        ("r_readout", "dWo = -t0*e_o*f(z_T)' + t1*(y_T*f(z_T)' - y_T*y_T'*Wo)"),
        ("r_all_three", "dWh = -t1*sum_t(e_<t+1>*y_t') - t9*Wh\ndWx = -t1*sum_t(e_t*x_t')\ndWo = -t0*e_o*y_T'*Wo*Wh'*Wh"),
        ("r_scalars", "dWh = sum_t((e_t'*z_t)*y_t*z_<t+1>') + 0.5*sum_t(sum(e_t)*Wh) - t4*sum_t(Wh) + sum_t(e_t'*z_t)*Wh"),
        ("r_distribute", "dWh = Wh*sum_t(f(z_t)*z_t') - (sum_t(f(z_t)*e_<t+1>'))' + t2*sum_t(z_<t+1>*x_t'*Wx')*Wh"),
        ("r_broadcast", "dWh = t0*sum_t(e_t) + sum_t(x_t'*x_<t+1>) + t5*sum_t(z_t' .* e_t')"),
        ("r_elementwise", "dWh = sum_t((e_<t+1> .* df(z_<t+1>))*(y_t .* exp(z_t))') + t5*((z_T*e_T') .* Wh) + t6*(Wh .* e_T')"),
        ("r_mapped", "dWh = sum_t(exp(0.1*e_t'*z_t)*e_t*z_t') + sum_t(f(e_t'*z_t*z_t + x_t'*x_t*e_t)*x_t'*Wx') - sum_t(sigmoid(norm2(x_<t+1>)))*Wh"),
        ("r_let_param", "param eta = 0.05\nlet g = eta*f(z_T)\ndWh = -eta*sum_t(e_<t+1>*y_t') + sum_t(e_t*g') - t2*norm2(e_T)*Wh"),
    };

    private static readonly Lazy<Assembly> Kernels = new(() =>
    {
        var trees = Rules.Concat(ExampleRules.Recurrent.Select(r => (r.Stem, r.Text))).Select(r =>
        {
            CompiledRule compiled = RuleFrontEnd.Compile(r.Item1, r.Item2);
            Assert.True(compiled.Succeeded, $"{r.Item1}: {string.Join("; ", compiled.Diagnostics.Select(d => d.Format(r.Item1 + ".rule")))}");
            Assert.True(compiled.Model!.Plan.Recurrent);
            return RoslynHarness.Parse(KernelEmitter.Emit(compiled.Model!), KernelEmitter.HintName(compiled.Model!));
        }).ToList();
        var compilation = RoslynHarness.CreateCompilation(trees, "Recurrent" + Guid.NewGuid().ToString("N"));
        Assert.Empty(RoslynHarness.Problems(compilation));
        return RoslynHarness.EmitAndLoad(compilation);
    });

    internal static IRecurrentRule Instantiate(string name) =>
        (IRecurrentRule)Kernels.Value.GetType(KernelEmitter.DefaultNamespace + "." + RuleFrontEnd.ClassName(name), throwOnError: true)!.GetProperty("Instance")!.GetValue(null)!;

    public static TheoryData<string> Names => new(Rules.Select(r => r.Name).Concat(ExampleRules.Recurrent.Select(r => r.Stem)));

    [Fact]
    public void Both_rules_of_the_paper_compile_verbatim_as_examples()
    {
        Assert.Equal(Bptt, Statement(ExampleRules.Get("bptt").Text));
        Assert.Equal(BpttOja, Statement(ExampleRules.Get("bptt_oja").Text));

        KernelModel bptt = RuleFrontEnd.Compile("bptt", Bptt).Model!;
        Assert.True(bptt.Plan.Recurrent);
        Assert.Equal(new[] { 1 }, bptt.Plan.Coefficients.Select(k => k.Index));
        Assert.Equal("dWh", Assert.Single(bptt.Plan.Targets).Target);

        KernelModel oja = RuleFrontEnd.Compile("bptt_oja", BpttOja).Model!;
        Assert.Equal(new[] { 1, 2 }, oja.Plan.Coefficients.Select(k => k.Index));
        // Matrix-chain reassociation: Wh f_t and Whᵀ(Wh f_t) are the only matrix-vector products, each computed once
        // per t and shared by both Oja terms, which have one coefficient and add one vector, z_t - Whᵀ(Wh f_t): the update
        // is two rank-one terms per t.
        Step[] products = oja.Plan.Steps.Where(s => s.Operation is MultiplyMatrix).ToArray();
        Assert.Equal(2, products.Length);
        Assert.All(products, s => Assert.True(s.PerTime));
        Assert.Equal(2, Assert.Single(oja.Plan.Targets).Rows.Sum(r => r.Terms.Count));
        Assert.Equal("z_t - (Wh'*(Wh*(f(z_t))))", oja.Plan.Steps.Single(s => s.Operation is Combine && s.PerTime).Description);
        Assert.Equal("(T−1)·(4·n_h² + 2·n_h)", oja.Layout.Cost);
        Assert.Equal("(T−1)·(n_h² + n_h)", bptt.Layout.Cost);
        string emitted = KernelEmitter.Emit(oja);
        Assert.Contains("Cost per sequence: (T−1)·(4·n_h² + 2·n_h) multiply-adds", emitted);
        Assert.Contains(": global::PlasticityDsl.Runtime.IDifferentiableRecurrentRule", emitted);
        Assert.DoesNotContain("IPlasticityRule", emitted);

        static string Statement(string text) => text.Split('\n').Single(l => l.StartsWith("dWh", StringComparison.Ordinal)).TrimEnd('\r');
    }

    [Fact]
    public void The_generator_builds_the_recurrent_examples_into_GeneratedRules_Recurrent()
    {
        Assert.Equal(new[] { "bptt", "bptt_oja" }, GeneratedRules.Recurrent.Select(r => r.Name));
        Assert.DoesNotContain(GeneratedRules.All, r => r.Name.StartsWith("bptt", StringComparison.Ordinal));
        IRecurrentRule oja = GeneratedRules.Recurrent.Single(r => r.Name == "bptt_oja");
        Assert.Equal(new[] { "dWh" }, oja.Targets);
        Assert.Equal(new[] { 1, 2 }, oja.Coefficients);
        Assert.Equal(BpttOja, oja.Source);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Kernel_matches_the_dense_reference_of_the_sums(string name)
    {
        string text = Rules.Concat(ExampleRules.Recurrent.Select(r => (r.Stem, r.Text))).Single(r => r.Item1 == name).Item2;
        Assert.True(RuleParser.TryParse(text, out RuleFileSyntax? syntax, out _));
        var binder = new Binder();
        IReadOnlyList<BoundUpdate> updates = binder.Bind(syntax!);
        Assert.Empty(binder.Diagnostics);
        IRecurrentRule kernel = Instantiate(name);
        Assert.Equal(updates.Select(u => u.Target).OrderBy(t => Array.IndexOf(new[] { "dWh", "dWx", "dWo" }, t)), kernel.Targets);

        var random = new Random(name.Length * 7919 + name[^1]);
        (int Hidden, int Inputs, int Outputs, int Steps)[] cases =
        {
            (1, 1, 1, 1), (1, 1, 1, 2), (3, 2, 4, 5), (7, 5, 3, 2), (17, 9, 4, 9), (33, 12, 10, 7),
            (random.Next(2, 40), random.Next(1, 30), random.Next(1, 12), random.Next(1, 14)),
            (random.Next(2, 40), random.Next(1, 30), random.Next(1, 12), random.Next(1, 14)),
        };
        foreach ((int hidden, int inputs, int outputs, int steps) in cases)
        {
            var values = RecurrentValues.Random(hidden, inputs, outputs, steps, random);
            foreach (RuleParameter p in kernel.Parameters) values.Theta[p.Index] = p.Default;
            float[] wh = (float[])values.Wh.Clone(), wx = (float[])values.Wx.Clone(), wo = (float[])values.Wo.Clone();
            float[] scratch = new float[kernel.ScratchLength(hidden, inputs, outputs, steps)];
            Array.Fill(scratch, float.NaN);
            var network = new RecurrentSignals(wh, wx, wo, hidden, inputs, outputs, steps,
                values.Z, values.X, values.E, values.Output, values.OutputError, DenseReference.Activation);
            kernel.Apply(in network, values.Theta, scratch);

            foreach (BoundUpdate update in updates)
            {
                (float[] before, float[] after) = update.Target switch
                {
                    "dWh" => (values.Wh, wh),
                    "dWx" => (values.Wx, wx),
                    _ => (values.Wo, wo),
                };
                UpdateComparison.Check(before, after, RecurrentReference.Evaluate(update.Value, values),
                    RecurrentReference.Magnitude(update.Value, values).FrobeniusNorm(), $"{name} {update.Target} on n_h={hidden}, n_x={inputs}, n_o={outputs}, T={steps}");
            }

            if (!updates.Any(u => u.Target == "dWh")) Assert.Equal(values.Wh, wh);
            if (!updates.Any(u => u.Target == "dWx")) Assert.Equal(values.Wx, wx);
            if (!updates.Any(u => u.Target == "dWo")) Assert.Equal(values.Wo, wo);
        }
    }

    [Fact]
    public void The_built_in_kernels_are_the_kernels_the_tests_compile_bit_for_bit()
    {
        // The kernels the generator built into the CLI are the ones the tests compile.
        var random = new Random(11);
        foreach (IRecurrentRule builtIn in GeneratedRules.Recurrent)
        {
            IRecurrentRule compiled = Instantiate(builtIn.Name);
            var values = RecurrentValues.Random(13, 6, 4, 8, random);
            float[] a = (float[])values.Wh.Clone(), b = (float[])values.Wh.Clone();
            foreach ((IRecurrentRule rule, float[] wh) in new[] { (builtIn, a), (compiled, b) })
            {
                var network = new RecurrentSignals(wh, values.Wx, values.Wo, 13, 6, 4, 8, values.Z, values.X, values.E, values.Output, values.OutputError, DenseReference.Activation);
                rule.Apply(in network, values.Theta, new float[rule.ScratchLength(13, 6, 4, 8)]);
            }

            Assert.Equal(a, b);
        }
    }

    [Fact]
    public void A_kernel_checks_the_signals_it_needs()
    {
        IRecurrentRule kernel = Instantiate("r_bptt_oja");
        var values = RecurrentValues.Random(4, 2, 3, 3, new Random(3));
        float[] scratch = new float[kernel.ScratchLength(4, 2, 3, 3)];
        Assert.Throws<ArgumentException>(() =>
        {
            var network = new RecurrentSignals(values.Wh, values.Wx, values.Wo, 4, 2, 3, 3, values.Z, values.X, ReadOnlySpan<float>.Empty, values.Output, values.OutputError, DenseReference.Activation);
            kernel.Apply(in network, values.Theta, scratch);
        });
        Assert.Throws<ArgumentException>(() =>
        {
            var network = new RecurrentSignals(values.Wh, values.Wx, values.Wo, 4, 2, 3, 3, values.Z, values.X, values.E, values.Output, values.OutputError, null);
            kernel.Apply(in network, values.Theta, scratch);
        });
        Assert.Throws<ArgumentException>(() =>
        {
            var network = new RecurrentSignals(values.Wh, values.Wx, values.Wo, 4, 2, 3, 3, values.Z, values.X, values.E, values.Output, values.OutputError, DenseReference.Activation);
            kernel.Apply(in network, values.Theta, scratch.AsSpan(1));
        });
    }

    [Fact]
    public void Random_recurrent_rules_never_crash_the_compiler_and_what_compiles_is_valid_CSharp()
    {
        string[] tokens =
        {
            "Wh", "Wx", "Wo", "z_t", "z_<t+1>", "e_t", "e_<t+1>", "x_t", "x_<t+1>", "y_t", "z_T", "e_T", "y_T", "e_o", "t1", "t2", "0.5",
            "sum_t(", "f(", "df(", "exp(", "sum(", "norm2(", "(", ")", ")", ")", "'", "'", "*", "*", "*", "+", "-", ".*", "W", "e_l",
        };
        string[] targets = { "dWh", "dWx", "dWo" };
        var random = new Random(2024);
        var compiled = new List<KernelModel>();
        int succeeded = 0;
        for (int n = 0; n < 20_000; n++)
        {
            string text;
            if (n % 4 == 0)
            {
                // Mutations of the paper's rule: a token dropped, repeated or replaced.
                string[] parts = BpttOja.Split(new[] { '*', ' ' });
                int k = random.Next(parts.Length);
                parts[k] = random.Next(3) switch { 0 => "", 1 => parts[k] + parts[k], _ => tokens[random.Next(tokens.Length)] };
                text = string.Join("*", parts);
            }
            else
            {
                text = targets[random.Next(targets.Length)] + " = " + string.Concat(Enumerable.Range(0, random.Next(1, 20)).Select(_ => tokens[random.Next(tokens.Length)]));
            }

            CompiledRule result = RuleFrontEnd.Compile("fuzz", text);
            Assert.True(result.Succeeded || result.Diagnostics.Count > 0, text);
            Assert.DoesNotContain(result.Diagnostics, d => d.Code == DiagnosticCode.InternalError);
            if (result.Model is { } model)
            {
                succeeded++;
                _ = KernelEmitter.Emit(model);
                if (compiled.Count < 40 && !compiled.Contains(model)) compiled.Add(model with { ClassName = "Fuzz" + compiled.Count + "Rule" });
            }
        }

        Assert.True(succeeded > 100, $"only {succeeded} random rules compiled");
        var trees = compiled.Select(m => RoslynHarness.Parse(KernelEmitter.Emit(m))).ToList();
        Assert.Empty(RoslynHarness.Problems(RoslynHarness.CreateCompilation(trees, "RecurrentFuzz")));
    }

    // Diagnostics: one per mistake, located, in the user's terms.

    private static RuleDiagnostic Single(string text) => ShapeCheckerTests.Single(text, "recurrent");

    private static void AssertAt(RuleDiagnostic d, string text, string covered, int line, int column) =>
        ShapeCheckerTests.AssertAt(d, text, covered, line, column);

    [Fact]
    public void A_wrong_target_shape_names_the_recurrent_dimensions()
    {
        const string text = "dWh = t1*sum_t(e_<t+1>*x_t')";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.TargetShapeMismatch, d.Code);
        Assert.Equal("`dWh` must have the shape [n_h × n_h] of `Wh`, but the right-hand side is [n_h × n_x]", d.Message);
        AssertAt(d, text, "t1*sum_t(e_<t+1>*x_t')", 0, 6);
    }

    [Fact]
    public void A_mismatched_product_inside_sum_t_points_at_the_star()
    {
        const string text = "dWh = sum_t(Wh*x_t*z_t')";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.MultiplyShapeMismatch, d.Code);
        Assert.Equal("cannot multiply [n_h × n_h] by [n_x × 1]: inner dimensions n_h and n_x differ", d.Message);
        AssertAt(d, text, "*", 0, 14);
    }

    [Fact]
    public void A_mismatched_sum_inside_sum_t_points_at_the_operator()
    {
        const string text = "dWo = -t0*e_o*f(z_T)'\n    + sum_t(e_t*z_t' - Wo)";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.AddShapeMismatch, d.Code);
        Assert.Equal("cannot subtract [n_o × n_h] from [n_h × n_h]", d.Message);
        AssertAt(d, text, "-", 1, 21);
    }

    [Fact]
    public void Sum_t_in_a_layer_rule_is_reported_at_sum_t()
    {
        const string text = "dW = -t0*sum_t(e_l*y_<l-1>')";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.TimeIndexMisuse, d.Code);
        Assert.Equal("PDSL2010", d.Id);
        Assert.Contains("only in rules that update `dWh`, `dWx` or `dWo`", d.Message);
        AssertAt(d, text, "sum_t", 0, 9);
    }

    [Fact]
    public void A_time_indexed_symbol_outside_sum_t_is_reported_at_the_symbol()
    {
        const string text = "dWh = t1*sum_t(e_<t+1>*f(z_t)') - t2*z_<t+1>*z_T'";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.TimeIndexMisuse, d.Code);
        Assert.Equal("`z_<t+1>` depends on the time step t, so it can only be read inside `sum_t(…)`, which sums over t = 1…T−1", d.Message);
        AssertAt(d, text, "z_<t+1>", 0, 37);
    }

    [Theory]
    [InlineData("dWh = sum_t(sum_t(e_t*z_t'))", "sum_t", 12, "cannot be nested")]
    [InlineData("dWh = f(sum_t(e_t))*z_T'", "sum_t", 8, "must be a term of the update")]
    [InlineData("dWh = Wh .* sum_t(e_t*z_t')", "sum_t", 12, "must be a term of the update")]
    [InlineData("let s = sum_t(e_t)\ndWh = s*z_T'", "sum_t", 8, "must be a term of the update")]
    [InlineData("dWh = sum_t((e_t*z_t') .* Wh)", ".*", 23, "elementwise product of [n_h × n_h] matrices")]
    [InlineData("dWh = sum_t(e_t, z_t)*z_T'", "sum_t", 6, "takes one argument")]
    public void Sum_t_where_it_cannot_distribute_is_reported(string text, string covered, int column, string message)
    {
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.TimeIndexMisuse, d.Code);
        Assert.Contains(message, d.Message);
        Assert.Equal(covered, text.Substring(d.Span.Start, d.Span.Length));
        Assert.Equal(column, d.Span.StartColumn);
    }

    [Fact]
    public void Mixing_layer_and_recurrent_targets_is_reported_at_the_second_context()
    {
        const string text = "dWh = t1*sum_t(e_<t+1>*f(z_t)')\ndW = -t0*e_l*y_<l-1>'";
        CompiledRule compiled = RuleFrontEnd.Compile("mixed", text);
        RuleDiagnostic d = Assert.Single(compiled.Diagnostics);
        Assert.Equal(DiagnosticCode.MixedContexts, d.Code);
        Assert.Equal("PDSL2009", d.Id);
        Assert.Equal("`dW` updates a layer, but this rule updates a recurrent network (`dWh`); a rule updates either a layer (`dW`, `dB`) or a recurrent network (`dWh`, `dWx`, `dWo`): write two rules", d.Message);
        AssertAt(d, text, "dW", 1, 0);

        const string reverse = "dB = t9*B\ndWx = sum_t(e_t*x_t')";
        RuleDiagnostic r = Assert.Single(RuleFrontEnd.Compile("mixed", reverse).Diagnostics);
        Assert.Equal(DiagnosticCode.MixedContexts, r.Code);
        Assert.StartsWith("`dWx` updates a recurrent network, but this rule updates a layer (`dB`)", r.Message);
        AssertAt(r, reverse, "dWx", 1, 0);
    }

    [Fact]
    public void Symbols_of_the_other_context_are_unknown_with_a_hint()
    {
        const string text = "dWh = sum_t(e_l*z_t')";
        RuleDiagnostic d = Single(text);
        Assert.Equal(DiagnosticCode.UnknownSymbol, d.Code);
        Assert.StartsWith("unknown symbol `e_l` (`e_l` is a symbol of layer rules, which update `dW` or `dB`); expected one of `Wh`, `Wx`, `Wo`, `z_t`", d.Message);
        AssertAt(d, text, "e_l", 0, 12);

        RuleDiagnostic layer = Single("dW = Wh*y_l*y_<l-1>'");
        Assert.Equal(DiagnosticCode.UnknownSymbol, layer.Code);
        Assert.StartsWith("unknown symbol `Wh` (`Wh` is a symbol of recurrent rules, which update `dWh`, `dWx` or `dWo`); expected one of `W`, `B`", layer.Message);

        RuleDiagnostic target = Single("dWq = sum_t(e_t*z_t')\ndWh = sum_t(e_t*z_t')");
        Assert.Equal("unknown update target `dWq`; expected one of `dWh`, `dWx`, `dWo`", target.Message);
    }

    [Fact]
    public void Matrix_chains_and_transposed_weights_are_rejected_in_recurrent_rules()
    {
        const string cubic = "dWh = sum_t(e_t*z_t') - t3*Wh*Wh'";
        RuleDiagnostic c = Single(cubic);
        Assert.Equal(DiagnosticCode.UnsupportedProduct, c.Code);
        Assert.Equal("t3*Wh*Wh'", cubic.Substring(c.Span.Start, c.Span.Length));

        const string transposed = "dWh = sum_t(e_t*z_t') - t3*Wh'";
        RuleDiagnostic t = Single(transposed);
        Assert.Equal(DiagnosticCode.UnsupportedProduct, t.Code);
        Assert.Equal("Wh'", transposed.Substring(t.Span.Start, t.Span.Length));

        // A transposed weight matrix with a vector is an ordinary matrix-vector product.
        Assert.True(RuleFrontEnd.Compile("ok", "dWh = Wh'*(z_T*z_T') + (Wh')'").Succeeded);
    }

    [Fact]
    public void The_generator_reports_recurrent_diagnostics_located_in_the_rule_file()
    {
        string path = Path.Combine(Path.GetTempPath(), "rnn", "broken_bptt.rule");
        (_, GeneratorRunResult result, _) = GeneratorHarness.Run(new[] { new InMemoryAdditionalText(path, "# BPTT, with the index outside\ndWh = t1*e_<t+1>*sum_t(f(z_t)')") });
        Assert.Null(result.Exception);
        Diagnostic d = Assert.Single(result.Diagnostics);
        Assert.Equal("PDSL2010", d.Id);
        FileLinePositionSpan span = d.Location.GetLineSpan();
        Assert.Equal(path, span.Path);
        Assert.Equal((1, 9), (span.StartLinePosition.Line, span.StartLinePosition.Character));
        Assert.Contains(result.GeneratedSources, s => s.HintName == "GeneratedRules.g.cs" && s.SourceText.ToString().Contains("IRecurrentRule> Recurrent", StringComparison.Ordinal));
    }
}

/// <summary>A recurrent network's signals over one sequence: floats for the kernel, read as doubles by the reference;
/// <see cref="Tangent"/> holds their tangents and θ̇, in the same layout, for rules differentiated by the compiler.</summary>
internal sealed record RecurrentValues(int Hidden, int Inputs, int Outputs, int Steps, float[] Wh, float[] Wx, float[] Wo,
    float[] Z, float[] X, float[] E, float[] Output, float[] OutputError, float[] Theta, RecurrentValues? Tangent = null)
{
    public static RecurrentValues Random(int hidden, int inputs, int outputs, int steps, Random random)
    {
        float[] Vector(int n, double scale = 1)
        {
            var v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float)((random.NextDouble() * 2 - 1) * scale);
            return v;
        }

        float[] wh = Vector(hidden * hidden, 1 / Math.Sqrt(hidden)), wo = Vector(outputs * hidden, 1 / Math.Sqrt(hidden));
        float[] z = Vector(steps * hidden);
        // y_T = Wo f(z_T), as the network computes it.
        var output = new float[outputs];
        for (int o = 0; o < outputs; o++)
        {
            double sum = 0;
            for (int j = 0; j < hidden; j++) sum += wo[o * hidden + j] * Math.Tanh(z[(steps - 1) * hidden + j]);
            output[o] = (float)sum;
        }

        return new RecurrentValues(hidden, inputs, outputs, steps, wh, Vector(hidden * inputs), wo,
            z, Vector(steps * inputs), Vector(steps * hidden), output, Vector(outputs), Vector(12));
    }
}

/// <summary>
/// The naive reference of recurrent rules: the bound tree evaluated literally with dense double matrices for every
/// t = 1…T−1 of a sum_t and added up; every product as written, Wh·f·fᵀ·Whᵀ·Wh's n_h×n_h intermediates and n_h³
/// products included.
/// </summary>
internal static class RecurrentReference
{
    public static DenseMatrix Evaluate(BoundExpression e, RecurrentValues v) => Eval(e, v, null, absolute: false);

    /// <summary>Every input and operation made non-negative: a bound on the magnitudes the float kernel rounds.</summary>
    public static DenseMatrix Magnitude(BoundExpression e, RecurrentValues v) => Eval(e, v, null, absolute: true);

    private static DenseMatrix Eval(BoundExpression e, RecurrentValues v, int? t, bool absolute)
    {
        DenseMatrix result = e switch
        {
            BoundNumber n => DenseReference.Scalar(absolute ? Math.Abs(n.Value) : n.Value),
            BoundCoefficient c => DenseReference.Scalar(absolute ? Math.Abs(v.Theta[c.Index]) : v.Theta[c.Index]),
            BoundSignal s => Signal(s.Signal, v, t, absolute),
            BoundCoefficientTangent c => DenseReference.Scalar(absolute ? Math.Abs(v.Tangent!.Theta[c.Index]) : v.Tangent!.Theta[c.Index]),
            BoundSignalTangent s => Signal(s.Signal, v.Tangent!, t, absolute),
            BoundTimeSum ts => SumOverTime(ts.Operand, v, absolute),
            BoundTranspose tr => DenseReference.Transpose(Eval(tr.Operand, v, t, absolute)),
            BoundNegate n => Map(Eval(n.Operand, v, t, absolute), x => absolute ? x : -x),
            BoundSum s => DenseReference.Map2(Eval(s.Left, v, t, absolute), Eval(s.Right, v, t, absolute), (x, y) => s.Subtract && !absolute ? x - y : x + y),
            BoundProduct p when p.Left.Shape.IsScalar => Map(Eval(p.Right, v, t, absolute), x => x * Eval(p.Left, v, t, absolute).Values[0]),
            BoundProduct p when p.Right.Shape.IsScalar => Map(Eval(p.Left, v, t, absolute), x => x * Eval(p.Right, v, t, absolute).Values[0]),
            BoundProduct p => DenseReference.Multiply(Eval(p.Left, v, t, absolute), Eval(p.Right, v, t, absolute)),
            BoundBroadcast b => DenseReference.Broadcast(Eval(b.Operand, v, t, absolute), Size(b.Shape.Rows, v), Size(b.Shape.Columns, v)),
            BoundElementwise m => DenseReference.Map2(Eval(m.Left, v, t, absolute), Eval(m.Right, v, t, absolute), (x, y) => x * y),
            BoundCall c => Map(Eval(c.Argument, v, t, absolute: false), x => absolute ? Math.Abs(DenseReference.Apply(c.Function, x)) : DenseReference.Apply(c.Function, x)),
            BoundReduce r => DenseReference.Scalar(DenseReference.Reduce(r.Reduction, Eval(r.Argument, v, t, absolute: false), absolute)),
            _ => throw new InvalidOperationException("unknown bound node " + e.GetType().Name),
        };

        if (result.Rows != Size(e.Shape.Rows, v) || result.Columns != Size(e.Shape.Columns, v))
        {
            throw new InvalidOperationException($"{e} has the symbolic shape {e.Shape} but evaluates to {result.Rows}×{result.Columns}");
        }

        return result;
    }

    /// <summary>Σ_{t=1}^{T−1}: t is 1-based here, so z_t is row t−1 of the sequence.</summary>
    private static DenseMatrix SumOverTime(BoundExpression operand, RecurrentValues v, bool absolute)
    {
        var total = new DenseMatrix(Size(operand.Shape.Rows, v), Size(operand.Shape.Columns, v));
        for (int t = 1; t <= v.Steps - 1; t++)
        {
            DenseMatrix term = Eval(operand, v, t, absolute);
            for (int k = 0; k < total.Values.Length; k++) total.Values[k] += term.Values[k];
        }

        return total;
    }

    private static int Size(Dimension d, RecurrentValues v) => d switch
    {
        Dimension.Hidden => v.Hidden,
        Dimension.Input => v.Inputs,
        Dimension.Output => v.Outputs,
        Dimension.One => 1,
        _ => throw new InvalidOperationException("a layer dimension in a recurrent rule: " + d),
    };

    private static DenseMatrix Signal(Signal signal, RecurrentValues v, int? t, bool absolute)
    {
        int Step(int offset) => (t ?? throw new InvalidOperationException($"{signal} outside sum_t")) + offset - 1;
        DenseMatrix m = signal switch
        {
            Language.Binding.Signal.RecurrentWeights => DenseMatrix.FromFloats(v.Wh, v.Hidden, v.Hidden),
            Language.Binding.Signal.InputWeights => DenseMatrix.FromFloats(v.Wx, v.Hidden, v.Inputs),
            Language.Binding.Signal.ReadoutWeights => DenseMatrix.FromFloats(v.Wo, v.Outputs, v.Hidden),
            Language.Binding.Signal.HiddenNow => Row(v.Z, Step(0), v.Hidden),
            Language.Binding.Signal.HiddenNext => Row(v.Z, Step(1), v.Hidden),
            Language.Binding.Signal.ErrorNow => Row(v.E, Step(0), v.Hidden),
            Language.Binding.Signal.ErrorNext => Row(v.E, Step(1), v.Hidden),
            Language.Binding.Signal.InputNow => Row(v.X, Step(0), v.Inputs),
            Language.Binding.Signal.InputNext => Row(v.X, Step(1), v.Inputs),
            Language.Binding.Signal.ActivityNow => Map(Row(v.Z, Step(0), v.Hidden), Math.Tanh),
            Language.Binding.Signal.HiddenLast => Row(v.Z, v.Steps - 1, v.Hidden),
            Language.Binding.Signal.ErrorLast => Row(v.E, v.Steps - 1, v.Hidden),
            Language.Binding.Signal.Output => DenseMatrix.FromFloats(v.Output, v.Outputs, 1),
            Language.Binding.Signal.OutputError => DenseMatrix.FromFloats(v.OutputError, v.Outputs, 1),
            _ => throw new InvalidOperationException("a layer signal in a recurrent rule: " + signal),
        };
        return absolute ? Map(m, Math.Abs) : m;
    }

    private static DenseMatrix Row(float[] sequence, int row, int length) => DenseMatrix.FromFloats(sequence.AsSpan(row * length, length), length, 1);

    private static DenseMatrix Map(DenseMatrix a, Func<double, double> f) => DenseReference.Map(a, f, absolute: false);
}
