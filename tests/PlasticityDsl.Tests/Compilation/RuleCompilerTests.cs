using Xunit;
using PlasticityDsl.Language;
using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Compiler;

namespace PlasticityDsl.Tests.RuleCompilation;

/// <summary>examples/rules/*.rule as the test project copies them to <c>rules/</c> in the output folder.</summary>
internal static class RuleFiles
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "rules");

    public static IReadOnlyList<string> Paths { get; } =
        (Directory.Exists(Folder) ? Directory.GetFiles(Folder, "*.rule") : Array.Empty<string>())
            .OrderBy(Path.GetFileName, StringComparer.Ordinal)
            .ToArray();

    public static TheoryData<string> Stems()
    {
        if (Paths.Count == 0) throw new InvalidOperationException($"No example rules in {Folder}; the test project copies examples/rules/*.rule there.");
        var data = new TheoryData<string>();
        // Every example, layer rules (IPlasticityRule) and recurrent ones (dWh, …) alike: RuleCompiler builds both kinds.
        foreach (string path in Paths) data.Add(Path.GetFileNameWithoutExtension(path));
        return data;
    }

    public static string PathOf(string stem) => Paths.Single(p => Path.GetFileNameWithoutExtension(p) == stem);
}

/// <summary>
/// <see cref="RuleCompiler"/>: the generator's pipeline at run time. Its kernels are the built-in ones bit for bit,
/// it compiles a text once per process, and a broken rule is a <see cref="RuleCompilationException"/> with the
/// diagnostics the build would report, located in the rule.
/// </summary>
public sealed class RuleCompilerTests
{
    public static TheoryData<string> Stems() => RuleFiles.Stems();

    [Theory]
    [MemberData(nameof(Stems))]
    public void Every_example_compiles_at_run_time_into_the_built_in_kernel_bit_for_bit(string stem)
    {
        object kernel = RuleCompiler.CompileFile<object>(RuleFiles.PathOf(stem));
        // The generator built the same class into the CLI, whatever the kind of rule.
        Type builtInType = typeof(GeneratedRules).Assembly.GetType(kernel.GetType().FullName!)
            ?? throw new Xunit.Sdk.XunitException($"the CLI has no built-in {kernel.GetType().FullName}");
        object builtInKernel = builtInType.GetProperty("Instance")!.GetValue(null)!;
        Assert.NotSame(builtInType.Assembly, kernel.GetType().Assembly);
        Assert.Equal(builtInType.GetInterfaces().Select(i => i.FullName).Order(), kernel.GetType().GetInterfaces().Select(i => i.FullName).Order());
        AssertSameProperties(builtInKernel, kernel);
        if (kernel is not IPlasticityRule compiled)
        {
            // A recurrent rule: RuleCompiler.CompileFile (for IPlasticityRule) refuses it by name.
            var error = Assert.Throws<ArgumentException>(() => RuleCompiler.CompileFile(RuleFiles.PathOf(stem)));
            Assert.Contains(nameof(IPlasticityRule), error.Message, StringComparison.Ordinal);
            AssertSameRecurrentApplication((IRecurrentRule)builtInKernel, Assert.IsAssignableFrom<IRecurrentRule>(kernel));
            return;
        }

        IPlasticityRule builtIn = Assert.Single(GeneratedRules.All, r => r.Name == compiled.Name);
        Assert.Same(builtInKernel, builtIn);
        Assert.Same(kernel, RuleCompiler.CompileFile(RuleFiles.PathOf(stem)));
        AssertSameDescription(builtIn, compiled);
        AssertSameApplication(builtIn, compiled);
        if (!UsesFeedback(builtIn)) AssertSameTraining(builtIn, compiled);
    }

    /// <summary>Both recurrent kernels change Wh, Wx and Wo, and their tangent kernels Ẇh, Ẇx and Ẇo, bit for bit alike.</summary>
    private static void AssertSameRecurrentApplication(IRecurrentRule builtIn, IRecurrentRule compiled)
    {
        const int Hidden = 13, Inputs = 6, Outputs = 4, Steps = 8;
        var values = PlasticityDsl.Tests.Compiler.RecurrentValues.Random(Hidden, Inputs, Outputs, Steps, new Random(17));
        var direction = PlasticityDsl.Tests.Compiler.RecurrentValues.Random(Hidden, Inputs, Outputs, Steps, new Random(18));
        float[][] Run(IRecurrentRule rule)
        {
            float[] wh = (float[])values.Wh.Clone(), wx = (float[])values.Wx.Clone(), wo = (float[])values.Wo.Clone();
            float[] whTangent = (float[])direction.Wh.Clone(), wxTangent = (float[])direction.Wx.Clone(), woTangent = (float[])direction.Wo.Clone();
            var network = new RecurrentSignals(wh, wx, wo, Hidden, Inputs, Outputs, Steps, values.Z, values.X, values.E, values.Output, values.OutputError, Activation.Tanh);
            if (rule is IDifferentiableRecurrentRule differentiable)
            {
                var tangent = new RecurrentTangents(whTangent, wxTangent, woTangent, direction.Z, direction.X, direction.E, direction.Output, direction.OutputError);
                differentiable.ApplyTangent(in network, in tangent, values.Theta, direction.Theta, new float[differentiable.TangentScratchLength(Hidden, Inputs, Outputs, Steps)]);
            }

            rule.Apply(in network, values.Theta, new float[rule.ScratchLength(Hidden, Inputs, Outputs, Steps)]);
            return new[] { wh, wx, wo, whTangent, wxTangent, woTangent };
        }

        Assert.Equal(Run(builtIn), Run(compiled));
    }

    /// <summary>Every public property both kernels expose (name, source, coefficients, signals, cost, …) is equal.</summary>
    private static void AssertSameProperties(object expected, object actual)
    {
        foreach (System.Reflection.PropertyInfo property in expected.GetType().GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || property.PropertyType.IsByRefLike) continue;
            object? a = property.GetValue(expected), b = actual.GetType().GetProperty(property.Name)!.GetValue(actual);
            if (a is System.Collections.IEnumerable sequenceA and not string && b is System.Collections.IEnumerable sequenceB)
            {
                Assert.Equal(sequenceA.Cast<object>(), sequenceB.Cast<object>());
            }
            else
            {
                Assert.Equal(a, b);
            }
        }
    }

    [Fact]
    public void A_renamed_copy_of_a_built_in_rule_trains_identically()
    {
        string path = RuleFiles.PathOf("bp_oja");
        IPlasticityRule compiled = RuleCompiler.Compile("rule my_copy  # same update, other name\n" + File.ReadAllText(path), "ignored");
        Assert.Equal("my_copy", compiled.Name);
        Assert.Equal("PlasticityDsl.Rules.MyCopyRule", compiled.GetType().FullName);
        AssertSameTraining(GeneratedRules.All.Single(r => r.Name == "bp_oja"), compiled);
    }

    [Fact]
    public void The_same_text_is_compiled_once_and_gives_the_same_instance()
    {
        const string text = "# cache test\ndW = -t0*e_l*y_<l-1>' - 0.25*t3*W\n";
        IPlasticityRule first = RuleCompiler.Compile(text, "cache_once");
        Assert.Same(first, RuleCompiler.Compile(text, "cache_once"));
        Assert.Same(first, RuleCompiler.Compile(string.Concat(text.AsSpan(0, 5), text.AsSpan(5)), "cache_once"));

        // Another name is another rule (another class), even with the same text.
        IPlasticityRule other = RuleCompiler.Compile(text, "cache_other");
        Assert.NotSame(first, other);
        Assert.Equal("cache_other", other.Name);
        // Another text is another rule.
        Assert.NotSame(first, RuleCompiler.Compile(text + "\n", "cache_once"));

        // CompileFile names the rule by the file stem, so the same text in another folder is the same entry.
        using var dir = new TempDirectory();
        string path = dir.File("cache_once.rule");
        File.WriteAllText(path, text);
        Assert.Same(first, RuleCompiler.CompileFile(path));
    }

    [Fact]
    public void Concurrent_callers_share_one_compilation()
    {
        string text = $"# concurrency test {Guid.NewGuid():N}\ndW = t1*e_l*e_<l-1>' - t3*W\n";
        var results = new IPlasticityRule[16];
        using var start = new Barrier(results.Length);
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = results.Length }, i =>
        {
            start.SignalAndWait(TimeSpan.FromSeconds(30));
            results[i] = RuleCompiler.Compile(text, "concurrent");
        });
        Assert.All(results, r => Assert.Same(results[0], r));
    }

    [Fact]
    public void The_content_hash_separates_name_and_text()
    {
        Assert.NotEqual(RuleCompiler.ContentHash("ab", "c"), RuleCompiler.ContentHash("a", "bc"));
        Assert.NotEqual(RuleCompiler.ContentHash("a", "\uD800"), RuleCompiler.ContentHash("a", "\uDBFF"));
        Assert.Equal(RuleCompiler.ContentHash("a", "dW = W"), RuleCompiler.ContentHash("a", "dW = W"));
        Assert.Matches("^[0-9A-F]{64}$", RuleCompiler.ContentHash("a", "b"));
    }

    [Fact]
    public void A_shape_error_throws_with_the_located_diagnostic()
    {
        var error = Assert.Throws<RuleCompilationException>(() => RuleCompiler.Compile("# mine\ndW = -t0*e_l*y_l\n", "bad_shape"));
        RuleDiagnostic diagnostic = Assert.Single(error.Diagnostics);
        Assert.Equal(DiagnosticCode.MultiplyShapeMismatch, diagnostic.Code);
        Assert.Equal((1, 12), (diagnostic.Span.StartLine, diagnostic.Span.StartColumn));
        Assert.False(error.IsInternal);
        Assert.Empty(error.CSharpErrors);
        Assert.Equal("bad_shape.rule", error.Path);
        Assert.StartsWith("bad_shape.rule(2,13): error PDSL1001: ", error.Message, StringComparison.Ordinal);
        Assert.Equal(new[] { diagnostic.Format("bad_shape.rule") }, error.FormattedDiagnostics);
    }

    [Fact]
    public void A_syntax_error_in_a_file_is_located_in_that_file_every_time()
    {
        using var dir = new TempDirectory();
        string path = dir.File("broken.rule");
        File.WriteAllText(path, "dW = -t0*e_l*y_<l-1>' +\n");
        for (int attempt = 0; attempt < 2; attempt++)
        {
            var error = Assert.Throws<RuleCompilationException>(() => RuleCompiler.CompileFile(path));
            RuleDiagnostic diagnostic = Assert.Single(error.Diagnostics);
            Assert.Equal(DiagnosticCode.SyntaxError, diagnostic.Code);
            Assert.Equal(path, error.Path);
            Assert.StartsWith(path + "(2,1): error PDSL0001: ", error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("bad name")]
    [InlineData("x\"; class Evil {}//")]
    [InlineData("9lives")]
    public void An_invalid_name_throws_PDSL0003(string name)
    {
        var error = Assert.Throws<RuleCompilationException>(() => RuleCompiler.Compile("dW = -t3*W", name));
        Assert.Contains(error.Diagnostics, d => d.Code == DiagnosticCode.InvalidRuleName);
        Assert.False(error.IsInternal);
    }

    [Fact]
    public void Every_diagnostic_of_a_broken_file_is_in_the_message()
    {
        var error = Assert.Throws<RuleCompilationException>(() => RuleCompiler.Compile("rule 2bad\n", "x"));
        Assert.True(error.Diagnostics.Count >= 1);
        foreach (RuleDiagnostic d in error.Diagnostics) Assert.Contains(d.Format("x.rule"), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_internal_failure_is_marked_and_lists_the_CSharp_errors()
    {
        var internalError = new RuleDiagnostic(DiagnosticCode.InternalError, SourceSpan.Empty, "internal compiler error: the C# emitted for rule `x` does not compile (1 error)");
        var error = new RuleCompilationException("x.rule", new[] { internalError }, new[] { "XRule.g.cs(3,1): error CS0103: The name 'Infinityf' does not exist" });
        Assert.True(error.IsInternal);
        Assert.Contains("x.rule(1,1): error PDSL9001: internal compiler error", error.Message, StringComparison.Ordinal);
        Assert.Contains("(internal) XRule.g.cs(3,1): error CS0103", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_path_with_a_newline_stays_on_one_line_of_the_message()
    {
        var error = Assert.Throws<RuleCompilationException>(() => RuleCompiler.Compile("dW = W +", "a\nb"));
        Assert.DoesNotContain('\n', error.Message);
    }

    /// <summary>A backprop network has no separate B; rules that read or update it are compared kernel to kernel only.</summary>
    private static bool UsesFeedback(IPlasticityRule rule) => (rule.Signals & (RuleSignals.Feedback | RuleSignals.FeedbackUpdate)) != 0;

    /// <summary>θ: every t_k the rule reads small and distinct, then its parameters at their defaults.</summary>
    private static float[] Theta(IPlasticityRule rule)
    {
        float[] theta = new float[10 + rule.Parameters.Count];
        for (int k = 0; k < 10; k++) theta[k] = 0.002f * (1 + k % 4);
        foreach (RuleParameter p in rule.Parameters) theta[p.Index] = p.Default;
        return theta;
    }

    private static void AssertSameDescription(IPlasticityRule expected, IPlasticityRule actual)
    {
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.Source, actual.Source);
        Assert.Equal(expected.Coefficients, actual.Coefficients);
        Assert.Equal(expected.Signals, actual.Signals);
        Assert.Equal(expected.Parameters, actual.Parameters);
        foreach ((int rows, int columns) in new[] { (1, 1), (12, 30), (784, 170), (5, 9) })
        {
            Assert.Equal(expected.ScratchLength(rows, columns), actual.ScratchLength(rows, columns));
        }
    }

    /// <summary>300 online steps of two identical networks on the same random samples, one per kernel: every
    /// weight equal bit for bit afterwards (or both runs diverge at the same step).</summary>
    private static void AssertSameTraining(IPlasticityRule expected, IPlasticityRule actual)
    {
        var a = new Mlp([30, 12, 9, 5]);
        a.Initialize(InitScheme.Xavier, seed: 8);
        Mlp b = a.Clone();
        float[][] initial = a.Weights.Select(w => (float[])w.Clone()).ToArray();
        var learnerA = new OnlineLearner(a, expected);
        var learnerB = new OnlineLearner(b, actual);
        var random = new DeterministicRandom(9);
        float[] theta = Theta(expected);
        float[] x = new float[30];
        for (int s = 0; s < 300; s++)
        {
            for (int i = 0; i < x.Length; i++) x[i] = (float)random.NextDouble();
            int label = random.NextInt(5);
            Exception? errorA = Record.Exception(() => learnerA.Step(x, label, expected, theta));
            Exception? errorB = Record.Exception(() => learnerB.Step(x, label, actual, theta));
            Assert.Equal(errorA?.GetType(), errorB?.GetType());
            Assert.Equal(errorA?.Message, errorB?.Message);
            if (errorA is not null) break;
            Assert.Equal(BitConverter.SingleToInt32Bits(learnerA.LastLoss), BitConverter.SingleToInt32Bits(learnerB.LastLoss));
        }

        bool changed = false;
        for (int l = 0; l < a.LayerCount; l++)
        {
            Assert.Equal(Bits(a.Weights[l]), Bits(b.Weights[l]));
            changed |= !Bits(a.Weights[l]).SequenceEqual(Bits(initial[l]));
        }

        Assert.True(changed, "the rule never changed a weight: the comparison would prove nothing");
    }

    /// <summary>300 applications of each kernel to its own copy of the same W and B (and state, from its initial values), on
    /// the same random signals (errors, B and σ included, whether or not the rule reads them): W, B and the state equal bit
    /// for bit after every one.</summary>
    private static void AssertSameApplication(IPlasticityRule expected, IPlasticityRule actual)
    {
        const int rows = 7, columns = 11;
        var random = new DeterministicRandom(21);
        float[] Random(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)(scale * (2 * random.NextDouble() - 1))).ToArray();
        float[] w1 = Random(rows * columns, 0.3), b1 = Random(rows * columns, 0.3);
        float[] w2 = (float[])w1.Clone(), b2 = (float[])b1.Clone();
        float[] initialW = (float[])w1.Clone(), initialB = (float[])b1.Clone();
        float[] scratch1 = new float[expected.ScratchLength(rows, columns)], scratch2 = new float[actual.ScratchLength(rows, columns)];
        float[] theta = Theta(expected);
        float[] state1 = new float[expected.StateLength(rows, columns)], state2 = new float[actual.StateLength(rows, columns)];
        expected.InitializeState(state1, rows, columns);
        actual.InitializeState(state2, rows, columns);
        for (int step = 0; step < 300; step++)
        {
            float[] post = Random(rows, 1), pre = Random(columns, 1), z = Random(rows, 2), postError = Random(rows, 0.5), preError = Random(columns, 0.5);
            var layer1 = new LayerSignals(w1, b1, rows, columns, post, pre, z, postError, preError, Activation.Softplus) { State = state1 };
            expected.Apply(in layer1, theta, scratch1);
            var layer2 = new LayerSignals(w2, b2, rows, columns, post, pre, z, postError, preError, Activation.Softplus) { State = state2 };
            actual.Apply(in layer2, theta, scratch2);
            Assert.Equal(Bits(w1), Bits(w2));
            Assert.Equal(Bits(b1), Bits(b2));
            Assert.Equal(Bits(state1), Bits(state2));
        }

        Assert.True(!Bits(w1).SequenceEqual(Bits(initialW)) || !Bits(b1).SequenceEqual(Bits(initialB)), "the kernel changed neither W nor B");
    }

    private static int[] Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();
}
