namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>The argument checks the forward- and reverse-mode episodes share.</summary>
internal static class EpisodeChecks
{
    public static void Gradient(int directions, Span<double> gradient)
    {
        if (gradient.Length != directions)
        {
            throw new ArgumentException($"the gradient needs one entry per direction ({directions}), got {gradient.Length}.", nameof(gradient));
        }
    }

    /// <param name="inputs">n_0, the values of one image.</param>
    public static void Samples(int inputs, ReadOnlySpan<float> images, ReadOnlySpan<byte> labels, ReadOnlySpan<int> indices, string what)
    {
        int available = Math.Min(images.Length / inputs, labels.Length);
        if (images.Length % inputs != 0)
        {
            throw new ArgumentException($"images must hold whole images of n_0 = {inputs} values, got {images.Length} values.", nameof(images));
        }
        if (indices.Length == 0)
        {
            throw new ArgumentException($"the {what} list is empty.", nameof(indices));
        }
        for (int k = 0; k < indices.Length; k++)
        {
            if ((uint)indices[k] >= (uint)available)
            {
                throw new ArgumentException($"{what}[{k}] = {indices[k]} is outside the {available} images (0 … {available - 1}).", nameof(indices));
            }
        }
    }
}
