namespace PlasticityDsl.Runtime.Recurrent;

/// <summary>
/// The delayed-memory task of Section 2.4 (Figure 7): an image is the input for the first P time steps, zeros
/// follow, and its class is read out at step T. The paper's setting is P = 5, T = 50 (docs/recurrent.md).
/// </summary>
/// <remarks>
/// <see cref="Sequence"/> writes into one buffer owned by the task: rows P+1 … T are zeroed once, at construction,
/// and each call rewrites rows 1 … P only, so making a sequence costs P copies of the image and allocates nothing.
/// The returned span is that buffer: the next <see cref="Sequence"/> or <see cref="Accuracy"/> overwrites it. Not
/// thread-safe: one task per training run.
/// </remarks>
public sealed class DelayedMemoryTask
{
    /// <summary>T of the paper.</summary>
    public const int PaperSteps = 50;

    /// <summary>P of the paper.</summary>
    public const int PaperPresentationSteps = 5;

    private readonly float[] _sequence;

    /// <param name="inputs">n_x, the values per image (784 for MNIST).</param>
    /// <param name="steps">T ≥ 1, the step at which the class is read out.</param>
    /// <param name="presentationSteps">P, 1 … T, the steps during which the image is shown.</param>
    public DelayedMemoryTask(int inputs, int steps = PaperSteps, int presentationSteps = PaperPresentationSteps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(presentationSteps, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(presentationSteps, steps);
        if ((long)inputs * steps > Array.MaxLength)
        {
            throw new ArgumentException($"a sequence of {steps} × {inputs} values does not fit in an array.");
        }
        Inputs = inputs;
        Steps = steps;
        PresentationSteps = presentationSteps;
        _sequence = new float[steps * inputs];
    }

    /// <summary>n_x.</summary>
    public int Inputs { get; }

    /// <summary>T.</summary>
    public int Steps { get; }

    /// <summary>P.</summary>
    public int PresentationSteps { get; }

    /// <summary>The input sequence x_1 … x_T (T × n_x, row t − 1 is step t) for <paramref name="image"/>: the image at steps 1 … P, zeros after.</summary>
    public ReadOnlySpan<float> Sequence(ReadOnlySpan<float> image)
    {
        if (image.Length != Inputs)
        {
            throw new ArgumentException($"the image must have n_x = {Inputs} values, got {image.Length}.", nameof(image));
        }
        for (int t = 0; t < PresentationSteps; t++)
        {
            image.CopyTo(_sequence.AsSpan(t * Inputs, Inputs));
        }
        return _sequence;
    }

    /// <summary>Fraction of the first <paramref name="count"/> images that <paramref name="learner"/>'s network classifies correctly under this protocol.</summary>
    /// <param name="images">Images back to back, n_x values each, at least <paramref name="count"/> of them.</param>
    /// <param name="labels">Labels, at least <paramref name="count"/>.</param>
    /// <param name="count">How many to evaluate (≥ 1).</param>
    public double Accuracy(RecurrentLearner learner, ReadOnlySpan<float> images, ReadOnlySpan<byte> labels, int count)
    {
        ArgumentNullException.ThrowIfNull(learner);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (learner.Steps != Steps)
        {
            throw new ArgumentException($"the learner runs sequences of T = {learner.Steps} steps, the task {Steps}.", nameof(learner));
        }
        if (images.Length / Inputs < count || labels.Length < count)
        {
            throw new ArgumentException(
                $"need {count} images of {Inputs} values and {count} labels, got {images.Length} values and {labels.Length} labels.");
        }
        int correct = 0;
        for (int i = 0; i < count; i++)
        {
            if (learner.Predict(Sequence(images.Slice(i * Inputs, Inputs))) == labels[i]) correct++;
        }
        return correct / (double)count;
    }
}
