using PlasticityDsl.Cli.Commands;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Experiments;
using PlasticityDsl.Runtime.Recurrent;

namespace PlasticityDsl.Cli.Figures;

/// <summary>Figure 7: the vanilla RNN on the delayed-memory MNIST task, BPTT vs BPTT+Oja (protocol in docs/recurrent.md).</summary>
internal static class RecurrentFigure
{
    /// <summary>Test images per evaluation: a recurrent evaluation runs T = 50 steps per image, so the curve uses fewer.</summary>
    public const int EvaluationImages = 2000;

    public static void Figure7(FigureContext context)
    {
        RecurrentArm[] arms = [Arm(context, "BPTT", "bptt"), Arm(context, "BPTT+Oja", "bptt_oja")];
        RecurrentSweepOptions options = Options(context.Seeds, context.Samples, context.EvalEvery, context.Parallelism);
        var evaluation = context.Test.Slice(0, Math.Min(EvaluationImages, context.Test.Count));
        context.Log($"fig7: 2 rules × {options.Seeds} seeds of the delayed-memory task (n_h = {context.RecurrentHidden}, T = {options.Steps}), {options.Samples} samples each");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        IReadOnlyList<ArmSummary>? summaries = RecurrentSweep.Run(context.Jobs, "fig7", [new RecurrentComparison("delayed-memory MNIST", context.RecurrentHidden, arms)],
            options, context.Train, evaluation, context.Log);
        if (summaries is null) return; // one shard: its runs are in the part file
        string directory = context.Directory("fig7");
        SweepOutputs.Write(directory, "fig7", "Figure 7", summaries, new
        {
            Figure = context.Settings(options.Init), options.Steps, options.PresentationSteps, Hidden = context.RecurrentHidden, options.Activation,
            GradientRateOfWxAndWo = "-t1", EvaluationImages = evaluation.Count, WallSeconds = context.WallSeconds(clock),
        });
        context.Report(summaries);
        Console.WriteLine($"wrote {Path.Combine(directory, "fig7.png")}, .csv and .json in {clock.Elapsed.TotalSeconds:F0} s");
    }

    /// <summary>Our protocol: T = 50, the image shown for the first 5 steps, tanh, Xavier init, samples shuffled.</summary>
    public static RecurrentSweepOptions Options(int seeds, int samples, int evalEvery, int parallelism, ulong firstSeed = 0) =>
        new(seeds, samples, evalEvery, firstSeed, Steps: 50, PresentationSteps: 5, Init: "xavier", Activation: "tanh", SampleOrder.Shuffle, parallelism);

    /// <summary>Wx and Wo learn by plain gradient at the rate of the BPTT term, η = −t1, so that the BPTT arm is SGD on all
    /// three matrices and the arms differ only by Oja's term on Wh.</summary>
    public static RecurrentArm Arm(string label, IRecurrentRule rule, float[] theta) => new(label, rule, theta, -theta[1]);

    private static RecurrentArm Arm(FigureContext context, string label, string ruleName)
    {
        IRecurrentRule rule = CommonOptions.RecurrentRule(ruleName);
        return Arm(label, rule, CommonOptions.ParseTheta(context.Thetas.Assignments("rnn", ruleName), rule));
    }
}
