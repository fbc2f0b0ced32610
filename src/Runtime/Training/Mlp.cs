namespace PlasticityDsl.Runtime;

/// <summary>
/// A bias-free multilayer perceptron n_0-n_1-…-n_L: hidden layers y_l = σ(W_l y_(l−1)), output y_L = softmax(W_L y_(L−1)).
/// <see cref="Weights"/>[l − 1] is W_l, row-major n_l × n_(l−1). The arrays are fixed at construction; their
/// contents change in place (training, <see cref="LoadWeights"/>, <see cref="Initialize(InitScheme, ulong)"/>).
/// </summary>
public sealed class Mlp
{
    private readonly int[] _sizes;

    /// <summary>A network with layer sizes n_0 … n_L and softplus (β = 10) hidden units; weights start at zero.</summary>
    public Mlp(ReadOnlySpan<int> layerSizes) : this(layerSizes, Activation.Softplus)
    {
    }

    /// <summary>A network with layer sizes n_0 … n_L (at least two entries, each ≥ 1); weights start at zero.</summary>
    public Mlp(ReadOnlySpan<int> layerSizes, Activation activation)
    {
        ArgumentNullException.ThrowIfNull(activation);
        if (layerSizes.Length < 2)
        {
            throw new ArgumentException(
                $"an MLP needs at least two layer sizes (input and output), got {layerSizes.Length}: [{string.Join(", ", layerSizes.ToArray())}].",
                nameof(layerSizes));
        }
        for (int l = 0; l < layerSizes.Length; l++)
        {
            if (layerSizes[l] < 1)
            {
                throw new ArgumentException(
                    $"layer size n_{l} must be at least 1, got {layerSizes[l]} in [{string.Join(", ", layerSizes.ToArray())}].",
                    nameof(layerSizes));
            }
        }
        _sizes = layerSizes.ToArray();
        LayerSizes = Array.AsReadOnly(_sizes);
        Activation = activation;
        Weights = new float[_sizes.Length - 1][];
        long total = 0;
        for (int l = 1; l < _sizes.Length; l++)
        {
            long count = (long)_sizes[l] * _sizes[l - 1];
            if (count > Array.MaxLength)
            {
                throw new ArgumentException($"W_{l} would hold {count} values ({_sizes[l]}×{_sizes[l - 1]}), more than an array can.", nameof(layerSizes));
            }
            Weights[l - 1] = new float[count];
            total += count;
        }
        ParameterCount = total;
    }

    /// <summary>n_0 … n_L.</summary>
    public IReadOnlyList<int> LayerSizes { get; }

    /// <summary>L, the number of weight matrices.</summary>
    public int LayerCount => _sizes.Length - 1;

    /// <summary>n_0.</summary>
    public int InputSize => _sizes[0];

    /// <summary>n_L, the number of classes.</summary>
    public int OutputSize => _sizes[^1];

    /// <summary>σ of the hidden layers.</summary>
    public Activation Activation { get; }

    /// <summary>W_1 … W_L: <c>Weights[l - 1]</c> is W_l, row-major <c>LayerSizes[l]</c> × <c>LayerSizes[l - 1]</c>.</summary>
    public float[][] Weights { get; }

    /// <summary>Total number of weights.</summary>
    public long ParameterCount { get; }

    /// <summary>Draws every W_l (l = 1 … L, in order) from a fresh generator seeded with <paramref name="seed"/>.</summary>
    public void Initialize(InitScheme scheme, ulong seed) => Initialize(scheme, new DeterministicRandom(seed));

    /// <summary>Draws every W_l (l = 1 … L, in order) from <paramref name="random"/>, advancing it.</summary>
    public void Initialize(InitScheme scheme, DeterministicRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        for (int l = 1; l <= LayerCount; l++)
        {
            Initialization.Fill(Weights[l - 1], _sizes[l], _sizes[l - 1], scheme, random);
        }
    }

    /// <summary>Copies <paramref name="weights"/> (W_1 … W_L, same shapes) into <see cref="Weights"/>.</summary>
    public void LoadWeights(IReadOnlyList<float[]> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Count != LayerCount)
        {
            throw new ArgumentException($"expected {LayerCount} weight matrices for {this}, got {weights.Count}.", nameof(weights));
        }
        for (int l = 1; l <= LayerCount; l++)
        {
            var source = weights[l - 1] ?? throw new ArgumentException($"W_{l} is null.", nameof(weights));
            if (source.Length != Weights[l - 1].Length)
            {
                throw new ArgumentException(
                    $"W_{l} must hold {_sizes[l]}×{_sizes[l - 1]} = {Weights[l - 1].Length} values, got {source.Length}.", nameof(weights));
            }
        }
        for (int l = 0; l < LayerCount; l++)
        {
            weights[l].AsSpan().CopyTo(Weights[l]);
        }
    }

    /// <summary>Copies the weights of another network of the same sizes.</summary>
    public void LoadWeights(Mlp other)
    {
        ArgumentNullException.ThrowIfNull(other);
        LoadWeights(other.Weights);
    }

    /// <summary>A deep copy of W_1 … W_L.</summary>
    public float[][] CopyWeights()
    {
        var copy = new float[LayerCount][];
        for (int l = 0; l < LayerCount; l++)
        {
            copy[l] = (float[])Weights[l].Clone();
        }
        return copy;
    }

    /// <summary>Copies W_1 … W_L into preallocated arrays of the same shapes (no allocation).</summary>
    public void CopyWeightsTo(IReadOnlyList<float[]> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.Count != LayerCount)
        {
            throw new ArgumentException($"expected {LayerCount} destination matrices, got {destination.Count}.", nameof(destination));
        }
        for (int l = 0; l < LayerCount; l++)
        {
            if (destination[l] is null || destination[l].Length != Weights[l].Length)
            {
                throw new ArgumentException($"destination W_{l + 1} must hold {Weights[l].Length} values.", nameof(destination));
            }
            Weights[l].AsSpan().CopyTo(destination[l]);
        }
    }

    /// <summary>A network with the same sizes and activation and a copy of the weights.</summary>
    public Mlp Clone()
    {
        var clone = new Mlp(_sizes, Activation);
        clone.LoadWeights(Weights);
        return clone;
    }

    /// <summary>Whether <paramref name="other"/> has the same layer sizes.</summary>
    public bool HasSameShape(Mlp other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return _sizes.AsSpan().SequenceEqual(other._sizes);
    }

    /// <summary>E.g. "784-170-130-100-70-10 softplus".</summary>
    public override string ToString() => $"{string.Join("-", _sizes)} {Activation}";
}
