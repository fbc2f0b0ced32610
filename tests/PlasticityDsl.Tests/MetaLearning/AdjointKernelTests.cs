using PlasticityDsl.Compiler;
using PlasticityDsl.Runtime;
using PlasticityDsl.Tests.Compiler;
using Xunit;

namespace PlasticityDsl.Tests.MetaLearning;

/// <summary>
/// The emitted adjoint kernels (ApplyAdjoint) against the emitted tangent kernels (ApplyTangent), both as the generator
/// printed them: for random signals, directions (v̇, θ̇) and cotangents Ū, ⟨Ū, J·v̇⟩ = ⟨Jᵀ·Ū, v̇⟩, summed in double
/// from the kernels' float results; and the run-time compiler's kernels bit for bit the generator's.
/// </summary>
public sealed class AdjointKernelTests
{
    private const int Rows = 7, Columns = 5;

    /// <summary>Every example rule with a generated adjoint: their kernels group products into passes in different ways.</summary>
    public static TheoryData<string> Rules() => new()
    {
        "eq9", "bp", "bp_oja", "pool", "anti_hebbian", "bounded_hebb", "covariance", "hebb_decay", "kolen_pollack", "l1_bp", "oja",
        "oja_single", "weight_mirror",
    };

    private static IAdjointRule Generated(string name) => name switch
    {
        "eq9" => PlasticityDsl.Rules.Eq9Rule.Instance,
        "bp" => PlasticityDsl.Rules.BpRule.Instance,
        "bp_oja" => PlasticityDsl.Rules.BpOjaRule.Instance,
        "pool" => PlasticityDsl.Rules.PoolRule.Instance,
        "anti_hebbian" => PlasticityDsl.Rules.AntiHebbianRule.Instance,
        "bounded_hebb" => PlasticityDsl.Rules.BoundedHebbRule.Instance,
        "covariance" => PlasticityDsl.Rules.CovarianceRule.Instance,
        "hebb_decay" => PlasticityDsl.Rules.HebbDecayRule.Instance,
        "kolen_pollack" => PlasticityDsl.Rules.KolenPollackRule.Instance,
        "l1_bp" => PlasticityDsl.Rules.L1BpRule.Instance,
        "oja" => PlasticityDsl.Rules.OjaRule.Instance,
        "oja_single" => PlasticityDsl.Rules.OjaSingleRule.Instance,
        "weight_mirror" => PlasticityDsl.Rules.WeightMirrorRule.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static bool PlasticFeedback(IAdjointRule rule) => (rule.Signals & RuleSignals.FeedbackUpdate) != 0;

    /// <summary>The layer's signals and θ, and a direction or cotangent of the same shapes.</summary>
    private sealed record Values(float[] W, float[] B, float[] Y, float[] Yp, float[] Z, float[] E, float[] Ep, float[] Theta)
    {
        public static Values Random(Random random, bool feedback, int thetaLength)
        {
            float[] V(int n, double scale = 1) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
            return new Values(V(Rows * Columns), feedback ? V(Rows * Columns) : [], V(Rows), V(Columns), V(Rows), V(Rows), V(Columns), V(thetaLength, 0.8));
        }

        public Values Copy() => new((float[])W.Clone(), (float[])B.Clone(), (float[])Y.Clone(), (float[])Yp.Clone(), (float[])Z.Clone(),
            (float[])E.Clone(), (float[])Ep.Clone(), (float[])Theta.Clone());

        public LayerSignals Signals() => new(W, B, Rows, Columns, Y, Yp, Z, E, Ep, Activation.Softplus);
    }

    private static double Dot(float[] a, float[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (double)a[i] * b[i];
        return sum;
    }

    private static double Dot(float[] a, float[] aBefore, float[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += ((double)a[i] - aBefore[i]) * b[i];
        return sum;
    }

    /// <summary>Ẇ and Ḃ after ApplyTangent along <paramref name="direction"/> (which holds Ẇ and Ḃ on entry).</summary>
    private static Values Tangent(IAdjointRule rule, Values at, Values direction)
    {
        Values result = direction.Copy();
        LayerSignals signals = at.Signals();
        var tangent = new LayerTangents(result.W, result.B, direction.Y, direction.Yp, direction.Z, direction.E, direction.Ep);
        rule.ApplyTangent(in signals, in tangent, at.Theta, direction.Theta, new float[rule.TangentScratchLength(Rows, Columns)]);
        return result;
    }

    /// <summary>W̄, B̄ (Ū on entry), the vector adjoints (zero on entry) and θ̄ after ApplyAdjoint.</summary>
    private static Values Adjoint(IAdjointRule rule, Values at, Values cotangent)
    {
        Values bars = Bars(cotangent);
        LayerSignals signals = at.Signals();
        var adjoint = new LayerAdjoints(bars.W, bars.B, bars.Y, bars.Yp, bars.Z, bars.E, bars.Ep);
        rule.ApplyAdjoint(in signals, in adjoint, at.Theta, bars.Theta, new float[rule.AdjointScratchLength(Rows, Columns)]);
        return bars;
    }

    /// <summary>Adjoint buffers as a kernel starts on them: W̄ and B̄ hold the cotangent Ū, the vector adjoints and θ̄ zero.</summary>
    private static Values Bars(Values cotangent) => new((float[])cotangent.W.Clone(), (float[])cotangent.B.Clone(), new float[Rows], new float[Columns],
        new float[Rows], new float[Rows], new float[Columns], new float[cotangent.Theta.Length]);

    [Theory]
    [MemberData(nameof(Rules))]
    public void Emitted_adjoint_is_the_transpose_of_the_emitted_tangent(string name)
    {
        IAdjointRule rule = Generated(name);
        bool feedback = PlasticFeedback(rule);
        int thetaLength = 10 + rule.Parameters.Count;
        for (int seed = 0; seed < 5; seed++)
        {
            var random = new Random(seed * 31 + name.Length);
            Values at = Values.Random(random, feedback, thetaLength), direction = Values.Random(random, feedback, thetaLength);
            Values cotangent = Values.Random(random, feedback, thetaLength);
            float[] wBefore = (float[])at.W.Clone(), bBefore = (float[])at.B.Clone();

            Values tangent = Tangent(rule, at, direction);
            Values bars = Adjoint(rule, at, cotangent);
            Assert.Equal(wBefore, at.W); // the adjoint leaves W and B alone
            Assert.Equal(bBefore, at.B);

            // ⟨Ū, J·v̇⟩: J·v̇ is what ApplyTangent added to Ẇ and Ḃ.
            double left = Dot(tangent.W, direction.W, cotangent.W) + Dot(tangent.B, direction.B, cotangent.B);
            // ⟨Jᵀ·Ū, v̇⟩: JᵀŪ is what ApplyAdjoint added to W̄ and B̄, and the vector adjoints and θ̄.
            double right = Dot(bars.W, cotangent.W, direction.W) + Dot(bars.B, cotangent.B, direction.B)
                + Dot(bars.Y, direction.Y) + Dot(bars.Yp, direction.Yp) + Dot(bars.Z, direction.Z)
                + Dot(bars.E, direction.E) + Dot(bars.Ep, direction.Ep) + Dot(bars.Theta, direction.Theta);
            double scale = Math.Abs(left) + Math.Abs(right);
            Assert.True(scale > 1e-2, $"{name} seed {seed}: both sides vanish ({left}, {right}): the check would have no teeth");
            Assert.True(Math.Abs(left - right) <= 1e-4 * scale, $"{name} seed {seed}: ⟨Ū, J·v̇⟩ = {left:R}, ⟨JᵀŪ, v̇⟩ = {right:R}");
        }
    }

    /// <summary>
    /// What the reverse-mode engine does now (ApplyAdjointProducts, then ApplyAdjointUpdate adding W̄ += e c̄ᵀ + z̄ yᵀ and
    /// B̄ += e c̄ᵀ row by row in the rule's pass) against what it did before (ApplyAdjoint, then each outer product as its
    /// own loop of <see cref="KernelPrimitives.AddScaled(Span{float}, float, ReadOnlySpan{float})"/> over the rows), bit
    /// for bit; the term vectors hold zeros (rows a term skips) and negative zeros.
    /// </summary>
    [Theory]
    [MemberData(nameof(Rules))]
    public void Adjoint_update_with_rank_one_terms_is_the_adjoint_then_the_outer_products_bit_for_bit(string name)
    {
        IAdjointRule rule = Generated(name);
        bool feedback = PlasticFeedback(rule);
        int thetaLength = 10 + rule.Parameters.Count;
        for (int seed = 0; seed < 3; seed++)
        {
            var random = new Random(seed * 17 + name.Length);
            Values at = Values.Random(random, feedback, thetaLength), cotangent = Values.Random(random, feedback, thetaLength);
            Values terms = Values.Random(random, feedback, thetaLength);
            terms.Y[1] = 0f; terms.E[2] = -0f; terms.Z[3] = 0f; terms.Yp[0] = -0f;
            float[] errors = terms.E, carriedBar = terms.Ep, zBar = terms.Z, below = terms.Yp;

            Values before = Adjoint(rule, at, cotangent);
            AddOuter(before.W, errors, carriedBar);
            AddOuter(before.W, zBar, below);
            if (feedback) AddOuter(before.B, errors, carriedBar);

            Values now = Bars(cotangent);
            LayerSignals signals = at.Signals();
            var adjoint = new LayerAdjoints(now.W, now.B, now.Y, now.Yp, now.Z, now.E, now.Ep);
            var scratch = new float[rule.AdjointScratchLength(Rows, Columns)];
            rule.ApplyAdjointProducts(in signals, in adjoint, at.Theta, now.Theta, scratch);
            var weightsTerms = new RankOneTerms(errors, carriedBar, zBar, below);
            var feedbackTerms = feedback ? new RankOneTerms(errors, carriedBar) : default;
            rule.ApplyAdjointUpdate(in signals, in adjoint, at.Theta, scratch, in weightsTerms, in feedbackTerms);

            foreach (var (quantity, expected, actual) in new[] { ("W̄", before.W, now.W), ("B̄", before.B, now.B), ("ȳ_l", before.Y, now.Y),
                ("ȳ_(l-1)", before.Yp, now.Yp), ("z̄", before.Z, now.Z), ("ē_l", before.E, now.E), ("ē_(l-1)", before.Ep, now.Ep), ("θ̄", before.Theta, now.Theta) })
            {
                Assert.True(expected.Select(BitConverter.SingleToInt32Bits).SequenceEqual(actual.Select(BitConverter.SingleToInt32Bits)),
                    $"{name} seed {seed}: {quantity} differs");
            }
        }
    }

    // M += a bᵀ, one AddScaled per row: the reverse-mode engine's outer products before they joined the adjoint's pass.
    private static void AddOuter(float[] matrix, float[] a, float[] b)
    {
        for (int i = 0; i < a.Length; i++) KernelPrimitives.AddScaled(matrix.AsSpan(i * b.Length, b.Length), a[i], b);
    }

    [Theory]
    [MemberData(nameof(Rules))]
    public void Run_time_compiled_adjoint_is_the_generated_one_bit_for_bit(string name)
    {
        IAdjointRule generated = Generated(name);
        IAdjointRule compiled = RuleCompiler.Compile<IAdjointRule>(ExampleRules.Get(name).Text, name);
        var random = new Random(name.Length);
        bool feedback = PlasticFeedback(generated);
        int thetaLength = 10 + generated.Parameters.Count;
        Values at = Values.Random(random, feedback, thetaLength), cotangent = Values.Random(random, feedback, thetaLength);

        Values expected = Adjoint(generated, at, cotangent), actual = Adjoint(compiled, at, cotangent);
        Assert.Equal(expected, actual, (a, b) => a.W.SequenceEqual(b.W) && a.B.SequenceEqual(b.B) && a.Y.SequenceEqual(b.Y) && a.Yp.SequenceEqual(b.Yp)
            && a.Z.SequenceEqual(b.Z) && a.E.SequenceEqual(b.E) && a.Ep.SequenceEqual(b.Ep) && a.Theta.SequenceEqual(b.Theta));
    }

    [Fact]
    public void Layer_adjoints_check_their_lengths()
    {
        float[] w = new float[Rows * Columns], y = new float[Rows], yp = new float[Columns];
        _ = new LayerAdjoints(w, default, y, yp, y, default, default); // errors and B̄ may be empty
        Assert.Throws<ArgumentException>(() => new LayerAdjoints(new float[Rows * Columns - 1], default, y, yp, y, default, default));
        Assert.Throws<ArgumentException>(() => new LayerAdjoints(w, new float[3], y, yp, y, default, default));
        Assert.Throws<ArgumentException>(() => new LayerAdjoints(w, default, y, yp, new float[Rows + 1], default, default));
        Assert.Throws<ArgumentException>(() => new LayerAdjoints(w, default, y, yp, y, new float[Columns], default));
        Assert.Throws<ArgumentException>(() => new LayerAdjoints(w, default, y, yp, y, y, new float[Rows]));
    }
}
