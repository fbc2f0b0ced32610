namespace PlasticityDsl.Runtime;

/// <summary>Thrown when an online step leaves a non-finite value (NaN or ±∞) in a weight matrix.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception for <paramref name="matrix"/>_<paramref name="layer"/> (W or B of an MLP) after step <paramref name="step"/>.</summary>
    public TrainingDivergedException(int layer, long step, string matrix = "W")
        : this($"{matrix}_{layer}", step)
    {
        Layer = layer;
    }

    /// <summary>Creates the exception for the matrix named <paramref name="matrix"/> (e.g. Wh) after step <paramref name="step"/>.</summary>
    public TrainingDivergedException(string matrix, long step)
        : base($"training diverged: {matrix} has a non-finite value after step {step} (lower the learning rate)")
    {
        Matrix = matrix;
        Step = step;
    }

    /// <summary>The matrix found non-finite, as the message names it: W_3, B_2, Wh.</summary>
    public string Matrix { get; }

    /// <summary>The 1-based layer index l of the matrix for an MLP; 0 for a recurrent network's matrices.</summary>
    public int Layer { get; }

    /// <summary>The 1-based count of samples seen, including the step that diverged.</summary>
    public long Step { get; }
}
