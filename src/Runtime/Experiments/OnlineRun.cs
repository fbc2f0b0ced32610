using System.Diagnostics;
using PlasticityDsl.Runtime.Data;

namespace PlasticityDsl.Runtime.Experiments;

/// <summary>How training images are drawn: in file order from the first, or a seeded permutation.</summary>
public enum SampleOrder
{
    File,
    Shuffle,
}

/// <summary>Everything that determines one online run, besides the data and the rule.</summary>
public sealed record RunSpec(
    IReadOnlyList<int> Layers,
    string Activation,
    string Init,
    IReadOnlyList<float> Theta,
    int Samples,
    SampleOrder Order,
    ulong Seed,
    int EvalEvery,
    FeedbackMode Feedback = FeedbackMode.Symmetric)
{
    /// <summary>t0..t9; a rule's named parameters follow them in θ.</summary>
    public const int CoefficientCount = 10;

    /// <summary>Throws <see cref="ArgumentException"/> whose <see cref="ArgumentException.ParamName"/> is the offending setting.</summary>
    public void Validate()
    {
        if (Layers.Count < 2 || Layers.Any(n => n < 1)) throw new ArgumentException("needs at least two positive sizes, e.g. 784,100,10.", nameof(Layers));
        if (Layers[0] != IdxReader.PixelsPerImage) throw new ArgumentException($"must start with {IdxReader.PixelsPerImage} inputs for MNIST, not {Layers[0]}.", nameof(Layers));
        if (Layers[^1] != IdxReader.ClassCount) throw new ArgumentException($"must end with {IdxReader.ClassCount} outputs for MNIST, not {Layers[^1]}.", nameof(Layers));
        if (Theta.Count < CoefficientCount) throw new ArgumentException("must hold t0..t9 (and the rule's parameters).", nameof(Theta));
        CheckSchedule(Samples, EvalEvery);
    }

    /// <summary>The checks of a run's length and evaluation interval, shared by every network's spec; throws
    /// <see cref="ArgumentException"/> naming <c>Samples</c> or <c>EvalEvery</c>.</summary>
    internal static void CheckSchedule(int samples, int evalEvery)
    {
        if (samples < 1) throw new ArgumentException("must be at least 1.", nameof(Samples));
        if (evalEvery < 1) throw new ArgumentException("must be at least 1.", nameof(EvalEvery));
        if ((samples - 1L) / evalEvery + 2 > MaxEvaluations)
        {
            throw new ArgumentException($"{samples} samples evaluated every {evalEvery} ask for {(samples - 1L) / evalEvery + 2} evaluations; at most {MaxEvaluations} are kept (evaluate less often).", nameof(Samples));
        }
    }

    /// <summary>The most evaluation points one run keeps in its curve (and checkpoints): memory grows with them.</summary>
    public const int MaxEvaluations = 1_000_000;
}

/// <summary>Test accuracy after a number of training samples.</summary>
public sealed record CurvePoint(int Samples, double TestAccuracy);

/// <summary>What one run measured. A run that diverged stops there: <see cref="Divergence"/> says where, and
/// its curve ends at the last evaluation before it.</summary>
public sealed record RunResult(
    string Rule,
    ulong Seed,
    double FinalTestAccuracy,
    double SamplesPerSecond,
    IReadOnlyList<CurvePoint> Curve,
    string? Divergence = null)
{
    /// <summary>Where a diverged run stopped: the matrix (or signal), its layer and the step; null if it did not diverge.</summary>
    public DivergencePoint? Diverged { get; init; }

    /// <summary>Test images forward-passed per second of evaluation time (the evaluations of this process; 0 if it made none).</summary>
    public double EvaluationImagesPerSecond { get; init; }
}

/// <summary>Where training diverged: <paramref name="Matrix"/> as the message names it (W_3, B_2, y_5, Wh), its 1-based
/// <paramref name="Layer"/> (0 for a recurrent network) and the 1-based <paramref name="Step"/>.</summary>
public sealed record DivergencePoint(string Matrix, int Layer, long Step)
{
    public static DivergencePoint Of(TrainingDivergedException ex) => new(ex.Matrix, ex.Layer, ex.Step);
}

/// <summary>How <see cref="OnlineRun.Run"/> reports and persists a run; every member is optional.</summary>
public sealed record RunOptions
{
    /// <summary>Called with the samples done after every evaluation.</summary>
    public Action<int>? Progress { get; init; }

    /// <summary>false: a divergence throws <see cref="TrainingDivergedException"/> (a single run stops with the
    /// error); true: it ends the run and is recorded in the result (sweeps go on).</summary>
    public bool ContinueOnDivergence { get; init; }

    /// <summary>Called at every evaluation point (0 included) with the samples done and the learner, whose last
    /// forward pass it may overwrite: the place for instruments that track the network during training.</summary>
    public Action<int, OnlineLearner>? Observe { get; init; }

    /// <summary>If set, a checkpoint is written there (atomically) at every evaluation point.</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>The directory the data was read from, recorded in checkpoints so that a resume can find it again.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>If set, the run continues from this checkpoint instead of starting at sample 0.</summary>
    public RunCheckpoint? ResumeFrom { get; init; }

    /// <summary>Threads that share each test evaluation of a multilayer network (≥ 1; 1 by default). A lone run may give
    /// it every core; sweeps leave it at 1, their concurrent runs already fill the cores. The accuracy is the same for
    /// any count.</summary>
    public int EvaluationThreads { get; init; } = 1;
}

/// <summary>
/// One online run: batch size 1, test accuracy measured every <see cref="RunSpec.EvalEvery"/> samples (and
/// before the first). The training clock covers the training steps only, never evaluation, which has its own.
/// </summary>
public static class OnlineRun
{
    /// <summary>The network of <paramref name="spec"/>: W drawn from the seed, or read from a .npz with W1…WL (and B1…BL
    /// if it has them; otherwise separate feedback is drawn from the seed); or, to resume, as <paramref name="resumeFrom"/> left it.</summary>
    public static Mlp CreateNetwork(RunSpec spec, RunCheckpoint? resumeFrom = null)
    {
        spec.Validate();
        var network = new Mlp(spec.Layers.ToArray(), Runtime.Activation.Parse(spec.Activation), spec.Feedback);
        if (resumeFrom is not null)
        {
            resumeFrom.Restore(network);
        }
        else if (spec.Init.EndsWith(".npz", StringComparison.OrdinalIgnoreCase))
        {
            if (!WeightFiles.Load(spec.Init, network))
            {
                network.InitializeFeedback(spec.Seed);
            }
        }
        else
        {
            network.Initialize(Initialization.ParseScheme(spec.Init), spec.Seed);
        }

        return network;
    }

    /// <summary>The training sample indices: file order from the first, or a seeded permutation per epoch (see
    /// <see cref="SampleSequence"/>, which draws them lazily; this materializes the first <paramref name="samples"/>).
    /// The first n indices do not depend on <paramref name="samples"/>, so a run extended or resumed sees the same prefix.</summary>
    public static int[] SampleIndices(int available, int samples, SampleOrder order, ulong seed)
    {
        var sequence = new SampleSequence(available, order, seed);
        var indices = new int[samples];
        for (int i = 0; i < samples; i++) indices[i] = sequence[i];
        return indices;
    }

    /// <summary>Accuracy of guessing among the ten classes; what a diverged run scores.</summary>
    public const double ChanceAccuracy = 0.1;

    /// <summary>Trains <paramref name="network"/> (from <see cref="CreateNetwork"/>; given the checkpoint when resuming)
    /// to <see cref="RunSpec.Samples"/> samples in all.</summary>
    public static RunResult Run(RunSpec spec, IPlasticityRule rule, Mlp network, Dataset train, Dataset test,
        RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        spec.Validate();
        options ??= new RunOptions();
        float[] theta = spec.Theta.ToArray();
        var learner = new OnlineLearner(network, rule);
        if (options.ResumeFrom is { } checkpoint)
        {
            checkpoint.CheckResumable(spec, rule);
            learner.StepCount = checkpoint.Samples;
        }

        return Drive(rule.Name, spec.Seed, spec.Samples, spec.EvalEvery, new SampleSequence(train.Count, spec.Order, spec.Seed), options,
            (index, next) => learner.Step(train.Image(index), train.Labels[index], rule, theta, next < 0 ? default : train.Image(next)),
            _ => learner.Accuracy(test.Images, test.Labels, test.Count, options.EvaluationThreads), test.Count,
            options.Observe is { } observe ? samples => observe(samples, learner) : null,
            (directory, samples, curve, seconds) => RunCheckpoint.Write(directory, spec, rule, network, samples, curve, seconds, options.DataDirectory),
            cancellationToken);
    }

    /// <summary>
    /// The loop of an online run, whichever network it trains: continues <see cref="RunOptions.ResumeFrom"/> (which the
    /// caller has checked) or evaluates before the first sample; then trains <paramref name="evalEvery"/> samples at a
    /// time, each by <paramref name="step"/> with its index in the training set and the next sample's (−1 after the last,
    /// so that a step can prepare the next one's forward pass), and after each block evaluates, writes
    /// the checkpoint and reports progress. The clock covers the steps only.
    /// </summary>
    /// <param name="evaluate">The accuracy after the samples given, on <paramref name="evaluationImages"/> images (timed for
    /// <see cref="RunResult.EvaluationImagesPerSecond"/>).</param>
    /// <param name="observe">Called after each evaluation with the samples done (instruments), outside both clocks.</param>
    /// <param name="writeCheckpoint">Writes the checkpoint into the directory after the samples given, with the curve so far and the training seconds.</param>
    internal static RunResult Drive(string rule, ulong seed, int samples, int evalEvery, SampleSequence order, RunOptions options,
        Action<int, int> step, Func<int, double> evaluate, int evaluationImages, Action<int>? observe, Action<string, int, IReadOnlyList<CurvePoint>, double> writeCheckpoint,
        CancellationToken cancellationToken)
    {
        var curve = new List<CurvePoint>();
        var clock = new Stopwatch();
        var evaluationClock = new Stopwatch();
        long evaluatedImages = 0;
        double trainingSecondsBefore = 0;
        int done = 0;
        if (options.ResumeFrom is { } checkpoint)
        {
            done = checkpoint.Samples;
            curve.AddRange(checkpoint.Curve);
            trainingSecondsBefore = checkpoint.TrainingSeconds;
        }
        else
        {
            Evaluate(0);
        }

        double SamplesPerSecond() => done / Math.Max(trainingSecondsBefore + clock.Elapsed.TotalSeconds, 1e-9);
        double EvaluationImagesPerSecond() => evaluatedImages / Math.Max(evaluationClock.Elapsed.TotalSeconds, 1e-9);

        void Evaluate(int samplesDone)
        {
            evaluationClock.Start();
            double accuracy = evaluate(samplesDone);
            evaluationClock.Stop();
            evaluatedImages += evaluationImages;
            curve.Add(new CurvePoint(samplesDone, accuracy));
            observe?.Invoke(samplesDone);
            if (options.CheckpointDirectory is { } directory) writeCheckpoint(directory, samplesDone, curve, trainingSecondsBefore + clock.Elapsed.TotalSeconds);
        }

        while (done < samples)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int until = Math.Min(samples, done + evalEvery);
            clock.Start();
            try
            {
                for (; done < until; done++) step(order[done], done + 1 < samples ? order[done + 1] : -1);
            }
            catch (TrainingDivergedException ex) when (options.ContinueOnDivergence)
            {
                // Scored at chance from here on: a diverged network predicts nothing.
                clock.Stop();
                return new RunResult(rule, seed, ChanceAccuracy, SamplesPerSecond(), curve, ex.Message)
                {
                    Diverged = DivergencePoint.Of(ex),
                    EvaluationImagesPerSecond = EvaluationImagesPerSecond(),
                };
            }

            clock.Stop();
            Evaluate(done);
            options.Progress?.Invoke(done);
        }

        return new RunResult(rule, seed, curve[^1].TestAccuracy, SamplesPerSecond(), curve)
        {
            EvaluationImagesPerSecond = EvaluationImagesPerSecond(),
        };
    }
}
