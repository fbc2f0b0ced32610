namespace PlasticityDsl.Runtime;

/// <summary>How a weight matrix is drawn.</summary>
public enum InitScheme
{
    /// <summary>Xavier (Glorot) uniform: U(±√(6 / (fan_in + fan_out))), the paper's Eq. 3.</summary>
    Xavier,
    /// <summary>Naive: N(0, 0.01²), the paper's Figure 5 setting.</summary>
    Naive,
}

/// <summary>Seeded, reproducible weight initialization. Matrices are row-major n_l × n_(l−1) (fan_out × fan_in).</summary>
public static class Initialization
{
    /// <summary>Standard deviation of <see cref="InitScheme.Naive"/>.</summary>
    public const double NaiveStandardDeviation = 0.01;

    private static readonly string[] ValidSchemeNames = ["xavier", "naive"];

    /// <summary>The names <see cref="ParseScheme"/> accepts.</summary>
    public static IReadOnlyList<string> SchemeNames { get; } = Array.AsReadOnly(ValidSchemeNames);

    /// <summary>√(6 / (fan_in + fan_out)).</summary>
    public static double XavierBound(int fanIn, int fanOut)
    {
        if (fanIn < 1 || fanOut < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(fanIn), $"fan_in ({fanIn}) and fan_out ({fanOut}) must be at least 1.");
        }
        return Math.Sqrt(6.0 / (fanIn + (double)fanOut));
    }

    /// <summary>Fills a rows × columns matrix (fan_out = rows, fan_in = columns) with U(±√(6 / (fan_in + fan_out))).</summary>
    public static void XavierUniform(Span<float> weights, int rows, int columns, DeterministicRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        CheckShape(weights, rows, columns);
        double bound = XavierBound(columns, rows);
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = (float)((2.0 * random.NextDouble() - 1.0) * bound);
        }
    }

    /// <summary>Fills <paramref name="weights"/> with N(0, standardDeviation²) draws.</summary>
    public static void Normal(Span<float> weights, double standardDeviation, DeterministicRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (!(standardDeviation >= 0) || !double.IsFinite(standardDeviation))
        {
            throw new ArgumentOutOfRangeException(nameof(standardDeviation), standardDeviation, "must be finite and non-negative.");
        }
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = (float)(standardDeviation * random.NextNormal());
        }
    }

    /// <summary>Fills a rows × columns matrix by the given scheme.</summary>
    public static void Fill(Span<float> weights, int rows, int columns, InitScheme scheme, DeterministicRandom random)
    {
        CheckShape(weights, rows, columns);
        switch (scheme)
        {
            case InitScheme.Xavier: XavierUniform(weights, rows, columns, random); break;
            case InitScheme.Naive: Normal(weights, NaiveStandardDeviation, random); break;
            default: throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "unknown initialization scheme.");
        }
    }

    /// <summary>Parses "xavier" or "naive" (case-insensitive).</summary>
    /// <exception cref="FormatException">Unknown name; the message lists the valid names.</exception>
    public static InitScheme ParseScheme(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var trimmed = name.Trim();
        for (int i = 0; i < ValidSchemeNames.Length; i++)
        {
            if (string.Equals(trimmed, ValidSchemeNames[i], StringComparison.OrdinalIgnoreCase))
            {
                return (InitScheme)i;
            }
        }
        throw new FormatException($"unknown initialization '{name}'; valid names are: {string.Join(", ", ValidSchemeNames)}.");
    }

    private static void CheckShape(Span<float> weights, int rows, int columns)
    {
        if (rows < 1 || columns < 1 || weights.Length != rows * columns)
        {
            throw new ArgumentException($"weights hold {weights.Length} values but the shape is {rows}×{columns}.", nameof(weights));
        }
    }
}
