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
        RunCheckpoint checkpoint;
        try
        {
            checkpoint = ResultsWriter.ReadJson<RunCheckpoint>(path);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidDataException or NotSupportedException)
        {
            throw new DataFileException(path, $"is not a checkpoint: {ex.Message}");
        }
        if (checkpoint.Format != CurrentFormat) throw new DataFileException(path, $"has format {checkpoint.Format}; this version reads format {CurrentFormat}");
        if (checkpoint.Spec is null || checkpoint.Curve is null || string.IsNullOrEmpty(checkpoint.WeightsFile) || checkpoint.WeightsFile.Contains('/') || checkpoint.WeightsFile.Contains('\\'))
        {
            throw new DataFileException(path, "is incomplete (spec, curve or weights file missing)");
        }
        return checkpoint with { Directory = directory };
    }

    /// <summary>The spec of the resumed run: the checkpoint's, trained to <paramref name="samples"/> in all.</summary>
    public RunSpec ResumedSpec(int samples) =>
        samples < Samples
            ? throw new ArgumentException($"the checkpoint is already at {Samples} samples; --samples {samples} would go back")
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

    /// <summary>Loads the checkpoint's W (and B) into <paramref name="network"/>.</summary>
    public void Restore(Mlp network)
    {
        string path = Path.Combine(Directory, WeightsFile);
        if (!WeightFiles.Load(path, network) && network.HasSeparateFeedback)
        {
            throw new DataFileException(path, "has no feedback weights B1…BL, but the run has separate feedback");
        }
    }
}
