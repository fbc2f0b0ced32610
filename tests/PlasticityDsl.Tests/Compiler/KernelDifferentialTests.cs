using System.Reflection;
using Binder = PlasticityDsl.Language.Binding.Binder;
using PlasticityDsl.Language.Emit;
using PlasticityDsl.Language;
using PlasticityDsl.Language.Binding;
using PlasticityDsl.Language.Syntax;
using PlasticityDsl.Runtime;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>
/// Layer (e): the emitted kernels, compiled in memory with Roslyn and run, against <see cref="DenseReference"/>
/// evaluating the bound tree literally in double precision. Named rules on every shape in {1, 3, 17, 64}²;
/// a few hundred generated rules on random shapes (a property-based differential test).
/// </summary>
public sealed class KernelDifferentialTests
{
    private static readonly int[] Sizes = { 1, 3, 17, 64 };

    private static readonly Dictionary<string, string> NamedRules = new(StringComparer.Ordinal)
    {
        ["weight_decay"] = "dW = -t3*W",
        ["error_outer"] = "dW = t1*e_l*e_<l-1>'",
        ["error_energy_decay"] = "dW = (e_l'*e_l)*W",
        ["potential"] = "dW = z_l*y_<l-1>'",
        ["chain_w_wt"] = "dW = W*(W'*e_l)*y_<l-1>'",
        ["inner_product_in_chain"] = "dW = y_l*(y_l'*e_l)*y_<l-1>'",
        ["scaled_oja_plus_bp"] = "dW = 0.5*t2*(y_l*y_<l-1>' - (y_l*y_l')*W) - t0*e_l*y_<l-1>'",
        ["transposed_outer"] = "dW = -(y_<l-1>*e_l')'",
        ["cancelled_decay"] = "dW = t0*W - t0*W + e_l*y_<l-1>'",
        ["bilinear_decay"] = "dW = (y_l'*W*y_<l-1>)*W + t1*t1*W*(y_<l-1>*y_<l-1>')",
        ["pre_error_through_W"] = "dW = W*(e_<l-1>*y_<l-1>') - 1e-3*W",
        ["cancelled_dot"] = "dW = (e_l'*y_l)*W - (y_l'*e_l)*W + e_l*e_<l-1>'",
        ["right_chain"] = "dW = e_l*y_<l-1>'*W'*W",
        ["four_row_vectors"] = "dW = e_l*y_<l-1>' + y_l*e_<l-1>' + z_l*(W'*e_l)' + (e_l .* y_l)*(W'*y_l)' - t3*W",
        ["centered_hebb"] = "dW = t0*(y_l - t5)*(y_<l-1> - t6)'",
        ["three_proportional_rows"] = "dW = y_l*(y_<l-1> - 0.5*e_<l-1>)' - 2*y_l*(W'*y_l)'",
    };

    private static readonly Lazy<Assembly> NamedKernels = new(() => CompileKernels(
        ExampleRules.Layer.Select(r => (r.Stem, r.Text)).Concat(NamedRules.Select(kv => (kv.Key, kv.Value)))));

    private readonly ITestOutputHelper _output;

    public KernelDifferentialTests(ITestOutputHelper output) => _output = output;

    public static TheoryData<string> RuleNames()
    {
        var data = new TheoryData<string>();
        // The example rules (some with dB and B) are covered by LanguageDifferentialTests.
        foreach (string name in NamedRules.Keys) data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(RuleNames))]
    public void Kernel_matches_the_dense_reference_on_every_shape(string name)
    {
        string text = ExampleRules.All.FirstOrDefault(r => r.Stem == name)?.Text ?? NamedRules[name];
        IPlasticityRule kernel = Instantiate(NamedKernels.Value, name);
        BoundExpression tree = Bind(text);
        var random = new Random(name.Length * 7919 + name[0]);
        double worst = 0;
        foreach (int rows in Sizes)
        {
            foreach (int columns in Sizes)
            {
                worst = Math.Max(worst, Compare(kernel, tree, LayerValues.Random(rows, columns, random), text));
            }
        }

        _output.WriteLine($"{name}: worst error/tolerance = {worst:G3}");
    }

    [Fact]
    public void Example_kernels_describe_themselves()
    {
        Assembly kernels = NamedKernels.Value;
        IPlasticityRule bpOja = Instantiate(kernels, "bp_oja");
        Assert.Equal("bp_oja", bpOja.Name);
        Assert.Equal("dW = -t0*e_l*y_<l-1>' + t2*(y_l*y_<l-1>' - (y_l*y_l')*W)", bpOja.Source);
        Assert.Equal(new[] { 0, 2 }, bpOja.Coefficients);
        Assert.Equal(RuleSignals.PostError, bpOja.Signals);
        Assert.Equal(17, bpOja.ScratchLength(64, 17));
        Assert.Equal(RuleSignals.None, Instantiate(kernels, "oja").Signals);
        Assert.Equal(RuleSignals.PostError | RuleSignals.PreError, Instantiate(kernels, "error_outer").Signals);
        Assert.Equal(0, Instantiate(kernels, "bp").ScratchLength(64, 17));
    }

    /// <summary>The differential check itself: it must see a 1e-4 relative error, and a kernel of another rule.</summary>
    [Fact]
    public void The_comparison_detects_small_and_gross_differences()
    {
        Assembly kernels = NamedKernels.Value;
        var random = new Random(2);
        foreach ((int rows, int columns) in new[] { (1, 1), (17, 3), (64, 64) })
        {
            Assert.Throws<XunitException>(() => Compare(Instantiate(kernels, "weight_decay"), Bind("dW = -1.0001*t3*W"), LayerValues.Random(rows, columns, random), "self-test"));
            Assert.Throws<XunitException>(() => Compare(Instantiate(kernels, "oja"), Bind(ExampleRules.Get("bp_oja").Text), LayerValues.Random(rows, columns, random), "self-test"));
            Assert.Throws<XunitException>(() => Compare(Instantiate(kernels, "error_outer"), Bind("dW = t1*e_l*e_<l-1>' + 1e-3*z_l*y_<l-1>'"), LayerValues.Random(rows, columns, random), "self-test"));
        }
    }

    [Fact]
    public void Kernel_rejects_short_theta_and_scratch()
    {
        IPlasticityRule kernel = Instantiate(NamedKernels.Value, "bp_oja");
        LayerValues v = LayerValues.Random(3, 2, new Random(1));
        Assert.Throws<ArgumentException>(() => Apply(kernel, v, new float[9], new float[2]));
        Assert.Throws<ArgumentException>(() => Apply(kernel, v, new float[10], new float[1]));
    }

    [Fact]
    public void Unparenthesized_weight_chain_matches_the_dense_reference()
    {
        const string text = "dW = W*W'*e_l*y_<l-1>'";
        Assembly assembly = CompileKernels(new[] { ("w_wt_chain", text) });
        IPlasticityRule kernel = Instantiate(assembly, "w_wt_chain");
        var random = new Random(5);
        foreach (int rows in Sizes)
        {
            foreach (int columns in Sizes) Compare(kernel, Bind(text), LayerValues.Random(rows, columns, random), text);
        }
    }

    [Fact]
    public void Generated_rules_match_the_dense_reference()
    {
        const int Count = 300;
        var generator = new RandomRules(seed: 1729);
        var rules = new List<(string Name, string Text)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int unsupported = 0;
        for (int attempts = 0; rules.Count < Count; attempts++)
        {
            Assert.True(attempts < 20 * Count, $"the generator produced only {rules.Count} compilable rules in {attempts} attempts");
            string text = generator.Next();
            if (!seen.Add(text)) continue;
            CompiledRule compiled = RuleFrontEnd.Compile("gen", text);
            if (!compiled.Succeeded)
            {
                // Well-shaped by construction: the only acceptable refusal is a product of weight matrices.
                Assert.True(compiled.Diagnostics.All(d => d.Code == DiagnosticCode.UnsupportedProduct),
                    $"a well-shaped rule was rejected: {text}\n{string.Join("\n", compiled.Diagnostics.Select(d => d.Format("gen.rule")))}");
                unsupported++;
                continue;
            }

            rules.Add(($"gen_{rules.Count:D3}", text));
        }

        Assembly kernels = CompileKernels(rules);
        var random = new Random(31337);
        double worst = 0;
        foreach ((string name, string text) in rules)
        {
            IPlasticityRule kernel = Instantiate(kernels, name);
            BoundExpression tree = Bind(text);
            for (int trial = 0; trial < 2; trial++)
            {
                int rows = Sizes[random.Next(Sizes.Length)], columns = Sizes[random.Next(Sizes.Length)];
                worst = Math.Max(worst, Compare(kernel, tree, LayerValues.Random(rows, columns, random), $"{name}: {text}"));
            }
        }

        _output.WriteLine($"{Count} rules ({unsupported} refused as unsupported products); worst error/tolerance = {worst:G3}");
        _output.WriteLine("e.g. " + string.Join("\n     ", rules.Take(5).Select(r => r.Text)));
    }

    /// <summary>Runs the kernel once and checks ΔW against the reference; returns error / tolerance.</summary>
    private static double Compare(IPlasticityRule kernel, BoundExpression tree, LayerValues values, string what)
    {
        // θ entries the kernel does not declare are NaN, so reading one poisons ΔW; the reference gets them all.
        var theta = new float[10];
        for (int k = 0; k < theta.Length; k++) theta[k] = kernel.Coefficients.Contains(k) ? values.Theta[k] : float.NaN;

        // Scratch of exactly the declared length, dirty: the kernel must neither overrun nor rely on zeros.
        var scratch = new float[kernel.ScratchLength(values.Rows, values.Columns)];
        Array.Fill(scratch, float.NaN);

        float[] weights = (float[])values.Weights.Clone();
        Apply(kernel, values with { Weights = weights }, theta, scratch);

        return UpdateComparison.Check(values.Weights, weights, DenseReference.Evaluate(tree, values),
            DenseReference.Magnitude(tree, values).FrobeniusNorm(), $"{what} on {values.Rows}×{values.Columns}");
    }

    /// <summary>Applies the kernel, passing only the error signals it declares (the runtime computes no others).</summary>
    private static void Apply(IPlasticityRule kernel, LayerValues v, float[] theta, float[] scratch)
    {
        var layer = new LayerSignals(v.Weights, default, v.Rows, v.Columns, v.Post, v.Pre, v.Potential,
            kernel.Signals.HasFlag(RuleSignals.PostError) ? v.PostError : ReadOnlySpan<float>.Empty,
            kernel.Signals.HasFlag(RuleSignals.PreError) ? v.PreError : ReadOnlySpan<float>.Empty, DenseReference.Activation);
        kernel.Apply(in layer, theta, scratch);
    }

    private static BoundExpression Bind(string text)
    {
        Assert.True(RuleParser.TryParse(text, out RuleFileSyntax? syntax, out RuleDiagnostic? error), error?.Message);
        var binder = new Binder();
        BoundUpdate update = Assert.Single(binder.Bind(syntax!));
        Assert.Empty(binder.Diagnostics);
        return update.Value;
    }

    /// <summary>Front end + emitter for every rule, then one in-memory compilation of all kernels.</summary>
    private static Assembly CompileKernels(IEnumerable<(string Name, string Text)> rules)
    {
        var trees = new List<Microsoft.CodeAnalysis.SyntaxTree>();
        foreach ((string name, string text) in rules)
        {
            CompiledRule compiled = RuleFrontEnd.Compile(name, text);
            Assert.True(compiled.Succeeded, $"{name}: {string.Join("; ", compiled.Diagnostics.Select(d => d.Format(name + ".rule")))}");
            trees.Add(RoslynHarness.Parse(KernelEmitter.Emit(compiled.Model!), KernelEmitter.HintName(compiled.Model!)));
        }

        return RoslynHarness.EmitAndLoad(RoslynHarness.CreateCompilation(trees, "Kernels" + Guid.NewGuid().ToString("N")));
    }

    private static IPlasticityRule Instantiate(Assembly kernels, string ruleName)
    {
        string typeName = KernelEmitter.DefaultNamespace + "." + RuleFrontEnd.ClassName(ruleName);
        Type type = kernels.GetType(typeName, throwOnError: true)!;
        return (IPlasticityRule)type.GetProperty("Instance")!.GetValue(null)!;
    }
}
