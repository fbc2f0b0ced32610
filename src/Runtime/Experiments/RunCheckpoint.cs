using System.Text.Json.Serialization;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Runtime.Experiments;

/// <summary>
/// The state of an online run after <see cref="Samples"/> samples, enough to continue it bit-identically: the weights
/// (W and B, in <see cref="WeightsFile"/>) and, here, the spec, the rule, the samples done (= steps), the curve so far and
/// where the data was.
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
    RunSpec Spec,
    int Samples,
    IReadOnlyList<CurvePoint> Curve,
    double TrainingSeconds,
    string WeightsFile,
    string? DataDirectory = null)
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
        IReadOnlyList<CurvePoint> curve, double trainingSeconds, string? dataDirectory)
    {
        System.IO.Directory.CreateDirectory(directory);
        string weightsFile = $"weights-{samples:D9}.npz";
        WeightFiles.Write(Path.Combine(directory, weightsFile), network);
        ResultsWriter.WriteJson(Path.Combine(directory, FileName),
            new RunCheckpoint(CurrentFormat, rule.Name, rule.Source, spec, samples, curve.ToArray(), trainingSeconds, weightsFile, dataDirectory));
        // Only now is the previous weights file unreferenced.
        foreach (string old in System.IO.Directory.EnumerateFiles(directory, "weights-*.npz"))
        {
            if (Path.GetFileName(old) != weightsFile) File.Delete(old);
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
        RunSpec? spec = c.Spec;
        if (spec is null) return "spec missing";
        if (spec.Layers is null || spec.Layers.Count < 2 || spec.Layers.Any(n => n < 1)) return "spec.layers missing or not positive sizes";
        if (spec.Activation is null || spec.Init is null) return "spec.activation or spec.init missing";
        if (!Runtime.Activation.TryParse(spec.Activation, out _)) return $"spec.activation `{spec.Activation}` is not a known activation";
        if (spec.Theta is null || spec.Theta.Count < RunSpec.CoefficientCount) return "spec.theta missing or short";
        int bad = spec.Theta.ToList().FindIndex(t => !float.IsFinite(t));
        if (bad >= 0) return $"spec.theta[{bad}] is {spec.Theta[bad]}, not a finite number";
        if (!Enum.IsDefined(spec.Order) || !Enum.IsDefined(spec.Feedback)) return "spec.order or spec.feedback is not a known value";
        try
        {
            spec.Validate();
        }
        catch (ArgumentException e)
        {
            return "spec: " + e.Message;
        }

        if (c.Samples < 0 || c.Samples > spec.Samples) return $"samples {c.Samples} is outside 0..{spec.Samples}";
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
    public RunSpec ResumedSpec(int samples) =>
        samples < Samples
            ? throw new ArgumentException($"the checkpoint is already at {Samples} samples; training to {samples} would go back")
            : Spec with { Samples = samples };

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="spec"/> and <paramref name="rule"/> continue this run.</summary>
    public void CheckResumable(RunSpec spec, IPlasticityRule rule)
    {
        if (rule.Name != Rule || rule.Source != RuleSource)
        {
            throw new ArgumentException($"the checkpoint in {Directory} was made by rule '{Rule}'; it cannot be resumed with rule '{rule.Name}' (or a changed rule).");
        }
        if (spec.Samples < Samples)
        {
            throw new ArgumentException($"the checkpoint is already at {Samples} samples; the run asks for {spec.Samples}.");
        }
        RunSpec mine = Spec with { Samples = spec.Samples };
        if (!mine.Layers.SequenceEqual(spec.Layers) || !mine.Theta.SequenceEqual(spec.Theta) || mine with { Layers = spec.Layers, Theta = spec.Theta } != spec)
        {
            throw new ArgumentException($"the checkpoint in {Directory} was made with different settings; resume it with the same layers, θ, init, order, seed, feedback and eval interval.");
        }
    }

    /// <summary>Loads the checkpoint's W (and B, and the rule's per-layer state) into <paramref name="network"/>.</summary>
    public void Restore(Mlp network)
    {
        string path = Path.Combine(Directory, WeightsFile);
        if (!WeightFiles.Load(path, network, withState: true) && network.HasSeparateFeedback)
        {
            throw new DataFileException(path, "has no feedback weights B1…BL, but the run has separate feedback");
        }
    }
}
