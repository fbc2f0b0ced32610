using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Experiments;

namespace PlasticityDsl.Runtime.Recurrent;

/// <summary>Everything that determines one online run of the delayed-memory task, besides the data and the rule.</summary>
/// <param name="Hidden">n_h.</param>
/// <param name="Steps">T, the step at which the class is read out.</param>
/// <param name="PresentationSteps">P, the steps during which the image is shown.</param>
/// <param name="Activation">f: tanh, softplus, relu or elu.</param>
/// <param name="Init">xavier or naive, for Wh, Wx and Wo alike.</param>
/// <param name="Theta">t0..t9, then the rule's parameters.</param>
/// <param name="GradientRate">η of the plain gradient step on the matrices the rule does not update (Wx and Wo for the paper's rules).</param>
/// <param name="Samples">Training sequences, one step each.</param>
/// <param name="Order">File order or a seeded permutation of the training set.</param>
/// <param name="Seed">Initializes the weights and, for <see cref="SampleOrder.Shuffle"/>, the order.</param>
/// <param name="EvalEvery">Samples between two evaluations.</param>
public sealed record RecurrentRunSpec(
    int Hidden,
    int Steps,
    int PresentationSteps,
    string Activation,
    string Init,
    IReadOnlyList<float> Theta,
    float GradientRate,
    int Samples,
    SampleOrder Order,
    ulong Seed,
    int EvalEvery)
{
    /// <summary>n_h of our Figure 7 protocol (the paper does not give it).</summary>
    public const int DefaultHidden = 128;

    /// <summary>Throws <see cref="ArgumentException"/> whose <see cref="ArgumentException.ParamName"/> is the offending setting.</summary>
    public void Validate()
    {
        if (Hidden < 1) throw new ArgumentException("must be at least 1.", nameof(Hidden));
        if (Steps < 1) throw new ArgumentException("must be at least 1.", nameof(Steps));
        if (PresentationSteps < 1 || PresentationSteps > Steps) throw new ArgumentException($"must be in 1 … {Steps} (T).", nameof(PresentationSteps));
        if (Theta.Count < RunSpec.CoefficientCount) throw new ArgumentException("must hold t0..t9 (and the rule's parameters).", nameof(Theta));
        if (!(GradientRate >= 0f) || !float.IsFinite(GradientRate)) throw new ArgumentException("must be finite and non-negative.", nameof(GradientRate));
        RunSpec.CheckSchedule(Samples, EvalEvery);
    }
}

/// <summary>
/// One online run of the delayed-memory task (<see cref="DelayedMemoryTask"/>) on MNIST: one sequence per step, accuracy
/// on the evaluation set measured every <see cref="RecurrentRunSpec.EvalEvery"/> samples (and before the first). The
/// clock covers the training steps only, never evaluation.
/// </summary>
public static class RecurrentRun
{
    /// <summary>A network of n_x = 784, n_h = <see cref="RecurrentRunSpec.Hidden"/>, n_o = 10: initialized from the seed, read
    /// from a .npz with Wh, Wx and Wo (<see cref="RecurrentRunSpec.Init"/> a path), or, to resume, as <paramref name="resumeFrom"/> left it.</summary>
    public static RecurrentNetwork CreateNetwork(RecurrentRunSpec spec, RunCheckpoint? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        var network = new RecurrentNetwork(IdxReader.PixelsPerImage, spec.Hidden, IdxReader.ClassCount, Runtime.Activation.Parse(spec.Activation));
        if (resumeFrom is not null)
        {
            resumeFrom.Restore(network);
        }
        else if (spec.Init.EndsWith(".npz", StringComparison.OrdinalIgnoreCase))
        {
            WeightFiles.Load(spec.Init, network);
        }
        else
        {
            network.Initialize(Initialization.ParseScheme(spec.Init), spec.Seed);
        }

        return network;
    }

    /// <summary>Trains <paramref name="network"/> (from <see cref="CreateNetwork"/>; given the checkpoint when resuming) to
    /// <see cref="RecurrentRunSpec.Samples"/> samples in all, as <see cref="OnlineRun.Run"/> trains a layered network.</summary>
    /// <param name="evaluation">The images whose accuracy makes the curve (all of them, each time).</param>
    /// <param name="options">Progress, divergence handling, checkpoints and resuming as for <see cref="OnlineRun.Run"/>;
    /// <see cref="RunOptions.Observe"/> watches a layered network's learner and is refused here.</param>
    public static RunResult Run(RecurrentRunSpec spec, IRecurrentRule rule, RecurrentNetwork network, Dataset train, Dataset evaluation,
        RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(evaluation);
        spec.Validate();
        options ??= new RunOptions();
        if (options.Observe is not null) throw new ArgumentException("RunOptions.Observe watches a layered network; a recurrent run has none.", nameof(options));
        float[] theta = spec.Theta.ToArray();
        var task = new DelayedMemoryTask(network.Inputs, spec.Steps, spec.PresentationSteps);
        var learner = new RecurrentLearner(network, spec.Steps, rule);
        if (options.ResumeFrom is { } checkpoint)
        {
            checkpoint.CheckResumable(spec, rule);
            learner.StepCount = checkpoint.Samples;
        }

        return OnlineRun.Drive(rule.Name, spec.Seed, spec.Samples, spec.EvalEvery, new SampleSequence(train.Count, spec.Order, spec.Seed), options,
            (index, _) => learner.Step(task.Sequence(train.Image(index)), train.Labels[index], rule, theta, spec.GradientRate),
            _ => task.Accuracy(learner, evaluation.Images, evaluation.Labels, evaluation.Count), evaluation.Count, null,
            (directory, samples, curve, seconds) => RunCheckpoint.Write(directory, spec, rule, network, samples, curve, seconds, options.DataDirectory),
            cancellationToken);
    }
}
