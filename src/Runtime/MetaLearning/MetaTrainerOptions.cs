namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>Closed interval a coefficient is kept in after every meta-step.</summary>
public readonly record struct CoefficientBounds(double Min, double Max);

/// <summary>
/// Backtracking after a divergent episode (docs/metalearning.md, "Stability policy", rule 6): θ, Adam's second moment and step
/// count and the kept signs go back to where they were before the meta-step of the last episode that converged, Adam's
/// momentum is cleared, and the step size shrinks, so that step is retried shorter, from the gradients of the episodes that
/// follow, instead of θ staying in the region that diverges.
/// </summary>
public sealed record DivergenceRecovery
{
    /// <summary>Every divergent episode multiplies the step scale (which multiplies every learning rate) by this, in (0, 1).</summary>
    public double Shrink { get; init; } = 0.5;

    /// <summary>The scale never drops below this, in (0, 1]: the run keeps moving.</summary>
    public double MinStepScale { get; init; } = 1.0 / 64;

    /// <summary>After this many consecutive converged episodes the scale grows back by 1/<see cref="Shrink"/>, up to 1.</summary>
    public int RecoverAfter { get; init; } = 10;
}

/// <summary>
/// How the meta-learner protects θ from its own divergent episodes (docs/metalearning.md, "Stability policy").
/// Measured with the predecessor's method: full Eq. 9 at Adam lr 1e-3 reaches NaN by episode 8, and on the 20-class pool
/// Adam drives Oja's coefficient through zero, after which the inner loop diverges with huge finite losses and NaN.
/// </summary>
public sealed record MetaStability
{
    /// <summary>
    /// An episode whose query loss exceeds this is treated as diverged: its meta-step is skipped. Null (the default) means
    /// 3·ln(C) for a pool of C classes (≈ 8.99 for 20): a fresh network scores ≈ ln(C), and the diverged episodes measured
    /// in the predecessor scored 12–16, finite, with gradients that pushed θ further the wrong way.
    /// </summary>
    public double? MaxQueryLoss { get; init; }

    /// <summary>
    /// Keep each learned coefficient on the side of zero it first takes (its initial sign, or the sign of its first step if it
    /// starts at 0): a step that would cross zero stops at zero. On by default, because the measured collapse began when a
    /// stabilising term (Oja's) changed sign; a coefficient can still shrink to exactly 0, which drops its term.
    /// </summary>
    public bool KeepSigns { get; init; } = true;

    /// <summary>Per-coefficient bounds (θ index → [min, max]), applied after the sign rule; none by default.</summary>
    public IReadOnlyDictionary<int, CoefficientBounds>? Bounds { get; init; }

    /// <summary>
    /// When set, the learned part of each meta-gradient is rescaled to at most this L2 norm before Adam sees it. Off by default:
    /// Adam already bounds each step by about the learning rate, and the episodes that produce huge gradients are the divergent
    /// ones the loss threshold skips. Useful with plain large spikes, which would otherwise inflate Adam's second moment.
    /// </summary>
    public double? MaxGradientNorm { get; init; }

    /// <summary>
    /// Roll back and shrink the step after a divergent episode; null (the default) only skips it, which leaves θ where the
    /// last step put it. Off by default because it measured worse in Figure 8 (docs/metalearning.md, stability rule 6):
    /// where single episodes diverged along the way, backtracking undid the progress skipping kept.
    /// </summary>
    public DivergenceRecovery? Recovery { get; init; }
}

/// <summary>Settings of a <see cref="MetaTrainer"/> run; the defaults are the predecessor's (Adam, lr 1e-3, λ = 0, 600 episodes).</summary>
public sealed record MetaTrainerOptions
{
    /// <summary>
    /// Options for meta-learning <paramref name="learn"/> of <paramref name="rule"/>: θ laid out as the runtime reads it
    /// (t0…t9, then the rule's parameters), named as the rule writes them, starting at θ0 = 1e-3, the parameters at their
    /// defaults and everything else 0.
    /// </summary>
    public static MetaTrainerOptions ForRule(ICompiledRule rule, IReadOnlyList<int> learn)
    {
        ArgumentNullException.ThrowIfNull(rule);
        int length = Experiments.RunSpec.CoefficientCount + rule.Parameters.Count;
        var theta = new float[length];
        theta[0] = 1e-3f;
        foreach (RuleParameter p in rule.Parameters) theta[p.Index] = p.Default;
        return new MetaTrainerOptions
        {
            CoefficientNames = Enumerable.Range(0, length).Select(rule.CoefficientName).ToArray(),
            Learn = learn,
            InitialTheta = theta,
        };
    }

    /// <summary>The name of every θ entry (t0…t9, then the rule's parameters): θ's length, and the column names of the logs.</summary>
    public required IReadOnlyList<string> CoefficientNames { get; init; }

    /// <summary>Indices of the coefficients meta-learning changes; the others stay at their initial value.</summary>
    public required IReadOnlyList<int> Learn { get; init; }

    /// <summary>θ at the start, one value per <see cref="CoefficientNames"/>; null means the predecessor's start, θ0 = 1e-3 and every other entry 0.</summary>
    public IReadOnlyList<float>? InitialTheta { get; init; }

    /// <summary>Meta-training episodes, one meta-step each (the predecessor's 600).</summary>
    public int Episodes { get; init; } = 600;

    /// <summary>Adam's step size for every learned coefficient without an entry in <see cref="LearningRates"/>.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Per-coefficient step sizes (θ index → lr), e.g. a slower Oja term; null for one rate for all.</summary>
    public IReadOnlyDictionary<int, double>? LearningRates { get; init; }

    /// <summary>Adam's decay of the first moment.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Adam's decay of the second moment.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>Adam's ε, added to the square root of the second moment.</summary>
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>λ of the meta-loss query CE + λ·Σ|θ_k| over the learned coefficients (subgradient λ·sign(θ_k)); 0 by default.</summary>
    public double L1 { get; init; }

    /// <summary>Episodes in the trailing mean of query accuracy (the paper's plots use 10).</summary>
    public int MovingAverageWindow { get; init; } = 10;

    /// <summary>Meta-test on held-out episodes before training, after every this many episodes, and at the end; 0 for only before and at the end.</summary>
    public int MetaTestEvery { get; init; } = 50;

    /// <summary>Held-out episodes per meta-test: always the test sampler's episodes 0 … n−1, so successive meta-tests are comparable.</summary>
    public int MetaTestEpisodes { get; init; } = 20;

    /// <summary>The protections against divergent episodes; see <see cref="MetaStability"/>.</summary>
    public MetaStability Stability { get; init; } = new();
}
