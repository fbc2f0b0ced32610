using PlasticityDsl.Runtime.Data;

namespace PlasticityDsl.Runtime.Instruments;

/// <summary>
/// Frobenius norms of one step's weight update per layer W_l, averaged over probe samples (Figure S1).
/// </summary>
/// <param name="ByCoefficient">For each coefficient t_k the rule reads (key k): ‖ΔW_l‖ with every other t set to 0.
/// For bp and bp_oja, key 0 is the backprop component ‖ΔW_BP‖ = ‖t0 e_l y_(l−1)ᵀ‖.</param>
/// <param name="Total">‖ΔW_l‖ with θ as given.</param>
/// <param name="Interaction">‖ΔW_l − Σ_k ΔW_l|t_k‖: the part of the update the per-coefficient parts do not add up to.
/// Round-off for rules linear in θ with one coefficient per term; larger values mean the decomposition does not apply.</param>
public sealed record UpdateNormProfile(IReadOnlyDictionary<int, LayerProfile> ByCoefficient, LayerProfile Total, LayerProfile Interaction)
{
    /// <summary>All profiles as rows of a training log, taken after <paramref name="samples"/> training samples.</summary>
    public IEnumerable<LayerMeasurement> At(long samples) =>
        ByCoefficient.Values.Append(Total).Append(Interaction).SelectMany(profile => profile.At(samples));
}

/// <summary>
/// How large a rule's updates are, and how much of them each coefficient contributes (Figure S1: ‖ΔW_BP‖ and ‖ΔW‖).
/// Off the hot path: the rule's kernel is applied to scratch copies of W_l (and B_l) once per coefficient with θ
/// masked to that coefficient, and once with all of θ; ΔW is the change it makes to the copy.
/// </summary>
/// <remarks>
/// <para>Splitting ΔW by coefficient assumes ΔW is linear in θ with each term carrying a single coefficient, so that
/// ΔW = Σ_k ΔW|t_k. Every built-in rule has that form (bp, bp_oja, eq9, oja, oja_single, hebb_decay, anti_hebbian,
/// kolen_pollack, weight_mirror, covariance); a rule with a term such as t0*t2*… does not, and
/// <see cref="UpdateNormProfile.Interaction"/> then measures by how much. Named parameters (<c>param</c>) are constants
/// of the terms, not coefficients of their own: they keep their θ values in every part.</para>
/// <para>The signals are those of a training step from the current weights: the forward pass, then errors carried down
/// through the feedback matrices when given (W otherwise). ΔW is the update as a float step applies it: entries far
/// below W's precision are lost here exactly as in training. Norms are averaged over samples, not taken of an averaged
/// update, since each online step applies one sample's update.</para>
/// </remarks>
public static class UpdateNorms
{
    public const string TotalQuantity = "update_norm_total";
    public const string InteractionQuantity = "update_norm_interaction";

    /// <summary>The quantity name of the part of coefficient <paramref name="coefficientName"/>, e.g. <c>update_norm_t0</c>.</summary>
    public static string CoefficientQuantity(string coefficientName) => "update_norm_" + coefficientName;

    /// <summary>Update norms of every layer over the probe samples (<paramref name="inputs"/>, n_0 values each, and their labels).</summary>
    /// <param name="feedback">B_1 … B_L (W's shapes), or null or empty when errors travel through W (backprop).</param>
    public static UpdateNormProfile Measure(Mlp network, IReadOnlyList<float[]>? feedback, ReadOnlySpan<float> inputs, ReadOnlySpan<byte> labels,
        IPlasticityRule rule, ReadOnlySpan<float> theta)
    {
        ArgumentNullException.ThrowIfNull(rule);
        int count = ProbeSignals.SampleCount(network, inputs, labels);
        IReadOnlyList<float[]> backward = ProbeSignals.BackwardMatrices(network, feedback);
        bool separateFeedback = !ReferenceEquals(backward, network.Weights);
        if (!separateFeedback && (rule.Signals & (RuleSignals.Feedback | RuleSignals.FeedbackUpdate)) != 0)
        {
            throw new ArgumentException($"rule '{rule.Name}' reads or updates B; give the feedback matrices B_1 … B_L.", nameof(feedback));
        }
        foreach (int k in rule.Coefficients)
        {
            if (k >= theta.Length)
            {
                throw new ArgumentException($"rule '{rule.Name}' reads θ[{k}] but θ has {theta.Length} entries.", nameof(theta));
            }
        }

        int[] coefficients = rule.Coefficients.Where(k => !rule.Parameters.Any(p => p.Index == k)).ToArray();
        float[] full = theta.ToArray();
        float[][] masked = coefficients.Select(k => Mask(full, coefficients, k)).ToArray();

        int layers = network.LayerCount;
        var probe = new ProbeSignals(network);
        float[][] errors = probe.NewErrors();
        int largest = network.Weights.Max(w => w.Length);
        var weightsCopy = new float[largest];
        var feedbackCopy = new float[separateFeedback ? largest : 0];
        var partsSum = new double[largest];
        var kernelScratch = new float[Enumerable.Range(1, layers).Max(l => rule.ScratchLength(network.LayerSizes[l], network.LayerSizes[l - 1]))];
        var coefficientSums = new double[coefficients.Length, layers];
        var totalSums = new double[layers];
        var interactionSums = new double[layers];

        for (int i = 0; i < count; i++)
        {
            probe.Forward(inputs.Slice(i * network.InputSize, network.InputSize));
            probe.ComputeErrors(labels[i], backward, errors);
            for (int l = 1; l <= layers; l++)
            {
                float[] w = network.Weights[l - 1];
                Span<float> updated = weightsCopy.AsSpan(0, w.Length);
                Span<float> b = feedbackCopy.AsSpan(0, separateFeedback ? w.Length : 0);
                Span<double> parts = partsSum.AsSpan(0, w.Length);
                parts.Clear();
                for (int k = 0; k < coefficients.Length; k++)
                {
                    ApplyToCopies(probe, errors, l, rule, masked[k], backward, separateFeedback, updated, b, kernelScratch);
                    coefficientSums[k, l - 1] += ChangeNorm(updated, w, parts);
                }
                ApplyToCopies(probe, errors, l, rule, full, backward, separateFeedback, updated, b, kernelScratch);
                totalSums[l - 1] += ChangeNorm(updated, w, default);
                interactionSums[l - 1] += ResidualNorm(updated, w, parts);
            }
        }

        int[] layerNumbers = Enumerable.Range(1, layers).ToArray();
        LayerProfile Profile(string quantity, Func<int, double> sum) =>
            new(quantity, layerNumbers, layerNumbers.Select(l => sum(l - 1) / count).ToArray());
        var byCoefficient = new SortedDictionary<int, LayerProfile>();
        for (int k = 0; k < coefficients.Length; k++)
        {
            int index = k;
            byCoefficient[coefficients[k]] = Profile(CoefficientQuantity(rule.CoefficientName(coefficients[k])), l => coefficientSums[index, l]);
        }
        return new UpdateNormProfile(byCoefficient, Profile(TotalQuantity, l => totalSums[l]), Profile(InteractionQuantity, l => interactionSums[l]));
    }

    /// <summary>Update norms of every layer over the images and labels of <paramref name="probe"/>.</summary>
    public static UpdateNormProfile Measure(Mlp network, IReadOnlyList<float[]>? feedback, Dataset probe, IPlasticityRule rule, ReadOnlySpan<float> theta)
    {
        ArgumentNullException.ThrowIfNull(probe);
        return Measure(network, feedback, probe.Images, probe.Labels, rule, theta);
    }

    // θ with every coefficient of the rule but t_keep set to 0; parameters and unread entries unchanged.
    private static float[] Mask(float[] theta, int[] coefficients, int keep)
    {
        float[] masked = (float[])theta.Clone();
        foreach (int k in coefficients)
        {
            if (k != keep) masked[k] = 0f;
        }
        return masked;
    }

    // Copies W_l (and B_l) into the scratch copies and applies the rule's kernel to them with the sample's signals.
    private static void ApplyToCopies(ProbeSignals probe, float[][] errors, int layer, IPlasticityRule rule, float[] theta,
        IReadOnlyList<float[]> backward, bool separateFeedback, Span<float> weights, Span<float> feedback, float[] kernelScratch)
    {
        probe.Network.Weights[layer - 1].CopyTo(weights);
        if (separateFeedback) backward[layer - 1].CopyTo(feedback);
        var signals = new LayerSignals(weights, feedback, probe.Size(layer), probe.Size(layer - 1),
            probe.Activations(layer), probe.Activations(layer - 1), probe.PreActivations(layer), errors[layer], errors[layer - 1],
            probe.Network.Activation) { State = StateCopy(probe, layer, rule) };
        rule.Apply(in signals, theta, kernelScratch);
    }

    // The kernel updates a rule's state in place too: it gets a copy of the network's (its initial values before a first step).
    private static float[] StateCopy(ProbeSignals probe, int layer, IPlasticityRule rule)
    {
        int rows = probe.Size(layer), columns = probe.Size(layer - 1);
        int length = rule.StateLength(rows, columns);
        if (length == 0) return [];
        float[] state = probe.Network.State[layer - 1].Length == length ? (float[])probe.Network.State[layer - 1].Clone() : new float[length];
        if (probe.Network.State[layer - 1].Length != length) rule.InitializeState(state, rows, columns);
        return state;
    }

    // ‖updated − original‖_F; adds updated − original to accumulate unless it is empty.
    private static double ChangeNorm(ReadOnlySpan<float> updated, ReadOnlySpan<float> original, Span<double> accumulate)
    {
        double sum = 0;
        for (int j = 0; j < original.Length; j++)
        {
            double change = (double)updated[j] - original[j];
            if (!accumulate.IsEmpty) accumulate[j] += change;
            sum += change * change;
        }
        return Math.Sqrt(sum);
    }

    // ‖(updated − original) − parts‖_F.
    private static double ResidualNorm(ReadOnlySpan<float> updated, ReadOnlySpan<float> original, ReadOnlySpan<double> parts)
    {
        double sum = 0;
        for (int j = 0; j < original.Length; j++)
        {
            double residual = (double)updated[j] - original[j] - parts[j];
            sum += residual * residual;
        }
        return Math.Sqrt(sum);
    }
}
