using System.Text.Json.Serialization;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Recurrent;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Runtime.Experiments;

/// <summary>
/// The state of an online run after <see cref="Samples"/> samples, enough to continue it bit-identically: the weights
/// (W and B, in <see cref="WeightsFile"/>) and, here, the spec, the rule, the samples done (= steps), the curve so far and
/// where the data was. A run of the recurrent network (<see cref="RecurrentRun"/>) is checkpointed the same way, with its
/// <see cref="Recurrent"/> spec in place of <see cref="Spec"/> and Wh, Wx and Wo in the .npz.
/// </summary>
/// <remarks>
/// A run draws all its randomness before the first step (weights and the sample order, both from the seed), so the
/// seed and the number of samples done fix where the order continues; no generator state is left to save.
/// A checkpoint directory holds <c>checkpoint.json</c> and the .npz it names. Each file is written atomically and the
/// JSON last: a run killed at any moment leaves the previous checkpoint complete.
/// </remarks>
public sealed record RunCheckpoint(
    int Format,
    string Rule,
    string RuleSource,
    RunSpec? Spec,
    int Samples,
    IReadOnlyList<CurvePoint> Curve,
    double TrainingSeconds,
    string WeightsFile,
    string? DataDirectory = null,
    RecurrentRunSpec? Recurrent = null)
{
    public const int CurrentFormat = 1;
    public const string FileName = "checkpoint.json";

    /// <summary>The largest checkpoint.json read (256 MiB; a run's curve has at most <see cref="RunSpec.MaxEvaluations"/> points).</summary>
    public const long MaxFileBytes = 256L << 20;

    /// <summary>The directory the checkpoint was read from.</summary>
    [JsonIgnore]
    public string Directory { get; init; } = "";

    /// <param name="dataDirectory">Where the run's MNIST files are, so that a resume finds the same data; null if unknown.</param>
    public static void Write(string directory, RunSpec spec, IPlasticityRule rule, Mlp network, int samples,
        IReadOnlyList<CurvePoint> curve, double trainingSeconds, string? dataDirectory) =>
        Write(directory, path => WeightFiles.Write(path, network),
            new RunCheckpoint(CurrentFormat, rule.Name, rule.Source, spec, samples, curve.ToArray(), trainingSeconds, WeightsFileName(samples), dataDirectory));

    /// <summary>The checkpoint of a recurrent run: <paramref name="network"/>'s Wh, Wx and Wo after <paramref name="samples"/> samples.</summary>
    public static void Write(string directory, RecurrentRunSpec spec, IRecurrentRule rule, RecurrentNetwork network, int samples,
        IReadOnlyList<CurvePoint> curve, double trainingSeconds, string? dataDirectory) =>
        Write(directory, path => WeightFiles.Write(path, network),
            new RunCheckpoint(CurrentFormat, rule.Name, rule.Source, null, samples, curve.ToArray(), trainingSeconds, WeightsFileName(samples), dataDirectory, spec));

    private static string WeightsFileName(int samples) => $"weights-{samples:D9}.npz";

    private static void Write(string directory, Action<string> writeWeights, RunCheckpoint checkpoint)
    {
        System.IO.Directory.CreateDirectory(directory);
        writeWeights(Path.Combine(directory, checkpoint.WeightsFile));
        ResultsWriter.WriteJson(Path.Combine(directory, FileName), checkpoint);
        // Only now is the previous weights file unreferenced.
        foreach (string old in System.IO.Directory.EnumerateFiles(directory, "weights-*.npz"))
        {
            if (Path.GetFileName(old) != checkpoint.WeightsFile) File.Delete(old);
        }
    }

    /// <summary>Reads the checkpoint in <paramref name="directory"/>; a missing or unreadable one is a <see cref="DataFileException"/>.</summary>
    public static RunCheckpoint Read(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) throw new DataFileException(path, "does not exist (no checkpoint in this directory)");
        IO.FileNode node = IO.FileNode.Following(path);
        if (node.Kind != IO.FileNodeKind.RegularFile) throw new DataFileException(path, $"is {IO.FileNode.Describe(node.Kind)}, not a checkpoint file");
        if (new FileInfo(path).Length > MaxFileBytes) throw new DataFileException(path, $"is larger than the {MaxFileBytes} bytes a checkpoint can take");
        RunCheckpoint checkpoint;
        try
        {
            checkpoint = ResultsWriter.ReadJson<RunCheckpoint>(path);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidDataException or NotSupportedException or ArgumentException or NullReferenceException)
        {
            throw new DataFileException(path, $"is not a checkpoint: {ex.Message}");
        }
        if (checkpoint.Format != CurrentFormat) throw new DataFileException(path, $"has format {checkpoint.Format}; this version reads format {CurrentFormat}");
        if (Problem(checkpoint) is { } problem) throw new DataFileException(path, $"is not a usable checkpoint: {problem}");
        return checkpoint with { Directory = directory };
    }

    /// <summary>What is wrong with a deserialized checkpoint (JSON gives nulls and NaN where a hand-edited or corrupt file has them), or null.</summary>
    private static string? Problem(RunCheckpoint c)
    {
        if (string.IsNullOrEmpty(c.Rule) || c.RuleSource is null) return "rule or rule_source missing";
        if (string.IsNullOrEmpty(c.WeightsFile) || c.WeightsFile.Contains('/') || c.WeightsFile.Contains('\\') || c.WeightsFile is "." or "..")
            return "weights_file missing or not a plain file name";
        if ((c.Spec is null) == (c.Recurrent is null)) return "exactly one of spec (a layered network) and recurrent (the recurrent network) must be given";
        if ((c.Spec is { } spec ? SpecProblem(spec) : RecurrentSpecProblem(c.Recurrent!)) is { } specProblem) return specProblem;
        int targetSamples = c.Spec?.Samples ?? c.Recurrent!.Samples;
        if (c.Samples < 0 || c.Samples > targetSamples) return $"samples {c.Samples} is outside 0..{targetSamples}";
        if (!double.IsFinite(c.TrainingSeconds) || c.TrainingSeconds < 0) return $"training_seconds {c.TrainingSeconds} is not a finite time";
        if (c.Curve is null || c.Curve.Count == 0) return "curve missing";
        int previous = -1;
        for (int i = 0; i < c.Curve.Count; i++)
        {
            CurvePoint? point = c.Curve[i];
            if (point is null) return $"curve[{i}] is null";
            if (point.Samples <= previous || point.Samples > c.Samples) return $"curve[{i}].samples {point.Samples} is out of order or beyond the samples done";
            if (!double.IsFinite(point.TestAccuracy) || point.TestAccuracy is < 0 or > 1) return $"curve[{i}].test_accuracy {point.TestAccuracy} is not in [0, 1]";
            previous = point.Samples;
        }

        if (c.Curve[^1].Samples != c.Samples) return $"the curve ends at {c.Curve[^1].Samples} samples, not at the {c.Samples} done";
        return null;
    }

    private static string? SpecProblem(RunSpec spec)
    {
        if (spec.Layers is null || spec.Layers.Count < 2 || spec.Layers.Any(n => n < 1)) return "spec.layers missing or not positive sizes";
        if (SharedSettingsProblem("spec", spec.Activation, spec.Init, spec.Theta) is { } problem) return problem;
        if (!Enum.IsDefined(spec.Order) || !Enum.IsDefined(spec.Feedback)) return "spec.order or spec.feedback is not a known value";
        return ValidationProblem("spec", spec.Validate);
    }

    private static string? RecurrentSpecProblem(RecurrentRunSpec spec)
    {
        if (SharedSettingsProblem("recurrent", spec.Activation, spec.Init, spec.Theta) is { } problem) return problem;
        if (!Enum.IsDefined(spec.Order)) return "recurrent.order is not a known value";
        return ValidationProblem("recurrent", spec.Validate);
    }

    private static string? SharedSettingsProblem(string section, string? activation, string? init, IReadOnlyList<float>? theta)
    {
        if (activation is null || init is null) return $"{section}.activation or {section}.init missing";
        if (!Runtime.Activation.TryParse(activation, out _)) return $"{section}.activation `{activation}` is not a known activation";
        if (theta is null || theta.Count < RunSpec.CoefficientCount) return $"{section}.theta missing or short";
        int bad = theta.ToList().FindIndex(t => !float.IsFinite(t));
        return bad >= 0 ? $"{section}.theta[{bad}] is {theta[bad]}, not a finite number" : null;
    }

    private static string? ValidationProblem(string section, Action validate)
    {
        try
        {
            validate();
            return null;
        }
        catch (ArgumentException e)
        {
            return $"{section}: " + e.Message;
        }
    }

    /// <summary>Whether <paramref name="fileName"/> is one a checkpoint directory's run rewrites or deletes.</summary>
    public static bool Owns(string fileName) =>
        fileName == FileName || fileName == IO.DirectoryLock.FileName
        || (fileName.StartsWith("weights-", StringComparison.Ordinal) && fileName.EndsWith(".npz", StringComparison.Ordinal));

    /// <summary>Throws <see cref="IO.OutputPathException"/> if one of <paramref name="files"/> lies in <paramref name="directory"/>
    /// under a name the checkpointing run rewrites or deletes (<see cref="Owns"/>).</summary>
    internal static void CheckNotOwned(string directory, IEnumerable<IO.IoPath> files)
    {
        foreach (IO.IoPath file in files)
        {
            string? parent = Path.GetDirectoryName(Path.GetFullPath(file.Path));
            if (parent is not null && Owns(Path.GetFileName(file.Path)) && IO.OutputPaths.SameLocation(parent, directory))
            {
                throw new IO.OutputPathException(file.Path, $"{file.Option} lies in the checkpoint directory {directory}, under a name the run rewrites or deletes; copy it elsewhere or choose another directory");
            }
        }
    }

    /// <summary>The spec of the resumed run: the checkpoint's, trained to <paramref name="samples"/> in all.</summary>
    public RunSpec ResumedSpec(int samples) => LayeredSpec with { Samples = CheckTarget(samples) };

    /// <summary>The spec of the resumed recurrent run: the checkpoint's, trained to <paramref name="samples"/> in all.</summary>
    public RecurrentRunSpec ResumedRecurrentSpec(int samples) => RecurrentSpec with { Samples = CheckTarget(samples) };

    /// <summary>The spec of a layered network's run; throws if the checkpoint is of the recurrent network.</summary>
    [JsonIgnore]
    public RunSpec LayeredSpec => Spec ?? throw new ArgumentException($"the checkpoint in {Directory} is of a recurrent network (rule '{Rule}'), not of a layered one.");

    /// <summary>The spec of a recurrent run; throws if the checkpoint is of a layered network.</summary>
    [JsonIgnore]
    public RecurrentRunSpec RecurrentSpec => Recurrent ?? throw new ArgumentException($"the checkpoint in {Directory} is of a layered network (rule '{Rule}'), not of the recurrent one.");

    private int CheckTarget(int samples) =>
        samples < Samples ? throw new ArgumentException($"the checkpoint is already at {Samples} samples; training to {samples} would go back") : samples;

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="spec"/> and <paramref name="rule"/> continue this run.</summary>
    public void CheckResumable(RunSpec spec, IPlasticityRule rule)
    {
        CheckContinues(rule, spec.Samples);
        RunSpec mine = LayeredSpec with { Samples = spec.Samples };
        if (!mine.Layers.SequenceEqual(spec.Layers) || !mine.Theta.SequenceEqual(spec.Theta) || mine with { Layers = spec.Layers, Theta = spec.Theta } != spec)
        {
            throw new ArgumentException($"the checkpoint in {Directory} was made with different settings; resume it with the same layers, θ, init, order, seed, feedback and eval interval.");
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="spec"/> and <paramref name="rule"/> continue this recurrent run.</summary>
    public void CheckResumable(RecurrentRunSpec spec, IRecurrentRule rule)
    {
        CheckContinues(rule, spec.Samples);
        RecurrentRunSpec mine = RecurrentSpec with { Samples = spec.Samples };
        if (!mine.Theta.SequenceEqual(spec.Theta) || mine with { Theta = spec.Theta } != spec)
        {
            throw new ArgumentException($"the checkpoint in {Directory} was made with different settings; resume it with the same n_h, T, θ, gradient rate, init, activation, order, seed and eval interval.");
        }
    }

    private void CheckContinues(ICompiledRule rule, int samples)
    {
        if (rule.Name != Rule || rule.Source != RuleSource)
        {
            throw new ArgumentException($"the checkpoint in {Directory} was made by rule '{Rule}'; it cannot be resumed with rule '{rule.Name}' (or a changed rule).");
        }
        if (samples < Samples)
        {
            throw new ArgumentException($"the checkpoint is already at {Samples} samples; the run asks for {samples}.");
        }
    }

    /// <summary>Loads the checkpoint's W (and B, and the rule's per-layer state) into <paramref name="network"/>.</summary>
    public void Restore(Mlp network)
    {
        _ = LayeredSpec;
        string path = Path.Combine(Directory, WeightsFile);
        if (!WeightFiles.Load(path, network, withState: true) && network.HasSeparateFeedback)
        {
            throw new DataFileException(path, "has no feedback weights B1…BL, but the run has separate feedback");
        }
    }

    /// <summary>Loads the checkpoint's Wh, Wx and Wo into <paramref name="network"/>.</summary>
    public void Restore(RecurrentNetwork network)
    {
        _ = RecurrentSpec;
        WeightFiles.Load(Path.Combine(Directory, WeightsFile), network);
    }
}
