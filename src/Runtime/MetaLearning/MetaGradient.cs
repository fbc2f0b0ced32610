namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>Which engine computes a meta-gradient, and one episode's meta-gradient with it, for the commands and the
/// meta-trainer's objective alike.</summary>
internal static class MetaGradient
{
    /// <summary>
    /// Reverse mode whenever the rule has adjoint kernels and a gradient is wanted: one backward sweep gives every
    /// direction, where forward mode carries one tangent per direction (docs/performance.md, "Meta-gradient cost").
    /// Forward mode for the rules the compiler has no adjoint for (the kernel says why), and for a meta-test without
    /// directions, which is then the plain episode.
    /// </summary>
    public static bool UsesReverseMode(IDifferentiableRule rule, int directions) => rule is IAdjointRule && directions > 0;

    /// <summary>The episode of <see cref="ForwardModeEpisode.Run"/> and <see cref="ReverseModeEpisode.Run(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{byte}, ReadOnlySpan{int}, ReadOnlySpan{int}, Span{double})"/>
    /// with the engine <see cref="UsesReverseMode"/> picks; <paramref name="network"/> is trained in place.</summary>
    public static EpisodeResult Run(Mlp network, IDifferentiableRule rule, ReadOnlySpan<int> directions, ReadOnlySpan<float> theta,
        ReadOnlySpan<float> images, ReadOnlySpan<byte> labels, ReadOnlySpan<int> train, ReadOnlySpan<int> query, Span<double> gradient) =>
        UsesReverseMode(rule, directions.Length)
            ? new ReverseModeEpisode(network, (IAdjointRule)rule, directions, ReverseModeEpisode.DefaultSnapshots).Run(theta, images, labels, train, query, gradient)
            : new ForwardModeEpisode(network, rule, directions).Run(theta, images, labels, train, query, gradient);
}
