namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>The argument checks the forward- and reverse-mode episodes share.</summary>
internal static class EpisodeChecks
{
    /// <summary>Each direction a coefficient the rule reads, none twice.</summary>
    public static void Directions(IPlasticityRule rule, ReadOnlySpan<int> directions)
    {
        for (int d = 0; d < directions.Length; d++)
        {
            if (!rule.Coefficients.Contains(directions[d]))
            {
                throw new ArgumentException($"rule '{rule.Name}' does not read θ[{directions[d]}]; it reads {string.Join(", ", rule.Coefficients.Select(rule.CoefficientName))}.", nameof(directions));
            }
            if (directions[..d].Contains(directions[d]))
            {
                throw new ArgumentException($"direction {rule.CoefficientName(directions[d])} is given twice.", nameof(directions));
            }
        }
    }

    /// <summary>Each layer's scratch for the rule's <paramref name="kind"/> kernel (tangent or adjoint), of the length
    /// <paramref name="length"/>(rows, columns) says.</summary>
    public static float[][] Scratch(IPlasticityRule rule, int[] sizes, string kind, Func<int, int, int> length)
    {
        var scratch = new float[sizes.Length - 1][];
        for (int l = 1; l < sizes.Length; l++)
        {
            int need = length(sizes[l], sizes[l - 1]);
            if (need < 0)
            {
                throw new InvalidOperationException($"rule '{rule.Name}' asked for negative {kind} scratch ({need}) for W_{l}.");
            }
            scratch[l - 1] = new float[need];
        }
        return scratch;
    }

    /// <summary>θ long enough to hold every direction.</summary>
    public static void Theta(ReadOnlySpan<int> directions, int thetaLength)
    {
        foreach (int k in directions)
        {
            if (k >= thetaLength) throw new ArgumentException($"θ has {thetaLength} entries but direction θ[{k}] is differentiated.", "theta");
        }
    }

    /// <summary>The learner's output check after its forward pass (<see cref="OnlineLearner.OutputDivergence"/>) as an
    /// episode reports it: a non-finite W or B behind the output, else z_L ("z"), else, with z_L finite, its
    /// cross-entropy ("loss").</summary>
    public static (int Layer, string Quantity)? OutputDivergence(OnlineLearner learner)
    {
        if (learner.OutputDivergence() is not { } output) return null;
        bool lossOnly = output.Matrix == "z" && KernelPrimitives.AllFinite(learner.PreActivations(output.Layer));
        return (output.Layer, lossOnly ? "loss" : output.Matrix);
    }

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
