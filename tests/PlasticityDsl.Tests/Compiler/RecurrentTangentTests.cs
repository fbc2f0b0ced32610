using PlasticityDsl.Language;
using PlasticityDsl.Language.Binding;
using PlasticityDsl.Language.Differentiation;
using PlasticityDsl.Language.Emit;
using PlasticityDsl.Language.Lowering;
using PlasticityDsl.Language.Syntax;
using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using Xunit;
using Binder = PlasticityDsl.Language.Binding.Binder;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>
/// Tangent kernels of recurrent rules (docs/metalearning.md): the emitted ApplyTangent of every differentiable recurrent
/// rule of <see cref="RecurrentRuleTests"/> and every recurrent example against central differences of the update, with
/// every input moved at once along a random direction (Wh, Wx, Wo, z, x, e of every step, y_T, e_o, t0…t9 and params):
/// (1) of the update's dense double reference, sums over t included, Richardson-extrapolated, to float rounding;
/// (2) of the emitted float update kernel itself, to its rounding.
/// </summary>
/// <remarks>Inputs are multiples of 2⁻¹² and directions multiples of 2⁻⁸, so x ± hẋ is exact in the float arrays the
/// reference and the kernel read: the differences measure the derivative, not rounding.</remarks>
public sealed class RecurrentTangentTests
{
    private const double Step = 1.0 / 256;

    private static readonly (int Hidden, int Inputs, int Outputs, int Steps)[] Sizes =
    {
        (1, 1, 1, 1), (1, 1, 1, 2), (3, 2, 4, 5), (7, 5, 3, 2), (17, 9, 4, 9), (24, 12, 10, 7),
    };

    private static IEnumerable<(string Name, string Text)> AllRules =>
        RecurrentRuleTests.Rules.Concat(ExampleRules.Recurrent.Select(r => (Name: r.Stem, r.Text)));

    private static IEnumerable<string> DifferentiableNames => AllRules.Where(r => RuleFrontEnd.Compile(r.Name, r.Text).Model!.Tangent is not null).Select(r => r.Name);

    public static TheoryData<string> Differentiable => new(DifferentiableNames);

    [Fact]
    public void Every_recurrent_rule_whose_functions_have_derivatives_gets_a_tangent_kernel()
    {
        Assert.Equal(new[] { "r_bptt", "r_bptt_oja", "r_input", "r_readout", "r_all_three", "r_scalars", "r_distribute", "r_broadcast", "bptt", "bptt_oja" },
            DifferentiableNames);
        Assert.All(GeneratedRules.Recurrent, rule => Assert.IsAssignableFrom<IDifferentiableRecurrentRule>(rule));
    }

    [Theory]
    [InlineData("r_elementwise", "`df` has no derivative the language can write (it needs σ'')")]
    [InlineData("r_mapped", "`norm2` has no derivative the language can write (it needs a division)")]
    [InlineData("r_let_param", "`norm2` has no derivative the language can write (it needs a division)")]
    public void A_recurrent_rule_that_cannot_be_differentiated_names_the_reason(string name, string reason)
    {
        KernelModel model = RuleFrontEnd.Compile(name, AllRules.Single(r => r.Name == name).Text).Model!;
        Assert.Null(model.Tangent);
        Assert.Equal(reason, model.NotDifferentiable);
        string emitted = KernelEmitter.Emit(model);
        Assert.Contains("/// Not differentiable: " + reason, emitted, StringComparison.Ordinal);
        Assert.Contains(": global::PlasticityDsl.Runtime.IRecurrentRule", emitted, StringComparison.Ordinal);
        Assert.DoesNotContain("ApplyTangent", emitted, StringComparison.Ordinal);
        Assert.False(RecurrentRuleTests.Instantiate(name) is IDifferentiableRecurrentRule);
    }

    [Fact]
    public void A_tangent_too_large_to_print_costs_the_rule_its_tangent_kernel_only()
    {
        // Seventeen distinct per-t terms: a 15 KB update whose tangent would make the kernel 78 KiB.
        string[] signals = { "z_t", "e_t", "z_<t+1>", "e_<t+1>" };
        string text = "dWh = " + string.Join(" + ", signals.SelectMany(a => signals.Select(b => $"sum_t(exp({a})*(Wh*f({b}))'*Wh)")))
            + " + sum_t(exp(z_t)*(Wx*x_t)'*Wh)";
        CompiledRule compiled = RuleFrontEnd.Compile("large", text);
        Assert.True(compiled.Succeeded, string.Join("; ", compiled.Diagnostics.Select(d => d.Message)));
        Assert.Null(compiled.Model!.Tangent);
        Assert.Equal("its tangent kernel would make the rule's C# 78 KiB (at most 64 KiB)", compiled.Model.NotDifferentiable);
        Assert.InRange(KernelEmitter.Emit(compiled.Model).Length, 1, RuleFrontEnd.MaxKernelCharacters);
    }

    [Fact]
    public void The_tangent_of_bptt_oja_reads_every_signal_it_depends_on_and_costs_matrix_vector_products_only()
    {
        KernelModel model = RuleFrontEnd.Compile("bptt_oja", ExampleRules.Get("bptt_oja").Text).Model!;
        // d[(Wh f)(z − WhᵀWh f)ᵀ] needs Ẇh f, Wh ḟ, WhᵀWh ḟ, WhᵀẆh f and ẆhᵀWh f: five more products per t than the
        // update's two, and twice its rank-one terms; ẏ_t = f'(z_t) ⊙ ż_t, so no ẏ is read.
        Assert.Equal("(T−1)·(11·n_h² + 5·n_h)", model.Tangent!.Layout.Cost);
        // A dot is the combining U+0307 after the first letter: Ẇh, ż_t, ṫ1.
        Assert.Equal(new[] { "Wh", "W\u0307h", "z_t", "z\u0307_t", "e_<t+1>", "e\u0307_<t+1>" }, model.Tangent.Layout.Reads.Select(s => s.ToString()));
        Assert.Equal(new[] { "t1", "t2", "t\u03071", "t\u03072" }, model.Tangent.Plan.Coefficients.Select(k => k.ToString()));
    }

    /// <summary>Ẇ of each target must change by D ΔW[ẋ, θ̇], within float rounding of the double reference's central
    /// differences; Ẇ of a matrix the rule only reads must not change.</summary>
    [Theory]
    [MemberData(nameof(Differentiable))]
    public void Emitted_tangent_kernel_matches_central_differences_of_the_reference_update(string name)
    {
        IReadOnlyList<BoundUpdate> updates = Bind(AllRules.Single(r => r.Name == name).Text);
        Assert.True(Differentiator.TryDifferentiate(updates, out IReadOnlyList<BoundUpdate> tangents, out _));
        var kernel = Assert.IsAssignableFrom<IDifferentiableRecurrentRule>(RecurrentRuleTests.Instantiate(name));
        var random = new Random(name.Length * 7907 + name[^1]);
        foreach ((int hidden, int inputs, int outputs, int steps) in Sizes)
        {
            (RecurrentValues at, RecurrentValues direction) = Point(kernel, hidden, inputs, outputs, steps, random);
            (float[] wh, float[] wx, float[] wo) = ApplyTangent(kernel, at, direction);
            string where = $"{name} on n_h={hidden}, n_x={inputs}, n_o={outputs}, T={steps}";
            foreach (BoundUpdate update in updates)
            {
                DenseMatrix coarse = CentralDifference(update.Value, at, direction, Step);
                DenseMatrix fine = CentralDifference(update.Value, at, direction, Step / 2);
                DenseMatrix expected = DenseReference.Scale(DenseReference.Add(DenseReference.Scale(fine, 4), coarse, -1), 1.0 / 3);
                double magnitude = tangents.SingleOrDefault(t => t.Target == update.Target) is { } symbolic ? RecurrentReference.Magnitude(symbolic.Value, at).FrobeniusNorm() : 0;
                (float[] before, float[] after) = Target(update.Target, direction, wh, wx, wo);
                UpdateComparison.Check(before, after, expected, magnitude, $"{where}: tangent of {update.Target}");
            }

            foreach (string untouched in new[] { "dWh", "dWx", "dWo" }.Where(t => updates.All(u => u.Target != t)))
            {
                (float[] before, float[] after) = Target(untouched, direction, wh, wx, wo);
                Assert.Equal(before, after);
            }
        }
    }

    /// <summary>The tangent against central differences of the float update kernel it differentiates: Wh(x ± hẋ) after
    /// Apply, differenced, is Ẇh + D ΔWh[ẋ, θ̇] (h = 1/64 and 1/128, Richardson-extrapolated); the kernel's change of Ẇh
    /// must match the difference's change within 10⁻³ of it, above a floor of float rounding of the updated weights
    /// amplified by 1/2h.</summary>
    [Theory]
    [MemberData(nameof(Differentiable))]
    public void Emitted_tangent_kernel_matches_central_differences_of_the_emitted_update_kernel(string name)
    {
        var kernel = Assert.IsAssignableFrom<IDifferentiableRecurrentRule>(RecurrentRuleTests.Instantiate(name));
        var random = new Random(name.Length * 104729 + name[0]);
        foreach ((int hidden, int inputs, int outputs, int steps) in Sizes)
        {
            (RecurrentValues at, RecurrentValues direction) = Point(kernel, hidden, inputs, outputs, steps, random);
            (float[] wh, float[] wx, float[] wo) = ApplyTangent(kernel, at, direction);
            (float[] Wh, float[] Wx, float[] Wo) coarse = KernelDifference(kernel, at, direction, 1.0 / 64), fine = KernelDifference(kernel, at, direction, 1.0 / 128);
            (float[] Wh, float[] Wx, float[] Wo) updated = Updated(kernel, at);
            foreach ((string what, float[] before, float[] actual, float[] c, float[] f, float[] weights) in new[]
            {
                ("Wh", direction.Wh, wh, coarse.Wh, fine.Wh, updated.Wh), ("Wx", direction.Wx, wx, coarse.Wx, fine.Wx, updated.Wx),
                ("Wo", direction.Wo, wo, coarse.Wo, fine.Wo, updated.Wo),
            })
            {
                double error = 0, norm = 0, rounding = 0;
                for (int k = 0; k < actual.Length; k++)
                {
                    double expected = (4.0 * f[k] - c[k]) / 3 - before[k];
                    double change = (double)actual[k] - before[k];
                    error += (change - expected) * (change - expected);
                    norm += expected * expected;
                    rounding += (double)weights[k] * weights[k];
                }

                double tolerance = 1e-3 * Math.Sqrt(norm) + 1e-4 * Math.Sqrt(rounding);
                Assert.True(Math.Sqrt(error) <= tolerance,
                    $"{name} on n_h={hidden}, n_x={inputs}, n_o={outputs}, T={steps}: ‖ΔẆ{what[1..]} − central difference of Apply‖ = {Math.Sqrt(error):G3}, ‖difference‖ = {Math.Sqrt(norm):G3}, tolerance {tolerance:G3}");
            }
        }
    }

    [Fact]
    public void The_tangent_kernel_checks_the_tangents_it_needs_and_allocates_nothing()
    {
        var kernel = (IDifferentiableRecurrentRule)RecurrentRuleTests.Instantiate("r_bptt_oja");
        (RecurrentValues at, RecurrentValues direction) = Point(kernel, 5, 2, 3, 4, new Random(5));
        float[] scratch = new float[kernel.TangentScratchLength(5, 2, 3, 4)];
        var error = Assert.Throws<ArgumentException>(() =>
        {
            var network = Network(at, (float[])at.Wh.Clone());
            var tangent = new RecurrentTangents((float[])direction.Wh.Clone(), direction.Wx, direction.Wo, direction.Z, direction.X, ReadOnlySpan<float>.Empty, direction.Output, direction.OutputError);
            kernel.ApplyTangent(in network, in tangent, at.Theta, direction.Theta, scratch);
        });
        Assert.Equal("tangent", error.ParamName);
        Assert.Contains("ė", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() =>
        {
            var network = Network(at, (float[])at.Wh.Clone());
            var tangent = new RecurrentTangents(Span<float>.Empty, direction.Wx, direction.Wo, direction.Z, direction.X, direction.E, direction.Output, direction.OutputError);
            kernel.ApplyTangent(in network, in tangent, at.Theta, direction.Theta, scratch);
        });
        Assert.Throws<ArgumentException>(() =>
        {
            var network = Network(at, (float[])at.Wh.Clone());
            var tangent = new RecurrentTangents((float[])direction.Wh.Clone(), direction.Wx, direction.Wo, direction.Z, direction.X, direction.E, direction.Output, direction.OutputError);
            kernel.ApplyTangent(in network, in tangent, at.Theta, direction.Theta, scratch.AsSpan(1));
        });

        float[] wh = (float[])at.Wh.Clone(), whTangent = (float[])direction.Wh.Clone();
        void Run()
        {
            var network = Network(at, wh);
            var tangent = new RecurrentTangents(whTangent, direction.Wx, direction.Wo, direction.Z, direction.X, direction.E, direction.Output, direction.OutputError);
            kernel.ApplyTangent(in network, in tangent, at.Theta, direction.Theta, scratch);
        }

        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run();
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        Assert.Equal(at.Wh, wh);
    }

    private static IReadOnlyList<BoundUpdate> Bind(string text)
    {
        Assert.True(RuleParser.TryParse(text, out RuleFileSyntax? syntax, out _), text);
        var binder = new Binder();
        IReadOnlyList<BoundUpdate> updates = binder.Bind(syntax!);
        Assert.Empty(binder.Diagnostics);
        return updates;
    }

    /// <summary>A quantized point and direction, the point's parameters at their defaults (moved along θ̇ like the rest).</summary>
    private static (RecurrentValues At, RecurrentValues Direction) Point(IRecurrentRule kernel, int hidden, int inputs, int outputs, int steps, Random random)
    {
        RecurrentValues direction = Quantized(RecurrentValues.Random(hidden, inputs, outputs, steps, random), 256);
        RecurrentValues at = Quantized(RecurrentValues.Random(hidden, inputs, outputs, steps, random), 4096);
        foreach (RuleParameter p in kernel.Parameters) at.Theta[p.Index] = MathF.Round(p.Default * 4096) / 4096;
        return (at with { Tangent = direction }, direction);
    }

    private static RecurrentSignals Network(RecurrentValues v, Span<float> wh) =>
        new(wh, v.Wx, v.Wo, v.Hidden, v.Inputs, v.Outputs, v.Steps, v.Z, v.X, v.E, v.Output, v.OutputError, DenseReference.Activation);

    /// <summary>Ẇh, Ẇx and Ẇo after ApplyTangent from the direction's, into scratch filled with NaN.</summary>
    private static (float[] Wh, float[] Wx, float[] Wo) ApplyTangent(IDifferentiableRecurrentRule kernel, RecurrentValues at, RecurrentValues direction)
    {
        float[] wh = (float[])direction.Wh.Clone(), wx = (float[])direction.Wx.Clone(), wo = (float[])direction.Wo.Clone();
        float[] scratch = new float[kernel.TangentScratchLength(at.Hidden, at.Inputs, at.Outputs, at.Steps)];
        Array.Fill(scratch, float.NaN);
        var network = new RecurrentSignals((float[])at.Wh.Clone(), (float[])at.Wx.Clone(), (float[])at.Wo.Clone(), at.Hidden, at.Inputs, at.Outputs, at.Steps,
            at.Z, at.X, at.E, at.Output, at.OutputError, DenseReference.Activation);
        var tangent = new RecurrentTangents(wh, wx, wo, direction.Z, direction.X, direction.E, direction.Output, direction.OutputError);
        kernel.ApplyTangent(in network, in tangent, at.Theta, direction.Theta, scratch);
        return (wh, wx, wo);
    }

    private static (float[] Before, float[] After) Target(string target, RecurrentValues direction, float[] wh, float[] wx, float[] wo) => target switch
    {
        "dWh" => (direction.Wh, wh),
        "dWx" => (direction.Wx, wx),
        _ => (direction.Wo, wo),
    };

    private static DenseMatrix CentralDifference(BoundExpression e, RecurrentValues at, RecurrentValues direction, double h) =>
        DenseReference.Scale(DenseReference.Add(RecurrentReference.Evaluate(e, Shifted(at, direction, h)),
            RecurrentReference.Evaluate(e, Shifted(at, direction, -h)), -1), 1 / (2 * h));

    /// <summary>Wh, Wx and Wo after the float update kernel at <paramref name="v"/>.</summary>
    private static (float[] Wh, float[] Wx, float[] Wo) Updated(IRecurrentRule kernel, RecurrentValues v)
    {
        float[] wh = (float[])v.Wh.Clone(), wx = (float[])v.Wx.Clone(), wo = (float[])v.Wo.Clone();
        var network = new RecurrentSignals(wh, wx, wo, v.Hidden, v.Inputs, v.Outputs, v.Steps, v.Z, v.X, v.E, v.Output, v.OutputError, DenseReference.Activation);
        kernel.Apply(in network, v.Theta, new float[kernel.ScratchLength(v.Hidden, v.Inputs, v.Outputs, v.Steps)]);
        return (wh, wx, wo);
    }

    /// <summary>(W(x + hẋ) − W(x − hẋ)) / 2h of every matrix after the float update kernel.</summary>
    private static (float[] Wh, float[] Wx, float[] Wo) KernelDifference(IRecurrentRule kernel, RecurrentValues at, RecurrentValues direction, double h)
    {
        var plus = Updated(kernel, Shifted(at, direction, h));
        var minus = Updated(kernel, Shifted(at, direction, -h));
        float[] Difference(float[] p, float[] m) => p.Select((x, k) => (float)((x - (double)m[k]) / (2 * h))).ToArray();
        return (Difference(plus.Wh, minus.Wh), Difference(plus.Wx, minus.Wx), Difference(plus.Wo, minus.Wo));
    }

    private static RecurrentValues Quantized(RecurrentValues v, int steps)
    {
        float[] Round(float[] x) => x.Select(value => MathF.Round(value * steps) / steps).ToArray();
        return new RecurrentValues(v.Hidden, v.Inputs, v.Outputs, v.Steps, Round(v.Wh), Round(v.Wx), Round(v.Wo), Round(v.Z), Round(v.X), Round(v.E),
            Round(v.Output), Round(v.OutputError), Round(v.Theta));
    }

    /// <summary>Every input moved by h·v̇ (θ by h·θ̇); exact for quantized inputs.</summary>
    private static RecurrentValues Shifted(RecurrentValues at, RecurrentValues direction, double h)
    {
        float[] Move(float[] x, float[] dx) => DifferentiatorTests.MovedExactly(x, dx, h);
        return new RecurrentValues(at.Hidden, at.Inputs, at.Outputs, at.Steps, Move(at.Wh, direction.Wh), Move(at.Wx, direction.Wx), Move(at.Wo, direction.Wo),
            Move(at.Z, direction.Z), Move(at.X, direction.X), Move(at.E, direction.E), Move(at.Output, direction.Output), Move(at.OutputError, direction.OutputError),
            Move(at.Theta, direction.Theta));
    }
}
