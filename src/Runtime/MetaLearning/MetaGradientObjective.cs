
namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>
/// The inner loop of meta-learning: each episode trains a network freshly initialized (Xavier W, and B for feedback
/// alignment) from <see cref="Episode.InitSeed"/> online on the episode's training images with the rule, then scores its
/// query images; the query loss's gradient comes from the compiler's adjoint kernels in reverse mode
/// (<see cref="ReverseModeEpisode"/>) when the rule has them, else from its tangent kernels in forward mode
/// (<see cref="ForwardModeEpisode"/>), as <see cref="MetaGradient.UsesReverseMode"/> says. One instance per
/// meta-training run: not thread-safe.
/// </summary>
public sealed class MetaGradientObjective : IEpisodeObjective
{
    private readonly IDifferentiableRule _rule;
    private readonly int[] _layerSizes;
    private readonly Activation _activation;
    private readonly FeedbackMode _feedback;
    // One network and engine per set of directions (the learned coefficients while meta-training, none for meta-tests),
    // re-initialized in place each episode.
    private readonly Dictionary<string, Engines> _engines = new(StringComparer.Ordinal);
    private readonly byte[] _queryLabels;
    private readonly int[] _queryIndices;
    private byte[] _trainLabels = [];
    private int[] _trainIndices = [];

    /// <summary>The engine of one set of directions (reverse mode's, or forward mode's) and the scorer on its network.</summary>
    private sealed record Engines(ForwardModeEpisode? Forward, ReverseModeEpisode? Reverse, OnlineLearner Scorer);

    /// <param name="layerSizes">n_0 … n_L; n_L must be the episodes' output width (the class pool's size).</param>
    /// <param name="queryCount">Query images per episode.</param>
    public MetaGradientObjective(IDifferentiableRule rule, IReadOnlyList<int> layerSizes, Activation activation, FeedbackMode feedback, int queryCount)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(activation);
        FeedbackModes.CheckRule(feedback, rule);
        if (layerSizes.Count < 2) throw new ArgumentException("a network needs an input and an output layer.", nameof(layerSizes));
        _rule = rule;
        _layerSizes = [.. layerSizes];
        _activation = activation;
        _feedback = feedback;
        _queryLabels = new byte[queryCount];
        _queryIndices = Enumerable.Range(0, queryCount).ToArray();
    }

    public EpisodeOutcome Evaluate(Episode episode, ReadOnlySpan<float> theta, ReadOnlySpan<int> learn, Span<double> gradient)
    {
        ArgumentNullException.ThrowIfNull(episode);
        if (episode.OutputWidth != _layerSizes[^1])
        {
            throw new ArgumentException($"the episodes have {episode.OutputWidth} classes but the network has {_layerSizes[^1]} outputs.", nameof(episode));
        }
        if (episode.QueryCount != _queryLabels.Length) throw new ArgumentException($"expected {_queryLabels.Length} query images, the episode has {episode.QueryCount}.", nameof(episode));

        Engines engines = Engine(learn);
        Mlp network = engines.Scorer.Network;
        network.Initialize(InitScheme.Xavier, episode.InitSeed);
        for (int j = 0; j < _queryLabels.Length; j++) _queryLabels[j] = checked((byte)episode.QueryLabels[j]);
        double loss;
        if (engines.Reverse is { } reverse)
        {
            if (_trainLabels.Length != episode.TrainCount)
            {
                _trainLabels = new byte[episode.TrainCount];
                _trainIndices = Enumerable.Range(0, episode.TrainCount).ToArray();
            }
            for (int i = 0; i < _trainLabels.Length; i++) _trainLabels[i] = checked((byte)episode.TrainLabels[i]);
            EpisodeResult result = reverse.Run(theta, episode.TrainImages, _trainLabels, _trainIndices, episode.QueryImages, _queryLabels, _queryIndices, gradient);
            if (result.Divergence is { } divergence)
            {
                return new EpisodeOutcome(double.NaN, 0, Diverged: true, (int)divergence.Step, divergence.Layer);
            }
            loss = result.QueryLoss;
        }
        else
        {
            ForwardModeEpisode engine = engines.Forward!;
            engine.Reset();
            for (int i = 0; i < episode.TrainCount; i++)
            {
                ReadOnlySpan<float> next = i + 1 < episode.TrainCount ? episode.TrainImage(i + 1) : default;
                if (engine.Step(episode.TrainImage(i), episode.TrainLabels[i], theta, next) is { } divergence)
                {
                    return new EpisodeOutcome(double.NaN, 0, Diverged: true, (int)divergence.Step, divergence.Layer);
                }
            }
            loss = engine.QueryLoss(episode.QueryImages, _queryLabels, _queryIndices, gradient);
        }

        int correct = 0;
        for (int j = 0; j < _queryLabels.Length; j++)
        {
            if (engines.Scorer.Predict(episode.QueryImage(j)) == _queryLabels[j]) correct++;
        }
        return new EpisodeOutcome(loss, (double)correct / _queryLabels.Length, Diverged: !double.IsFinite(loss));
    }

    private Engines Engine(ReadOnlySpan<int> learn)
    {
        string key = string.Join(",", learn.ToArray());
        if (!_engines.TryGetValue(key, out Engines? entry))
        {
            var network = new Mlp(_layerSizes, _activation, _feedback);
            entry = MetaGradient.UsesReverseMode(_rule, learn.Length)
                ? new Engines(null, new ReverseModeEpisode(network, (IAdjointRule)_rule, learn, ReverseModeEpisode.DefaultSnapshots), new OnlineLearner(network, _rule))
                : new Engines(new ForwardModeEpisode(network, _rule, learn), null, new OnlineLearner(network, _rule));
            _engines.Add(key, entry);
        }
        return entry;
    }
}
