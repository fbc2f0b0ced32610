using System.Diagnostics;
using System.Globalization;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>
/// Meta-learns rule coefficients: for each episode of the training sampler, the objective returns the query loss and its
/// gradient, and Adam takes one step on the learned coefficients of θ — unless the episode diverged, in which case the step
/// is skipped and, by default, θ and Adam's state roll back to before the last converged episode's step, with smaller steps
/// for a while (see <see cref="MetaStability"/>). Deterministic: the same objective, samplers and options
/// give the same trajectory.
/// </summary>
public sealed class MetaTrainer
{
    private readonly IEpisodeObjective _objective;
    private readonly EpisodeSampler _train;
    private readonly EpisodeSampler? _test;
    private readonly MetaTrainerOptions _options;
    private readonly int[] _learn;
    private readonly double _maxQueryLoss;

    /// <param name="test">Held-out episodes for meta-tests; null to skip meta-testing.</param>
    /// <exception cref="ArgumentException">The options are inconsistent (see the message).</exception>
    public MetaTrainer(IEpisodeObjective objective, EpisodeSampler train, EpisodeSampler? test, MetaTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        _objective = objective;
        _train = train;
        _test = test;
        _options = options;
        _learn = options.Learn.ToArray();
        _maxQueryLoss = options.Stability.MaxQueryLoss ?? 3 * Math.Log(train.Pool.ClassCount);
    }

    /// <summary>The query-loss threshold above which an episode counts as diverged.</summary>
    public double MaxQueryLoss => _maxQueryLoss;

    /// <summary>θ at the start: <see cref="MetaTrainerOptions.InitialTheta"/>, or θ0 = 1e-3 and the rest 0.</summary>
    public float[] InitialTheta()
    {
        if (_options.InitialTheta is { } given) return given.ToArray();
        var theta = new float[_options.CoefficientNames.Count];
        theta[0] = 1e-3f;
        return theta;
    }

    /// <summary>Runs <see cref="MetaTrainerOptions.Episodes"/> episodes.</summary>
    /// <param name="progress">Receives one line per episode (episode, moving-average accuracy, learned θ, skips, ETA), e.g. for stderr.</param>
    public MetaTrainingResult Run(Action<string>? progress = null, CancellationToken cancellation = default)
    {
        int n = _learn.Length;
        var state = new AdamState(InitialTheta(), n, _learn);
        // The state before the meta-step of the last converged episode: where a divergent episode rolls back to.
        var lastConverged = new AdamState(state.Theta.ToArray(), n, _learn);
        DivergenceRecovery? recovery = _options.Stability.Recovery;
        double stepScale = 1;
        int skipped = 0, signStops = 0, boundStops = 0, rollbacks = 0, convergedInARow = 0;
        var gradient = new double[n];
        var episodes = new List<MetaEpisodeRecord>(_options.Episodes);
        var metaTests = new List<MetaTestRecord>();
        var clock = Stopwatch.StartNew();

        if (_test is not null) metaTests.Add(MetaTest(state.Theta, 0));
        for (int e = 0; e < _options.Episodes; e++)
        {
            cancellation.ThrowIfCancellationRequested();
            float[] theta = state.Theta;
            float[] used = (float[])theta.Clone();
            Array.Clear(gradient);
            EpisodeOutcome outcome = _objective.Evaluate(_train.Sample(e), theta, _learn, gradient);
            double penalty = 0;
            foreach (int k in _learn) penalty += Math.Abs(theta[k]);
            double metaLoss = outcome.QueryLoss + _options.L1 * penalty;

            string? skipReason = SkipReason(outcome, gradient);
            bool rolledBack = false;
            if (skipReason is null)
            {
                if (recovery is not null)
                {
                    lastConverged.CopyFrom(state);
                    if (++convergedInARow == recovery.RecoverAfter)
                    {
                        stepScale = Math.Min(1, stepScale / recovery.Shrink);
                        convergedInARow = 0;
                    }
                }

                for (int i = 0; i < n; i++) gradient[i] += _options.L1 * Math.Sign(theta[_learn[i]]);
                Clip(gradient);
                state.Steps++;
                double correction1 = 1 - Math.Pow(_options.Beta1, state.Steps);
                double correction2 = 1 - Math.Pow(_options.Beta2, state.Steps);
                for (int i = 0; i < n; i++)
                {
                    int k = _learn[i];
                    state.M[i] = _options.Beta1 * state.M[i] + (1 - _options.Beta1) * gradient[i];
                    state.V[i] = _options.Beta2 * state.V[i] + (1 - _options.Beta2) * gradient[i] * gradient[i];
                    double step = stepScale * LearningRate(k) * (state.M[i] / correction1) / (Math.Sqrt(state.V[i] / correction2) + _options.Epsilon);
                    double next = theta[k] - step;
                    if (_options.Stability.KeepSigns)
                    {
                        if (state.LockedSign[i] == 0) state.LockedSign[i] = Math.Sign(next);
                        else if (Math.Sign(next) == -state.LockedSign[i]) { next = 0; signStops++; }
                    }

                    if (_options.Stability.Bounds is { } bounds && bounds.TryGetValue(k, out CoefficientBounds b) && (next < b.Min || next > b.Max))
                    {
                        next = Math.Clamp(next, b.Min, b.Max);
                        boundStops++;
                    }

                    theta[k] = (float)next;
                }
            }
            else
            {
                skipped++;
                if (recovery is not null)
                {
                    convergedInARow = 0;
                    stepScale = Math.Max(recovery.MinStepScale, stepScale * recovery.Shrink);
                    // Nothing to undo when θ is still the last converged one (the divergence came from the episode drawn).
                    if (!theta.AsSpan().SequenceEqual(lastConverged.Theta))
                    {
                        state.CopyFrom(lastConverged);
                        rolledBack = true;
                        rollbacks++;
                    }

                    // Adam's momentum is what carried θ over the edge; restored, it would retake the same step every time
                    // (the restart of accelerated methods when progress fails).
                    Array.Clear(state.M);
                }
            }

            double movingAverage = MovingAverage(episodes, outcome.QueryAccuracy);
            episodes.Add(new MetaEpisodeRecord(e, used, metaLoss, outcome.QueryLoss, outcome.QueryAccuracy, movingAverage,
                skipReason is not null, skipReason, skipReason is null ? gradient.ToArray() : [], rolledBack, stepScale));
            progress?.Invoke(ProgressLine(e, movingAverage, state.Theta, skipped, rollbacks, clock.Elapsed));

            int done = e + 1;
            if (_test is not null && (done == _options.Episodes || (_options.MetaTestEvery > 0 && done % _options.MetaTestEvery == 0)))
                metaTests.Add(MetaTest(state.Theta, done));
        }

        return new MetaTrainingResult(_options, _train.Shape, _train.Seed, _test?.Seed,
            _learn.Select(k => _options.CoefficientNames[k]).ToArray(), episodes, metaTests, state.Theta, skipped, signStops, boundStops, rollbacks);
    }

    /// <summary>θ with Adam's moments and step count and the signs the sign rule keeps: everything a meta-step changes.</summary>
    private sealed class AdamState(float[] theta, int learned, int[] learn)
    {
        public float[] Theta { get; } = theta;
        public double[] M { get; } = new double[learned];
        public double[] V { get; } = new double[learned];
        public int[] LockedSign { get; } = learn.Select(k => Math.Sign(theta[k])).ToArray();
        public int Steps { get; set; }

        public void CopyFrom(AdamState other)
        {
            other.Theta.CopyTo(Theta, 0);
            other.M.CopyTo(M, 0);
            other.V.CopyTo(V, 0);
            other.LockedSign.CopyTo(LockedSign, 0);
            Steps = other.Steps;
        }
    }

    /// <summary>Runs the held-out episodes 0 … <see cref="MetaTrainerOptions.MetaTestEpisodes"/>−1 with θ frozen.</summary>
    /// <exception cref="InvalidOperationException">The trainer has no test sampler.</exception>
    public MetaTestRecord MetaTest(IReadOnlyList<float> theta, int afterEpisodes)
    {
        EpisodeSampler test = _test ?? throw new InvalidOperationException("this trainer was made without a test sampler");
        ArgumentNullException.ThrowIfNull(theta);
        float[] frozen = theta.ToArray();
        var accuracies = new double[_options.MetaTestEpisodes][];
        double lossSum = 0;
        int diverged = 0;
        for (int i = 0; i < accuracies.Length; i++)
        {
            // No gradient is asked for: θ is frozen, and an engine skips the cost of the tangents.
            EpisodeOutcome outcome = _objective.Evaluate(test.Sample(i), frozen, [], []);
            accuracies[i] = [outcome.QueryAccuracy];
            lossSum += outcome.QueryLoss;
            if (SkipReason(outcome, []) is not null) diverged++;
        }

        // Each held-out episode is one independent draw, so the bootstrap resamples episodes as it resamples seeds elsewhere.
        ConfidenceBand band = Bootstrap.Band(accuracies, level: 0.98, resamples: 500, seed: afterEpisodes);
        return new MetaTestRecord(afterEpisodes, frozen, band.Mean[0], band.Lower[0], band.Upper[0], lossSum / accuracies.Length, diverged);
    }

    /// <summary>Why an episode must not move θ, or null when it may.</summary>
    private string? SkipReason(EpisodeOutcome outcome, ReadOnlySpan<double> gradient)
    {
        if (outcome.Diverged)
            return $"inner loop diverged at step {outcome.DivergedStep} in layer {outcome.DivergedLayer}";
        if (!double.IsFinite(outcome.QueryLoss))
            return "query loss is not finite";
        if (outcome.QueryLoss > _maxQueryLoss)
            return $"query loss {outcome.QueryLoss.ToString("G4", CultureInfo.InvariantCulture)} is above the threshold {_maxQueryLoss.ToString("G4", CultureInfo.InvariantCulture)}";
        foreach (double g in gradient)
            if (!double.IsFinite(g))
                return "meta-gradient is not finite";
        return null;
    }

    private void Clip(double[] gradient)
    {
        if (_options.Stability.MaxGradientNorm is not { } max) return;
        double norm = Math.Sqrt(gradient.Sum(g => g * g));
        if (norm <= max) return;
        for (int i = 0; i < gradient.Length; i++) gradient[i] *= max / norm;
    }

    private double LearningRate(int k) =>
        _options.LearningRates is { } rates && rates.TryGetValue(k, out double rate) ? rate : _options.LearningRate;

    private double MovingAverage(List<MetaEpisodeRecord> previous, double current)
    {
        int window = Math.Min(_options.MovingAverageWindow, previous.Count + 1);
        double sum = current;
        for (int i = previous.Count - window + 1; i < previous.Count; i++) sum += previous[i].QueryAccuracy;
        return sum / window;
    }

    private string ProgressLine(int episode, double movingAverage, float[] theta, int skipped, int rollbacks, TimeSpan elapsed)
    {
        int done = episode + 1;
        TimeSpan eta = TimeSpan.FromTicks(elapsed.Ticks / done * (_options.Episodes - done));
        string learned = string.Join(" ", _learn.Select(k => $"{_options.CoefficientNames[k]}={theta[k].ToString("G4", CultureInfo.InvariantCulture)}"));
        return string.Create(CultureInfo.InvariantCulture,
            $"meta {done}/{_options.Episodes}  query acc (avg {_options.MovingAverageWindow}) {movingAverage:F3}  {learned}  skipped {skipped}  rolled back {rollbacks}  ETA {eta:hh\\:mm\\:ss}");
    }

    private static void Validate(MetaTrainerOptions o)
    {
        int length = o.CoefficientNames?.Count ?? throw new ArgumentException("CoefficientNames is required", nameof(o));
        if (length == 0) throw new ArgumentException("θ needs at least one coefficient", nameof(o));
        if (o.Learn is null || o.Learn.Count == 0) throw new ArgumentException("Learn must name at least one coefficient", nameof(o));
        for (int i = 0; i < o.Learn.Count; i++)
        {
            if (o.Learn[i] < 0 || o.Learn[i] >= length) throw new ArgumentException($"Learn[{i}] = {o.Learn[i]} is outside θ's {length} entries", nameof(o));
            if (i > 0 && o.Learn[i] <= o.Learn[i - 1]) throw new ArgumentException("Learn must be ascending and distinct", nameof(o));
        }

        if (o.InitialTheta is { } initial && (initial.Count != length || initial.Any(v => !float.IsFinite(v))))
            throw new ArgumentException($"InitialTheta must hold {length} finite values", nameof(o));
        if (o.Episodes < 0) throw new ArgumentException("Episodes must not be negative", nameof(o));
        if (!(o.LearningRate > 0) || (o.LearningRates?.Values.Any(r => !(r > 0)) ?? false)) throw new ArgumentException("learning rates must be positive", nameof(o));
        if (!(o.Beta1 is >= 0 and < 1) || !(o.Beta2 is >= 0 and < 1) || !(o.Epsilon > 0)) throw new ArgumentException("Adam needs 0 ≤ β1, β2 < 1 and ε > 0", nameof(o));
        if (!(o.L1 >= 0)) throw new ArgumentException("L1 must be non-negative", nameof(o));
        if (o.MovingAverageWindow < 1 || o.MetaTestEvery < 0 || o.MetaTestEpisodes < 1) throw new ArgumentException("MovingAverageWindow and MetaTestEpisodes must be positive, MetaTestEvery non-negative", nameof(o));
        MetaStability s = o.Stability ?? throw new ArgumentException("Stability is required", nameof(o));
        if (s.MaxQueryLoss is { } maxLoss && !(maxLoss > 0)) throw new ArgumentException("MaxQueryLoss must be positive", nameof(o));
        if (s.MaxGradientNorm is { } maxNorm && !(maxNorm > 0)) throw new ArgumentException("MaxGradientNorm must be positive", nameof(o));
        if (s.Bounds?.Any(b => !(b.Value.Min <= b.Value.Max)) ?? false) throw new ArgumentException("every bound needs Min ≤ Max", nameof(o));
        if (s.Recovery is { } r && (!(r.Shrink is > 0 and < 1) || !(r.MinStepScale is > 0 and <= 1) || r.RecoverAfter < 1))
            throw new ArgumentException("Recovery needs 0 < Shrink < 1, 0 < MinStepScale ≤ 1 and RecoverAfter ≥ 1", nameof(o));
    }
}
