namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>One meta-training episode as logged.</summary>
/// <param name="Episode">0-based episode index (also the index the training sampler drew it for).</param>
/// <param name="Theta">All coefficients the episode ran with (θ before this episode's meta-step).</param>
/// <param name="MetaLoss">Query loss + λ·Σ|θ_k| over the learned coefficients.</param>
/// <param name="AccuracyMovingAverage">Mean query accuracy of the last <see cref="MetaTrainerOptions.MovingAverageWindow"/> episodes up to this one (fewer at the start), skipped ones included: they are how θ performed.</param>
/// <param name="Skipped">The meta-step was skipped because the episode diverged: θ and Adam's state did not move, or rolled back.</param>
/// <param name="SkipReason">Why, when skipped.</param>
/// <param name="RolledBack">This divergent episode rolled θ and Adam's state back (<see cref="MetaStability.Recovery"/>).</param>
/// <param name="StepScale">The factor on every learning rate after this episode (1 without recovery).</param>
/// <param name="Gradient">∂(meta-loss)/∂θ for the learned coefficients as Adam received it (after clipping); empty when skipped.</param>
public sealed record MetaEpisodeRecord(
    int Episode,
    IReadOnlyList<float> Theta,
    double MetaLoss,
    double QueryLoss,
    double QueryAccuracy,
    double AccuracyMovingAverage,
    bool Skipped,
    string? SkipReason,
    IReadOnlyList<double> Gradient,
    bool RolledBack,
    double StepScale);

/// <summary>A meta-test: θ frozen, the same held-out episodes run, accuracy averaged with a 98 % bootstrap interval.</summary>
/// <param name="AfterEpisodes">Meta-training episodes completed before it (0: the initial θ).</param>
/// <param name="DivergedEpisodes">Held-out episodes that diverged (counted in the means with the accuracy the objective reported).</param>
public sealed record MetaTestRecord(
    int AfterEpisodes,
    IReadOnlyList<float> Theta,
    double MeanAccuracy,
    double AccuracyLower,
    double AccuracyUpper,
    double MeanQueryLoss,
    int DivergedEpisodes);

/// <summary>Everything a run produced: the settings and seeds that reproduce it, the trajectories and the final θ.</summary>
/// <param name="SkippedEpisodes">Episodes whose meta-step was skipped as divergent.</param>
/// <param name="SignStops">Meta-steps at which <see cref="MetaStability.KeepSigns"/> stopped a coefficient at zero.</param>
/// <param name="BoundStops">Meta-steps at which <see cref="MetaStability.Bounds"/> clamped a coefficient.</param>
/// <param name="Rollbacks">Divergent episodes after which <see cref="MetaStability.Recovery"/> rolled θ back.</param>
public sealed record MetaTrainingResult(
    MetaTrainerOptions Options,
    EpisodeShape Shape,
    ulong TrainSeed,
    ulong? TestSeed,
    IReadOnlyList<string> LearnedNames,
    IReadOnlyList<MetaEpisodeRecord> Episodes,
    IReadOnlyList<MetaTestRecord> MetaTests,
    IReadOnlyList<float> FinalTheta,
    int SkippedEpisodes,
    int SignStops,
    int BoundStops,
    int Rollbacks)
{
    /// <summary>The final θ by coefficient name, as <c>LearnedRuleWriter.Write</c> takes it.</summary>
    public IReadOnlyDictionary<string, float> FinalValues() =>
        Options.CoefficientNames.Select((name, k) => (name, k)).ToDictionary(p => p.name, p => FinalTheta[p.k], StringComparer.Ordinal);
}
