using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace PlasticityDsl.Runtime.Recurrent;

/// <summary>
/// Trains one <see cref="RecurrentNetwork"/> online (one sequence per step) on sequences of a fixed length T, with a
/// recurrent plasticity rule and backpropagation through time. Owns a preallocated workspace, so <see cref="Step"/> and
/// <see cref="Predict"/> allocate nothing once the kernel scratch has been sized for the rule (by the constructor,
/// <see cref="Prepare"/> or the first step).
/// </summary>
/// <remarks>
/// The loss is the cross-entropy of softmax(y_T) at the last step only. Each step computes, from the pre-update
/// weights, z_1…z_T, y_T = Wo f(z_T), e_o = softmax(y_T) − onehot, and the BPTT errors e_T = (Woᵀ e_o) ⊙ f'(z_T),
/// e_t = (Whᵀ e_(t+1)) ⊙ f'(z_t) (Eq. 5; e_t = ∂L/∂z_t). The rule then updates the matrices it has targets for, and
/// every other matrix takes a plain gradient step −η ∂L/∂W: ∂L/∂Wh = Σ_(t=1)^(T−1) e_(t+1) f(z_t)ᵀ,
/// ∂L/∂Wx = Σ_(t=1)^T e_t x_tᵀ, ∂L/∂Wo = e_o f(z_T)ᵀ. So the paper's rules, which update Wh only, train Wx and Wo by
/// gradient descent; a rule that writes dWx or dWo takes those over.
/// <para>Input rows that are all zero cost nothing, and a row equal to the one before reuses its Wx x_t (the
/// delayed-memory task shows one image for several steps, then zeros). Not thread-safe.</para>
/// </remarks>
public sealed class RecurrentLearner
{
    private readonly float[] _z; // z_1 … z_T, T × n_h: row t − 1 is step t
    private readonly float[] _y; // f(z_1) … f(z_T)
    private readonly float[] _e; // e_1 … e_T
    private readonly InputRow[] _inputRows;
    private readonly float[] _drive; // Wx x_t of the last non-zero input row
    private readonly float[] _derivative; // f'(z_t)
    private readonly float[] _errorSum; // Σ e_t over a run of equal input rows
    private readonly float[] _output; // y_T = Wo f(z_T)
    private readonly float[] _outputError; // e_o
    private float[] _scratch = [];
    private long _stepCount;

    private enum InputRow : byte
    {
        Zero,
        Repeat,
        New,
    }

    /// <summary>A learner for <paramref name="network"/> on sequences of <paramref name="steps"/> = T steps; it updates the weights in place.</summary>
    /// <param name="rule">If given, the kernel scratch is sized for it now, so that even the first step allocates nothing.</param>
    public RecurrentLearner(RecurrentNetwork network, int steps, IRecurrentRule? rule = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        Network = network;
        Steps = steps;
        int hidden = network.Hidden;
        if ((long)steps * Math.Max(hidden, network.Inputs) > Array.MaxLength)
        {
            throw new ArgumentException($"T = {steps} steps of {Math.Max(hidden, network.Inputs)} values do not fit in an array.", nameof(steps));
        }
        _z = new float[steps * hidden];
        _y = new float[steps * hidden];
        _e = new float[steps * hidden];
        _inputRows = new InputRow[steps];
        _drive = new float[hidden];
        _derivative = new float[hidden];
        _errorSum = new float[hidden];
        _output = new float[network.Outputs];
        _outputError = new float[network.Outputs];
        if (rule is not null)
        {
            Prepare(rule);
        }
    }

    /// <summary>The network trained in place.</summary>
    public RecurrentNetwork Network { get; }

    /// <summary>T, the length of every sequence.</summary>
    public int Steps { get; }

    /// <summary>Sequences seen by <see cref="Step"/> (the k-th step makes this k); it names the step in <see cref="TrainingDivergedException"/>.</summary>
    public long StepCount
    {
        get => _stepCount;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _stepCount = value;
        }
    }

    /// <summary>Cross-entropy −log softmax(y_T)[label] of the last step, from the pre-update forward pass.</summary>
    public float LastLoss { get; private set; }

    /// <summary>z_1 … z_T (T × n_h, row t − 1 is step t) of the last forward pass.</summary>
    public ReadOnlySpan<float> HiddenStates => _z;

    /// <summary>e_1 … e_T (T × n_h) of the last step.</summary>
    public ReadOnlySpan<float> Errors => _e;

    /// <summary>Sizes the kernel scratch for <paramref name="rule"/> (allocates only if it grows).</summary>
    public void Prepare(IRecurrentRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        EnsureScratch(rule);
    }

    /// <summary>
    /// One online step on (<paramref name="sequence"/>, <paramref name="label"/>): forward pass, BPTT errors, then the
    /// rule's updates and a gradient step of size <paramref name="gradientRate"/> on every matrix the rule leaves
    /// alone, all computed from the pre-update weights.
    /// </summary>
    /// <param name="sequence">x_1 … x_T, T × n_x row-major (row t − 1 is step t).</param>
    /// <param name="label">The class, 0 … n_o − 1, read at step T.</param>
    /// <param name="rule">The recurrent plasticity rule.</param>
    /// <param name="theta">The coefficients t_0 … t_9, then the rule's parameters.</param>
    /// <param name="gradientRate">η ≥ 0: W −= η ∂L/∂W for each of Wh, Wx, Wo that the rule has no target for (0: they stay fixed).</param>
    /// <exception cref="TrainingDivergedException">A weight became NaN or ±∞ (the message names Wh, Wx or Wo); the network should be discarded.</exception>
    public void Step(ReadOnlySpan<float> sequence, int label, IRecurrentRule rule, ReadOnlySpan<float> theta, float gradientRate)
    {
        ArgumentNullException.ThrowIfNull(rule);
        RecurrentNetwork network = Network;
        if ((uint)label >= (uint)network.Outputs)
        {
            throw new ArgumentOutOfRangeException(nameof(label), label, $"label must be in 0 … {network.Outputs - 1}.");
        }
        if (!(gradientRate >= 0f) || !float.IsFinite(gradientRate))
        {
            throw new ArgumentOutOfRangeException(nameof(gradientRate), gradientRate, "the gradient rate must be finite and non-negative.");
        }
        CheckTheta(rule, theta);

        ForwardCore(sequence);
        LastLoss = Loss.CrossEntropy(_output, label);
        ComputeErrors(label);
        _stepCount++;

        int need = EnsureScratch(rule);
        var signals = new RecurrentSignals(network.RecurrentWeights, network.InputWeights, network.ReadoutWeights,
            network.Hidden, network.Inputs, network.Outputs, Steps, _z, sequence, _e, _output, _outputError, network.Activation);
        rule.Apply(in signals, theta, _scratch.AsSpan(0, need));
        // The gradient steps read signals only, never weights, so taking them after the rule's in-place update
        // equals computing every update from the pre-update weights.
        bool descend = gradientRate != 0f;
        bool ruleWh = Updates(rule, "dWh"), ruleWx = Updates(rule, "dWx"), ruleWo = Updates(rule, "dWo");
        if (descend && !ruleWh) DescendRecurrent(gradientRate);
        if (descend && !ruleWx) DescendInput(sequence, gradientRate);
        if (descend && !ruleWo) DescendReadout(gradientRate);

        // Only a matrix that changed can have become non-finite.
        if (ruleWh || descend) CheckFinite(network.RecurrentWeights, "Wh");
        if (ruleWx || descend) CheckFinite(network.InputWeights, "Wx");
        if (ruleWo || descend) CheckFinite(network.ReadoutWeights, "Wo");
    }

    /// <summary>Runs the forward pass on <paramref name="sequence"/> (T × n_x), leaving z in <see cref="HiddenStates"/>.</summary>
    public void Forward(ReadOnlySpan<float> sequence) => ForwardCore(sequence);

    /// <summary>The predicted class argmax y_T (forward pass only; the first index on ties).</summary>
    public int Predict(ReadOnlySpan<float> sequence)
    {
        ForwardCore(sequence);
        return KernelPrimitives.ArgMax(_output); // softmax is monotone
    }

    private void ForwardCore(ReadOnlySpan<float> sequence)
    {
        RecurrentNetwork network = Network;
        int inputs = network.Inputs, hidden = network.Hidden;
        if (sequence.Length != Steps * inputs)
        {
            throw new ArgumentException($"the sequence must have T × n_x = {Steps} × {inputs} values, got {sequence.Length}.", nameof(sequence));
        }
        ClassifyInputRows(sequence);
        for (int t = 0; t < Steps; t++)
        {
            Span<float> z = _z.AsSpan(t * hidden, hidden);
            if (t == 0)
            {
                z.Clear(); // z_0 = 0, so Wh f(z_0) is omitted: z_1 = Wx x_1
            }
            else
            {
                KernelPrimitives.MultiplyVector(network.RecurrentWeights, hidden, hidden, _y.AsSpan((t - 1) * hidden, hidden), z);
            }
            if (_inputRows[t] == InputRow.New)
            {
                KernelPrimitives.MultiplyVector(network.InputWeights, hidden, inputs, sequence.Slice(t * inputs, inputs), _drive);
            }
            if (_inputRows[t] != InputRow.Zero)
            {
                TensorPrimitives.Add(z, _drive, z);
            }
            network.Activation.Apply(z, _y.AsSpan(t * hidden, hidden));
        }

        KernelPrimitives.MultiplyVector(network.ReadoutWeights, network.Outputs, hidden, LastActivity, _output);
    }

    private ReadOnlySpan<float> LastActivity => _y.AsSpan((Steps - 1) * Network.Hidden, Network.Hidden);

    private void ClassifyInputRows(ReadOnlySpan<float> sequence)
    {
        int inputs = Network.Inputs;
        for (int t = 0; t < Steps; t++)
        {
            ReadOnlySpan<float> row = sequence.Slice(t * inputs, inputs);
            float largest = TensorPrimitives.MaxMagnitude(row); // NaN if any entry is NaN
            if (!float.IsFinite(largest))
            {
                throw new ArgumentException($"the input of step {t + 1} has a non-finite value (NaN or ±∞).", nameof(sequence));
            }
            _inputRows[t] = largest == 0f ? InputRow.Zero
                : t > 0 && _inputRows[t - 1] != InputRow.Zero && SameBits(row, sequence.Slice((t - 1) * inputs, inputs)) ? InputRow.Repeat
                : InputRow.New;
        }
    }

    // Bitwise comparison is vectorized (float equality is not) and, with no NaN present, implies equal values.
    private static bool SameBits(ReadOnlySpan<float> a, ReadOnlySpan<float> b) =>
        MemoryMarshal.AsBytes(a).SequenceEqual(MemoryMarshal.AsBytes(b));

    private void ComputeErrors(int label)
    {
        RecurrentNetwork network = Network;
        int hidden = network.Hidden;
        // e_o = softmax(y_T) − onehot(label)
        KernelPrimitives.Softmax(_output, _outputError);
        _outputError[label] -= 1f;
        // e_T = (Woᵀ e_o) ⊙ f'(z_T), then e_t = (Whᵀ e_(t+1)) ⊙ f'(z_t) for t = T−1 … 1
        for (int t = Steps - 1; t >= 0; t--)
        {
            Span<float> e = _e.AsSpan(t * hidden, hidden);
            if (t == Steps - 1)
            {
                KernelPrimitives.MultiplyTransposedVector(network.ReadoutWeights, network.Outputs, hidden, _outputError, e);
            }
            else
            {
                KernelPrimitives.MultiplyTransposedVector(network.RecurrentWeights, hidden, hidden, _e.AsSpan((t + 1) * hidden, hidden), e);
            }
            network.Activation.Derivative(_z.AsSpan(t * hidden, hidden), _derivative);
            TensorPrimitives.Multiply(e, _derivative, e);
        }
    }

    // Wh −= η Σ_(t=1)^(T−1) e_(t+1) f(z_t)ᵀ
    private void DescendRecurrent(float rate)
    {
        int hidden = Network.Hidden;
        Span<float> weights = Network.RecurrentWeights;
        for (int i = 0; i < hidden; i++)
        {
            Span<float> row = weights.Slice(i * hidden, hidden);
            for (int t = 0; t + 1 < Steps; t++)
            {
                KernelPrimitives.AddScaled(row, -rate * _e[(t + 1) * hidden + i], _y.AsSpan(t * hidden, hidden));
            }
        }
    }

    // Wx −= η Σ_(t=1)^T e_t x_tᵀ; over a run of equal input rows this is (Σ e_t) xᵀ, one rank-one update.
    private void DescendInput(ReadOnlySpan<float> sequence, float rate)
    {
        int hidden = Network.Hidden, inputs = Network.Inputs;
        int runStart = -1;
        for (int t = 0; t <= Steps; t++)
        {
            InputRow kind = t < Steps ? _inputRows[t] : InputRow.Zero;
            if (kind == InputRow.Repeat)
            {
                TensorPrimitives.Add(_errorSum, _e.AsSpan(t * hidden, hidden), _errorSum);
                continue;
            }
            if (runStart >= 0)
            {
                AddOuterProduct(Network.InputWeights, hidden, -rate, _errorSum, sequence.Slice(runStart * inputs, inputs));
                runStart = -1;
            }
            if (kind == InputRow.New)
            {
                runStart = t;
                _e.AsSpan(t * hidden, hidden).CopyTo(_errorSum);
            }
        }
    }

    // Wo −= η e_o f(z_T)ᵀ
    private void DescendReadout(float rate) =>
        AddOuterProduct(Network.ReadoutWeights, Network.Outputs, -rate, _outputError, LastActivity);

    // W += scale · a bᵀ
    private static void AddOuterProduct(Span<float> weights, int rows, float scale, ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int columns = b.Length;
        for (int i = 0; i < rows; i++)
        {
            KernelPrimitives.AddScaled(weights.Slice(i * columns, columns), scale * a[i], b);
        }
    }

    private static bool Updates(IRecurrentRule rule, string target)
    {
        IReadOnlyList<string> targets = rule.Targets;
        for (int i = 0; i < targets.Count; i++)
        {
            if (targets[i] == target) return true;
        }
        return false;
    }

    private void CheckFinite(ReadOnlySpan<float> weights, string matrix)
    {
        if (!KernelPrimitives.AllFinite(weights))
        {
            throw new TrainingDivergedException(matrix, _stepCount);
        }
    }

    private int EnsureScratch(IRecurrentRule rule)
    {
        RecurrentNetwork network = Network;
        int need = rule.ScratchLength(network.Hidden, network.Inputs, network.Outputs, Steps);
        if (need < 0)
        {
            throw new InvalidOperationException($"rule '{rule.Name}' asked for negative scratch ({need}).");
        }
        if (_scratch.Length < need)
        {
            _scratch = new float[need];
        }
        return need;
    }

    private static void CheckTheta(IRecurrentRule rule, ReadOnlySpan<float> theta)
    {
        IReadOnlyList<int> coefficients = rule.Coefficients;
        for (int i = 0; i < coefficients.Count; i++)
        {
            int k = coefficients[i];
            if ((uint)k >= (uint)theta.Length)
            {
                throw new ArgumentException($"rule '{rule.Name}' reads t{k} but θ has {theta.Length} entries.", nameof(theta));
            }
        }
    }
}
