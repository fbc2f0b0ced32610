namespace PlasticityDsl.Runtime;

/// <summary>Thrown when an online step leaves a non-finite value (NaN or ±∞) in a weight matrix.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception for W_<paramref name="layer"/> after step <paramref name="step"/>.</summary>
    public TrainingDivergedException(int layer, long step)
        : this(layer, step, null)
    {
    }

    /// <summary>Creates the exception for W_<paramref name="layer"/> after step <paramref name="step"/>, wrapping a cause.</summary>
    public TrainingDivergedException(int layer, long step, Exception? innerException)
        : base($"training diverged: W_{layer} has a non-finite value after step {step} (lower the learning rate)", innerException)
    {
        Layer = layer;
        Step = step;
    }

    /// <summary>The 1-based index l of the first weight matrix W_l found non-finite.</summary>
    public int Layer { get; }

    /// <summary>The 1-based count of samples seen, including the step that diverged.</summary>
    public long Step { get; }
}
