namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>Which engine computes a meta-gradient, and one episode's meta-gradient with it, for the commands and the
/// meta-trainer's objective alike.</summary>
internal static class MetaGradient
{
    /// <summary>The fewest directions for which reverse mode is used: forward mode costs about 2–2.7 plain steps per
    /// direction, reverse mode 6–14 whatever their number (bp and Eq. 9, 250 steps; docs/performance.md,
    /// "Meta-gradient cost"), so the two cross between 3 and 5 directions.</summary>
    public const int ReverseModeDirections = 4;

    /// <summary>
    /// Reverse mode when the rule has adjoint kernels and at least <see cref="ReverseModeDirections"/> directions are
    /// wanted (Eq. 9's six, the pool's eighteen): one backward sweep gives them all, where forward mode carries one
    /// tangent per direction. Forward mode for fewer (backprop's t0), for the rules the compiler has no adjoint for (the
    /// kernel says why), and for a meta-test without directions, which is then the plain episode.
    /// </summary>
    public static bool UsesReverseMode(IDifferentiableRule rule, int directions) => rule is IAdjointRule && directions >= ReverseModeDirections;

    /// <summary>The episode of <see cref="ForwardModeEpisode.Run"/> and <see cref="ReverseModeEpisode.Run(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{byte}, ReadOnlySpan{int}, ReadOnlySpan{int}, Span{double})"/>
    /// with the engine <see cref="UsesReverseMode"/> picks; <paramref name="network"/> is trained in place.</summary>
    public static EpisodeResult Run(Mlp network, IDifferentiableRule rule, ReadOnlySpan<int> directions, ReadOnlySpan<float> theta,
        ReadOnlySpan<float> images, ReadOnlySpan<byte> labels, ReadOnlySpan<int> train, ReadOnlySpan<int> query, Span<double> gradient) =>
        UsesReverseMode(rule, directions.Length)
            ? new ReverseModeEpisode(network, (IAdjointRule)rule, directions, ReverseModeEpisode.DefaultSnapshots).Run(theta, images, labels, train, query, gradient)
            : new ForwardModeEpisode(network, rule, directions).Run(theta, images, labels, train, query, gradient);
}
