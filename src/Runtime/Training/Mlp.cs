namespace PlasticityDsl.Runtime;

/// <summary>
/// A bias-free multilayer perceptron n_0-n_1-…-n_L: hidden layers y_l = σ(W_l y_(l−1)), output y_L = softmax(W_L y_(L−1)).
/// <see cref="Weights"/>[l − 1] is W_l, row-major n_l × n_(l−1). The arrays are fixed at construction; their
/// contents change in place (training, <see cref="LoadWeights"/>, <see cref="Initialize(InitScheme, ulong)"/>).
/// With <see cref="FeedbackMode.Random"/> the network also has feedback weights B_1 … B_L (<see cref="Feedback"/>),
/// which carry errors down in place of W.
/// </summary>
public sealed class Mlp
{
    private readonly int[] _sizes;

    /// <summary>A network with layer sizes n_0 … n_L and softplus (β = 10) hidden units; weights start at zero.</summary>
    public Mlp(ReadOnlySpan<int> layerSizes) : this(layerSizes, Activation.Softplus)
    {
    }

    /// <summary>A network with layer sizes n_0 … n_L (at least two entries, each ≥ 1); weights start at zero.</summary>
    /// <param name="feedback">Whether errors travel down through W (backprop) or through separate matrices B.</param>
    public Mlp(ReadOnlySpan<int> layerSizes, Activation activation, FeedbackMode feedback = FeedbackMode.Symmetric)
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
        FeedbackMode = feedback;
        Feedback = feedback == FeedbackMode.Symmetric ? [] : Weights.Select(w => new float[w.Length]).ToArray();
        State = Weights.Select(_ => Array.Empty<float>()).ToArray();
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

    /// <summary>How errors travel down: through W (backprop) or through <see cref="Feedback"/>.</summary>
    public FeedbackMode FeedbackMode { get; }

    /// <summary>Whether the network has feedback weights B of its own.</summary>
    public bool HasSeparateFeedback => FeedbackMode != FeedbackMode.Symmetric;

    /// <summary>B_1 … B_L in W's shapes (<c>Feedback[l - 1]</c> is B_l); empty with <see cref="FeedbackMode.Symmetric"/>.</summary>
    public float[][] Feedback { get; }

    /// <summary>
    /// The per-layer state of the rule that trains the network (its <c>state</c> variables), S_1 … S_L: empty until a
    /// learner sizes it for its rule with <see cref="ResetState"/>, and emptied again by new weights
    /// (<see cref="Initialize"/>, <see cref="LoadWeights(IReadOnlyList{float[]})"/>), so that a run from them starts
    /// from the rule's initial values.
    /// </summary>
    public float[][] State { get; }

    /// <summary>Sizes the state of every layer for <paramref name="rule"/> and sets it to the rule's initial values.</summary>
    public void ResetState(IPlasticityRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        for (int l = 1; l <= LayerCount; l++)
        {
            int length = rule.StateLength(_sizes[l], _sizes[l - 1]);
            if (State[l - 1].Length != length) State[l - 1] = new float[length];
            rule.InitializeState(State[l - 1], _sizes[l], _sizes[l - 1]);
        }
    }

    /// <summary>Copies saved state (S_1 … S_L, as <see cref="State"/> held it) into <see cref="State"/>.</summary>
    public void LoadState(IReadOnlyList<float[]> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Count != LayerCount) throw new ArgumentException($"expected the state of {LayerCount} layers for {this}, got {state.Count}.", nameof(state));
        for (int l = 0; l < LayerCount; l++) State[l] = (float[])state[l].Clone();
    }

    // New weights: the rule's state starts over, and a learner's forward pass prepared from the old weights is stale.
    private void ForgetState()
    {
        for (int l = 0; l < LayerCount; l++) State[l] = [];
        WeightsVersion++;
    }

    /// <summary>Counts the loads of new weights (<see cref="Initialize"/>, <see cref="LoadWeights(IReadOnlyList{float[]})"/>),
    /// so that <see cref="OnlineLearner"/> can tell whether a forward pass it prepared still belongs to these weights.</summary>
    internal long WeightsVersion { get; private set; }

    /// <summary>Total number of forward weights (B not counted).</summary>
    public long ParameterCount { get; }

    /// <summary>
    /// Draws every W_l (l = 1 … L, in order) from a fresh generator seeded with <paramref name="seed"/>, then, with
    /// separate feedback, every B_l Xavier-uniform from another stream of the same seed (<see cref="InitializeFeedback"/>).
    /// W does not depend on the feedback mode, so backprop and feedback alignment runs of one seed start from the same W.
    /// </summary>
    public void Initialize(InitScheme scheme, ulong seed)
    {
        var random = new DeterministicRandom(seed);
        for (int l = 1; l <= LayerCount; l++)
        {
            Initialization.Fill(Weights[l - 1], _sizes[l], _sizes[l - 1], scheme, random);
        }
        InitializeFeedback(seed);
        ForgetState();
    }

    /// <summary>Draws every B_l Xavier-uniform (fixed random feedback, as the predecessor's code), independently of W;
    /// nothing to do with symmetric feedback.</summary>
    public void InitializeFeedback(ulong seed)
    {
        var random = new DeterministicRandom(seed ^ FeedbackStream);
        for (int l = 1; l <= Feedback.Length; l++)
        {
            Initialization.XavierUniform(Feedback[l - 1], _sizes[l], _sizes[l - 1], random);
        }
    }

    private const ulong FeedbackStream = 0xFEEDBAC4_00000000UL;

    /// <summary>Copies <paramref name="feedback"/> (B_1 … B_L, W's shapes) into <see cref="Feedback"/>.</summary>
    public void LoadFeedback(IReadOnlyList<float[]> feedback)
    {
        ArgumentNullException.ThrowIfNull(feedback);
        if (!HasSeparateFeedback)
        {
            throw new InvalidOperationException($"{this} has symmetric feedback (B is W); it has no B to load.");
        }
        CopyChecked(feedback, Feedback, "B", nameof(feedback));
    }

    /// <summary>Copies <paramref name="weights"/> (W_1 … W_L, same shapes) into <see cref="Weights"/>.</summary>
    public void LoadWeights(IReadOnlyList<float[]> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        CopyChecked(weights, Weights, "W", nameof(weights));
        ForgetState();
    }

    // Checks every source matrix before copying any, so that a bad list leaves the network unchanged.
    private void CopyChecked(IReadOnlyList<float[]> source, float[][] destination, string symbol, string parameter)
    {
        if (source.Count != LayerCount)
        {
            throw new ArgumentException($"expected {LayerCount} {symbol} matrices for {this}, got {source.Count}.", parameter);
        }
        for (int l = 1; l <= LayerCount; l++)
        {
            var matrix = source[l - 1] ?? throw new ArgumentException($"{symbol}_{l} is null.", parameter);
            if (matrix.Length != destination[l - 1].Length)
            {
                throw new ArgumentException(
                    $"{symbol}_{l} must hold {_sizes[l]}×{_sizes[l - 1]} = {destination[l - 1].Length} values, got {matrix.Length}.", parameter);
            }
        }
        for (int l = 0; l < LayerCount; l++)
        {
            source[l].AsSpan().CopyTo(destination[l]);
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

    /// <summary>A network with the same sizes, activation and feedback mode and a copy of W (and B).</summary>
    public Mlp Clone()
    {
        var clone = new Mlp(_sizes, Activation, FeedbackMode);
        clone.LoadWeights(Weights);
        if (HasSeparateFeedback) clone.LoadFeedback(Feedback);
        clone.LoadState(State);
        return clone;
    }

    /// <summary>Whether <paramref name="other"/> has the same layer sizes.</summary>
    public bool HasSameShape(Mlp other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return _sizes.AsSpan().SequenceEqual(other._sizes);
    }

    /// <summary>E.g. "784-170-130-100-70-10 softplus" (with " fa" for random feedback).</summary>
    public override string ToString() => $"{string.Join("-", _sizes)} {Activation}{(HasSeparateFeedback ? " " + FeedbackModes.Name(FeedbackMode) : "")}";
}

/// <summary>How a network's errors travel down to the lower layers.</summary>
public enum FeedbackMode
{
    /// <summary><c>sym</c>: through W itself (B = W at every step): backprop.</summary>
    Symmetric,

    /// <summary><c>fa</c>: through separate matrices B, Xavier-initialized independently of W (feedback alignment). B stays
    /// fixed unless the rule has a <c>dB</c> statement, which makes it plastic.</summary>
    Random,
}

public static class FeedbackModes
{
    /// <summary>The names of the modes, as <see cref="Parse"/> reads them: sym, fa.</summary>
    public static IReadOnlyList<string> Names { get; } = ["sym", "fa"];

    public static string Name(FeedbackMode mode) => mode == FeedbackMode.Symmetric ? "sym" : "fa";

    /// <summary>Throws <see cref="ArgumentException"/> if <paramref name="rule"/> reads or updates B but <paramref name="mode"/>
    /// gives the network no B of its own.</summary>
    public static void CheckRule(FeedbackMode mode, IPlasticityRule rule)
    {
        if (mode == FeedbackMode.Symmetric && (rule.Signals & (RuleSignals.Feedback | RuleSignals.FeedbackUpdate)) != 0)
        {
            throw new ArgumentException($"rule '{rule.Name}' reads or updates B, but with sym feedback B is W itself (backprop); give the network separate feedback weights (FeedbackMode.Random).");
        }
    }

    /// <summary>Parses sym or fa; anything else is an <see cref="ArgumentException"/> listing both.</summary>
    public static FeedbackMode Parse(string name) => name switch
    {
        "sym" => FeedbackMode.Symmetric,
        "fa" => FeedbackMode.Random,
        _ => throw new ArgumentException($"feedback `{name}` is not one of sym (backprop), fa (fixed random B; plastic if the rule has dB)."),
    };
}
