namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>What one episode gave: the query loss and accuracy, and whether the inner loop diverged.</summary>
/// <param name="QueryLoss">Mean cross-entropy over the query images (NaN or ∞ when the network diverged).</param>
/// <param name="QueryAccuracy">Fraction of query images classified correctly, in [0, 1].</param>
/// <param name="Diverged">The inner loop's state became non-finite (the engine stops the episode there).</param>
/// <param name="DivergedStep">The online step (0-based) at which it diverged, or −1.</param>
/// <param name="DivergedLayer">The layer (1-based) whose weights diverged first, or −1.</param>
public readonly record struct EpisodeOutcome(double QueryLoss, double QueryAccuracy, bool Diverged = false, int DivergedStep = -1, int DivergedLayer = -1);

/// <summary>
/// The inner loop seen from the meta-learner: one episode (a fresh network from <see cref="Episode.InitSeed"/>, the episode's
/// online updates with the rule at coefficients θ, then the query set) and the exact gradient of its query loss.
/// </summary>
public interface IEpisodeObjective
{
    /// <summary>Runs <paramref name="episode"/> with coefficients <paramref name="theta"/>.</summary>
    /// <param name="theta">All coefficients in the runtime's layout (t0…t9, then the rule's parameters).</param>
    /// <param name="learn">Indices into <paramref name="theta"/> whose gradient is wanted, ascending and distinct; empty for a meta-test, which needs no gradient (a forward-mode engine then carries no tangents).</param>
    /// <param name="gradient">Receives ∂(query loss)/∂θ[learn[i]] at i; same length as <paramref name="learn"/>. Ignored by the caller when the episode diverged.</param>
    EpisodeOutcome Evaluate(Episode episode, ReadOnlySpan<float> theta, ReadOnlySpan<int> learn, Span<double> gradient);
}
