using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace PlasticityDsl.Runtime;

/// <summary>
/// Trains one <see cref="Mlp"/> online (batch size 1) with a plasticity rule. Owns a preallocated workspace, so
/// <see cref="Step"/>, <see cref="Forward"/>, <see cref="Predict"/> and <see cref="Accuracy"/> allocate nothing
/// once the kernel scratch has been sized for the rule (by the constructor, <see cref="Prepare"/> or the first step) and,
/// for <see cref="Accuracy"/>, after its first call (which makes the evaluation buffers).
/// </summary>
/// <remarks>
/// One step is a function of (weights, sample, θ) alone: every signal is recomputed from the current weights, and the
/// only other state is <see cref="StepCount"/>, which names the step in <see cref="TrainingDivergedException"/>.
/// The workspace views (<see cref="Activations"/>, <see cref="PreActivations"/>, <see cref="Errors"/>) hold the
/// signals of the last forward pass (a step, <see cref="Forward"/>, <see cref="Predict"/> or <see cref="Accuracy"/>)
/// and the errors of the last step; they are overwritten by the next call. Not thread-safe.
/// </remarks>
public sealed class OnlineLearner
{
    private readonly int[] _sizes;
    private readonly float[][] _y;  // y_0 … y_L
    private readonly float[][] _z;  // z_1 … z_L at indices 1 … L; _z[0] is empty
    private readonly float[][] _e;  // e_0 … e_L
    private readonly float[] _derivative; // σ'(z_l) for the widest hidden layer
    private EvaluationSpace? _evaluation; // Accuracy's buffers, made by its first call
    private readonly float[][] _scratch; // kernel scratch of W_1 … W_L at indices 0 … L − 1
    private readonly float[][] _preparedY; // y_0 … y_L of the next sample, computed by the last step from its updated weights
    private readonly float[][] _preparedZ; // z_1 … z_L of the same pass; _preparedZ[0] is empty
    private bool _prepared; // whether _preparedY/_preparedZ hold that pass (see Step's next)
    private long _preparedVersion; // Network.WeightsVersion when they were computed
    private long _stepCount;

    /// <summary>A learner for <paramref name="network"/>, whose weights it updates in place.</summary>
    /// <param name="network">The network to train.</param>
    /// <param name="rule">If given, the kernel scratch is sized for it now, so that even the first step allocates nothing.</param>
    public OnlineLearner(Mlp network, IPlasticityRule? rule = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        Network = network;
        _sizes = new int[network.LayerSizes.Count];
        for (int l = 0; l < _sizes.Length; l++)
        {
            _sizes[l] = network.LayerSizes[l];
        }
        int layers = _sizes.Length - 1;
        _y = new float[layers + 1][];
        _z = new float[layers + 1][];
        _e = new float[layers + 1][];
        _preparedY = new float[layers + 1][];
        _preparedZ = new float[layers + 1][];
        int widestHidden = 0;
        for (int l = 0; l <= layers; l++)
        {
            _y[l] = new float[_sizes[l]];
            _z[l] = l == 0 ? [] : new float[_sizes[l]];
            _preparedY[l] = new float[_sizes[l]];
            _preparedZ[l] = l == 0 ? [] : new float[_sizes[l]];
            _e[l] = new float[_sizes[l]];
            if (l > 0 && l < layers)
            {
                widestHidden = Math.Max(widestHidden, _sizes[l]);
            }
        }
        _derivative = new float[widestHidden];
        _scratch = new float[layers][];
        for (int l = 0; l < layers; l++)
        {
            _scratch[l] = [];
        }
        if (rule is not null)
        {
            Prepare(rule);
        }
    }

    /// <summary>The network trained in place.</summary>
    public Mlp Network { get; }

    /// <summary>L.</summary>
    public int LayerCount => _sizes.Length - 1;

    /// <summary>Samples seen by <see cref="Step"/> (1-based numbering of steps: the k-th step makes this k). Settable to resume from a checkpoint.</summary>
    public long StepCount
    {
        get => _stepCount;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _stepCount = value;
        }
    }

    /// <summary>Cross-entropy −log y_L[label] of the last step, from the pre-update forward pass.</summary>
    public float LastLoss { get; private set; }

    /// <summary>Which errors the last step computed: <see cref="RuleSignals.None"/> (all e_l are zero),
    /// <see cref="RuleSignals.PostError"/> (e_1 … e_L; e_0 is zero) or both (e_0 … e_L).</summary>
    public RuleSignals ComputedErrors { get; private set; }

    /// <summary>y_l for l = 0 … L (y_0 = x, y_L = softmax output) of the last forward pass.</summary>
    public ReadOnlySpan<float> Activations(int layer)
    {
        CheckLayer(layer, 0);
        return _y[layer];
    }

    /// <summary>z_l = W_l y_(l−1) for l = 1 … L of the last forward pass.</summary>
    public ReadOnlySpan<float> PreActivations(int layer)
    {
        CheckLayer(layer, 1);
        return _z[layer];
    }

    /// <summary>e_l for l = 0 … L of the last step (zero where <see cref="ComputedErrors"/> says they were not computed).</summary>
    public ReadOnlySpan<float> Errors(int layer)
    {
        CheckLayer(layer, 0);
        return _e[layer];
    }

    /// <summary>Sizes the kernel scratch of every layer for <paramref name="rule"/> (allocates only if it grows).</summary>
    public void Prepare(IPlasticityRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        for (int l = 1; l <= LayerCount; l++)
        {
            EnsureScratch(rule, l);
        }
    }

    /// <summary>
    /// One online step on sample (<paramref name="x"/>, <paramref name="label"/>): forward pass, errors (only those
    /// <paramref name="rule"/> reads) carried down through B (W for backprop), then W_l += ΔW_l (and B_l += ΔB_l for
    /// a rule with dB) for every layer, all computed from the pre-update state.
    /// </summary>
    /// <param name="x">y_0, n_0 values (pixels already scaled to [0, 1]).</param>
    /// <param name="label">The class, 0 … n_L − 1.</param>
    /// <param name="rule">The plasticity rule.</param>
    /// <param name="theta">The coefficients t_0 … t_9.</param>
    /// <exception cref="TrainingDivergedException">A weight became NaN or ±∞ (the network is then partly updated and
    /// should be discarded), or the output z_L of the forward pass did (matrix "z").</exception>
    public void Step(ReadOnlySpan<float> x, int label, IPlasticityRule rule, ReadOnlySpan<float> theta) => Step(x, label, rule, theta, default);

    /// <summary>
    /// <see cref="Step(ReadOnlySpan{float}, int, IPlasticityRule, ReadOnlySpan{float})"/>, which also runs the forward
    /// pass of <paramref name="next"/>, the input of the following step, through each W_l right after its update, while
    /// W_l is still in cache; the following step on that input starts from this pass instead of reading every W_l again.
    /// Its results are bit for bit those of the step without <paramref name="next"/>.
    /// </summary>
    /// <param name="next">The next step's input (n_0 finite values), or empty for none. The prepared pass is used only
    /// if the next step's x has the same bits and the weights were not loaded anew in between (<see cref="Mlp.Initialize"/>,
    /// <see cref="Mlp.LoadWeights(IReadOnlyList{float[]})"/>); a caller that writes <see cref="Mlp.Weights"/> directly
    /// between the two steps must not pass <paramref name="next"/>.</param>
    /// <remarks>The forward product also checks the update: with a finite input, a non-finite entry of W_l makes its
    /// product non-finite, so only a non-finite product costs the full pass over W_l that otherwise checks it.</remarks>
    public void Step(ReadOnlySpan<float> x, int label, IPlasticityRule rule, ReadOnlySpan<float> theta, ReadOnlySpan<float> next)
    {
        bool prepare = !next.IsEmpty;
        if (prepare) CheckInput(next, nameof(next));
        ComputeSignals(x, label, rule, theta, carried: null, forwardDone: TakePrepared(x));
        _stepCount++;
        if (OutputDivergence() is { } output)
        {
            throw new TrainingDivergedException(output.Layer, _stepCount, output.Matrix);
        }

        if (prepare) BeginPrepare(next);
        for (int l = 1; l <= LayerCount; l++)
        {
            if (UpdateLayer(l, rule, theta, prepare) is { } matrix)
            {
                throw new TrainingDivergedException(l, _stepCount, matrix);
            }
        }

        if (prepare) EndPrepare();
    }

    // Whether a prepared forward pass of x through the current weights exists; if so it becomes the current one (the
    // arrays it replaces take the next). Either way none is prepared afterwards.
    private bool TakePrepared(ReadOnlySpan<float> x)
    {
        bool reuse = _prepared && _preparedVersion == Network.WeightsVersion
            && MemoryMarshal.Cast<float, int>(x).SequenceEqual(MemoryMarshal.Cast<float, int>(_preparedY[0]));
        _prepared = false;
        if (reuse)
        {
            for (int l = 0; l <= LayerCount; l++)
            {
                (_y[l], _preparedY[l]) = (_preparedY[l], _y[l]);
                (_z[l], _preparedZ[l]) = (_preparedZ[l], _z[l]);
            }
        }
        return reuse;
    }

    /// <summary>Starts preparing the forward pass of <paramref name="next"/> (n_0 values; a non-finite one gives a
    /// non-finite pass, so each layer then checks all of its W_l, as without one): every layer's update
    /// that follows, in order, with <c>prepare</c> set, computes its part; <see cref="EndPrepare"/> then offers the pass
    /// to the next <see cref="ComputeSignals"/> of that input, as <see cref="Step(ReadOnlySpan{float}, int, IPlasticityRule, ReadOnlySpan{float}, ReadOnlySpan{float})"/>'s next does.</summary>
    internal void BeginPrepare(ReadOnlySpan<float> next) => next.CopyTo(_preparedY[0]);

    /// <summary>Every layer has computed its part of the pass <see cref="BeginPrepare"/> started: it belongs to the
    /// weights as they are now.</summary>
    internal void EndPrepare()
    {
        _prepared = true;
        _preparedVersion = Network.WeightsVersion;
    }

    /// <summary>
    /// The first half of a step: checks the arguments, runs the forward pass (or takes the one the last update prepared
    /// for <paramref name="x"/>, see <see cref="BeginPrepare"/>), sets <see cref="LastLoss"/> and computes
    /// the errors <paramref name="rule"/> reads (<see cref="ComputedErrors"/>). Weights are not touched.
    /// </summary>
    /// <param name="carried">If given, receives B_(l+1)ᵀ e_(l+1) for l = 1 … L − 1 (the error before the ⊙ σ'(z_l)),
    /// which forward-mode tangents of the error pass need.</param>
    internal void ComputeSignals(ReadOnlySpan<float> x, int label, IPlasticityRule rule, ReadOnlySpan<float> theta, float[][]? carried) =>
        ComputeSignals(x, label, rule, theta, carried, forwardDone: TakePrepared(x));

    // forwardDone: the workspace already holds the forward pass of x through the current weights (a prepared one).
    private void ComputeSignals(ReadOnlySpan<float> x, int label, IPlasticityRule rule, ReadOnlySpan<float> theta, float[][]? carried, bool forwardDone)
    {
        ArgumentNullException.ThrowIfNull(rule);
        int layers = LayerCount;
        if ((uint)label >= (uint)_sizes[layers])
        {
            throw new ArgumentOutOfRangeException(nameof(label), label, $"label must be in 0 … {_sizes[layers] - 1}.");
        }
        CheckTheta(rule, theta);
        FeedbackModes.CheckRule(Network.FeedbackMode, rule);

        RuleSignals signals = rule.Signals;
        bool postError = (signals & RuleSignals.PostError) != 0;
        bool preError = (signals & RuleSignals.PreError) != 0;
        bool anyError = postError || preError;

        if (!forwardDone) ForwardCore(x);
        LastLoss = Loss.CrossEntropy(_z[layers], label);

        if (anyError)
        {
            ComputeErrors(label, Network.HasSeparateFeedback ? Network.Feedback : Network.Weights, _e, preError, carried);
        }
        else
        {
            for (int l = 0; l <= layers; l++)
            {
                _e[l].AsSpan().Clear();
            }
        }
        if (!preError)
        {
            _e[0].AsSpan().Clear();
        }
        ComputedErrors = !anyError ? RuleSignals.None : preError ? RuleSignals.PostError | RuleSignals.PreError : RuleSignals.PostError;
    }

    /// <summary>The floats <see cref="SaveSignals"/> writes: every y_l, z_l and e_l, and the loss.</summary>
    internal int SavedSignalsLength => 3 * _sizes.Sum() - _sizes[0] + 1;

    /// <summary>Writes the signals of the last <see cref="ComputeSignals"/> (y, z, e and the loss) into
    /// <paramref name="buffer"/>, from which <see cref="LoadSignals"/> puts them back: a caller that returns to the same
    /// weights and sample (the reverse-mode engine at a snapshot) need not compute them again.</summary>
    internal void SaveSignals(Span<float> buffer)
    {
        int at = FlatArrays.Gather(_y, buffer);
        at += FlatArrays.Gather(_z, buffer[at..]);
        at += FlatArrays.Gather(_e, buffer[at..]);
        buffer[at] = LastLoss;
    }

    /// <summary>Puts back signals <see cref="SaveSignals"/> wrote, as if <see cref="ComputeSignals"/> had run again with
    /// the same rule (<see cref="ComputedErrors"/> stays as that rule set it).</summary>
    internal void LoadSignals(ReadOnlySpan<float> buffer)
    {
        int at = FlatArrays.Scatter(buffer, _y);
        at += FlatArrays.Scatter(buffer[at..], _z);
        at += FlatArrays.Scatter(buffer[at..], _e);
        LastLoss = buffer[at];
    }

    /// <summary>
    /// The signals of layer <paramref name="layer"/> from the last <see cref="ComputeSignals"/>, as <paramref name="rule"/>
    /// reads them: W_l and B_l (empty without separate feedback) in place, y, z, and the errors the rule reads.
    /// </summary>
    internal LayerSignals Signals(int layer, IPlasticityRule rule)
    {
        RuleSignals signals = rule.Signals;
        bool postError = (signals & RuleSignals.PostError) != 0;
        bool preError = (signals & RuleSignals.PreError) != 0;
        Span<float> b = Network.HasSeparateFeedback ? Network.Feedback[layer - 1] : default;
        // A rule with state finds it at its initial values on its first step after new weights (allocated then, once).
        if (Network.State[layer - 1].Length != rule.StateLength(_sizes[layer], _sizes[layer - 1])) Network.ResetState(rule);
        return new LayerSignals(Network.Weights[layer - 1], b, _sizes[layer], _sizes[layer - 1], _y[layer], _y[layer - 1], _z[layer],
            postError ? _e[layer] : default, preError ? _e[layer - 1] : default, Network.Activation) { State = Network.State[layer - 1] };
    }

    /// <summary>
    /// The second half of a step for one layer: W_l += ΔW_l (and B_l += ΔB_l for a rule with dB) from the signals of the
    /// last <see cref="ComputeSignals"/>. Returns null, or "W" or "B" if that matrix now holds a non-finite value.
    /// </summary>
    /// <remarks>All signals were computed from the pre-update weights and the kernel of layer l reads only W_l and B_l,
    /// so updating layer by layer in place equals computing every ΔW_l (ΔB_l) first and then adding them.</remarks>
    /// <param name="prepare">Also computes the layer's part of the pass <see cref="BeginPrepare"/> started, from the
    /// updated W_l; a finite product then shows W_l finite, so only a non-finite one costs a check of all of W_l.</param>
    internal string? UpdateLayer(int layer, IPlasticityRule rule, ReadOnlySpan<float> theta, bool prepare = false)
    {
        _prepared = false; // the weights change: a pass prepared before is stale
        if (prepare) return UpdateLayerAndForward(layer, rule, theta);
        LayerSignals signals = ApplyRule(layer, rule, theta);
        return Divergence(in signals, rule, weightsChecked: false);
    }

    /// <summary><see cref="UpdateLayer"/> without its finiteness check, for a caller that reruns a step it has checked
    /// before from the same weights (the reverse-mode engine's recomputation): the same bits, so finite again.</summary>
    internal void ReplayLayer(int layer, IPlasticityRule rule, ReadOnlySpan<float> theta)
    {
        _prepared = false; // the weights change: a pass prepared before is stale
        ApplyRule(layer, rule, theta);
    }

    // The rule's kernel on layer l, in place, and given nextInput, nextProduct = W_l nextInput through the updated W_l;
    // the signals it read.
    private LayerSignals ApplyRule(int layer, IPlasticityRule rule, ReadOnlySpan<float> theta,
        ReadOnlySpan<float> nextInput = default, Span<float> nextProduct = default)
    {
        LayerSignals signals = Signals(layer, rule);
        int need = EnsureScratch(rule, layer); // may replace _scratch[layer − 1]
        Span<float> scratch = _scratch[layer - 1].AsSpan(0, need);
        if (nextInput.IsEmpty) rule.Apply(in signals, theta, scratch);
        else rule.ApplyAndMultiply(in signals, theta, scratch, nextInput, nextProduct);
        return signals;
    }

    // UpdateLayer, and the prepared forward pass through the updated W_l: z_l = W_l y_(l−1) into the prepared arrays
    // (whose y_(l−1) the previous layer left there), computed by the kernel as it writes W_l's rows; y_l from it. A
    // finite z_l from a finite y_(l−1) shows W_l finite.
    private string? UpdateLayerAndForward(int layer, IPlasticityRule rule, ReadOnlySpan<float> theta)
    {
        LayerSignals signals = ApplyRule(layer, rule, theta, _preparedY[layer - 1], _preparedZ[layer]);
        Activate(layer, _preparedZ[layer], _preparedY[layer]);
        bool weightsChecked = KernelPrimitives.AllFinite(_preparedY[layer - 1]) && KernelPrimitives.AllFinite(_preparedZ[layer]);
        return Divergence(in signals, rule, weightsChecked);
    }

    // "W" or "B" if the layer's updated matrix holds a non-finite value, else null; weightsChecked: W is known finite.
    private static string? Divergence(in LayerSignals signals, IPlasticityRule rule, bool weightsChecked)
    {
        if (!weightsChecked && !KernelPrimitives.AllFinite(signals.Weights))
        {
            return "W";
        }
        if ((rule.Signals & RuleSignals.FeedbackUpdate) != 0 && !KernelPrimitives.AllFinite(signals.Feedback))
        {
            return "B";
        }
        return null;
    }

    /// <summary>
    /// The divergence check on the output of the last <see cref="ComputeSignals"/>, shared by <see cref="Step"/> and the
    /// meta-learning engine: null while z_L and the loss are finite; otherwise the matrix to blame, a non-finite W_l or B_l
    /// if there is one (set from outside, or loaded), else the output z_L itself (matrix "z", layer L). Weights can stay
    /// finite (say at 1e38) while the output overflows; such a network predicts nothing either.
    /// </summary>
    internal (int Layer, string Matrix)? OutputDivergence()
    {
        int layers = LayerCount;
        if (KernelPrimitives.AllFinite(_z[layers]) && float.IsFinite(LastLoss)) return null;
        for (int l = 1; l <= layers; l++)
        {
            if (!KernelPrimitives.AllFinite(Network.Weights[l - 1])) return (l, "W");
            if (Network.HasSeparateFeedback && !KernelPrimitives.AllFinite(Network.Feedback[l - 1])) return (l, "B");
        }

        return (layers, "z");
    }

    /// <summary>Runs the forward pass on <paramref name="x"/>, leaving y_l and z_l in the workspace views.</summary>
    public void Forward(ReadOnlySpan<float> x) => ForwardCore(x);

    /// <summary>The predicted class argmax y_L (forward pass only; the first index on ties).</summary>
    public int Predict(ReadOnlySpan<float> x)
    {
        ForwardCore(x);
        return KernelPrimitives.ArgMax(_z[LayerCount]); // softmax is monotone: argmax z_L = argmax y_L
    }

    /// <summary>Fraction of the first <paramref name="count"/> samples classified correctly.</summary>
    /// <param name="images">Samples back to back, n_0 values each, at least <paramref name="count"/> of them.</param>
    /// <param name="labels">Labels, at least <paramref name="count"/>.</param>
    /// <param name="count">How many samples to evaluate (≥ 1).</param>
    public double Accuracy(ReadOnlySpan<float> images, ReadOnlySpan<byte> labels, int count) => Accuracy(images, labels, count, threads: 1);

    /// <summary>Fraction of the first <paramref name="count"/> samples classified correctly, with the blocks of samples
    /// shared among up to <paramref name="threads"/> threads. Every sample's prediction is computed the same way on any
    /// thread, so the result does not depend on <paramref name="threads"/>.</summary>
    /// <remarks>Blocks of samples go through each layer as one matrix product that sums every output in one FMA chain,
    /// the same on every machine but not the order of <see cref="Predict"/>'s forward pass: where two logits agree to
    /// rounding, the two can predict different classes (one prediction in 16.8 million in Figure 1's runs).</remarks>
    /// <param name="images">Samples back to back, n_0 values each, at least <paramref name="count"/> of them.</param>
    /// <param name="labels">Labels, at least <paramref name="count"/>.</param>
    /// <param name="count">How many samples to evaluate (≥ 1).</param>
    /// <param name="threads">Threads to share the work (≥ 1; more than the blocks of samples are not used).</param>
    public double Accuracy(ReadOnlySpan<float> images, ReadOnlySpan<byte> labels, int count, int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        int inputs = _sizes[0];
        if (images.Length / inputs < count || labels.Length < count)
        {
            throw new ArgumentException(
                $"need {count} samples of {inputs} values and {count} labels, got {images.Length} values and {labels.Length} labels.");
        }
        // Blocks of inputs go through the network together, one packed product per layer (PackedGemm); block b goes to
        // worker b mod threads.
        int blocks = (count + PackedGemm.BlockInputs - 1) / PackedGemm.BlockInputs;
        threads = Math.Min(threads, blocks);
        EvaluationSpace space = _evaluation ??= new EvaluationSpace(_sizes);
        space.EnsureWorkers(threads);
        for (int l = 1; l <= LayerCount; l++)
        {
            PackedGemm.PackWeights(Network.Weights[l - 1], _sizes[l], _sizes[l - 1], space.PackedWeights[l - 1]);
        }
        int correct = threads == 1
            ? CountCorrect(space, space.Workers[0], images, labels, count, 0, 1)
            : CountCorrectInParallel(space, images, labels, count, threads);
        return correct / (double)count;
    }

    // Blocks shared among the threads (allocates the loop's closures: not on the one-thread path).
    private unsafe int CountCorrectInParallel(EvaluationSpace space, ReadOnlySpan<float> images, ReadOnlySpan<byte> labels, int count, int threads)
    {
        int correct = 0, imageValues = count * _sizes[0];
        fixed (float* imageData = images)
        fixed (byte* labelData = labels)
        {
            nint imagesAt = (nint)imageData, labelsAt = (nint)labelData;
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, worker =>
            {
                var workerImages = new ReadOnlySpan<float>((void*)imagesAt, imageValues);
                var workerLabels = new ReadOnlySpan<byte>((void*)labelsAt, count);
                Interlocked.Add(ref correct, CountCorrect(space, space.Workers[worker], workerImages, workerLabels, count, worker, threads));
            });
        }
        return correct;
    }

    // The samples of blocks first, first + stride, … classified correctly, with the worker's buffers.
    private int CountCorrect(EvaluationSpace space, EvaluationBuffers buffers, ReadOnlySpan<float> images, ReadOnlySpan<byte> labels,
        int count, int first, int stride)
    {
        int inputs = _sizes[0], layers = LayerCount, correct = 0;
        for (int start = first * PackedGemm.BlockInputs; start < count; start += stride * PackedGemm.BlockInputs)
        {
            int block = Math.Min(PackedGemm.BlockInputs, count - start);
            ReadOnlySpan<float> input = images.Slice(start * inputs, block * inputs);
            Span<float> output = default;
            for (int l = 1; l <= layers; l++)
            {
                output = (l % 2 == 1 ? buffers.BlockA : buffers.BlockB).AsSpan(0, block * _sizes[l]);
                PackedGemm.Multiply(space.PackedWeights[l - 1], _sizes[l], _sizes[l - 1], input, block, output, buffers.Scratch);
                if (l < layers) Network.Activation.Apply(output, output);
                input = output;
            }

            int classes = _sizes[layers];
            for (int k = 0; k < block; k++)
            {
                // softmax is monotone: argmax z_L = argmax y_L
                if (KernelPrimitives.ArgMax(output.Slice(k * classes, classes)) == labels[start + k]) correct++;
            }
        }

        return correct;
    }

    private void ForwardCore(ReadOnlySpan<float> x)
    {
        CheckInput(x, nameof(x));
        x.CopyTo(_y[0]);
        for (int l = 1; l <= LayerCount; l++)
        {
            // z_l = W_l y_(l−1), then y_l = σ(z_l) (softmax at the output).
            KernelPrimitives.MultiplyVector(Network.Weights[l - 1], _sizes[l], _sizes[l - 1], _y[l - 1], _z[l]);
            Activate(l, _z[l], _y[l]);
        }
    }

    // y_l from z_l: σ in the hidden layers, softmax in the last.
    private void Activate(int l, ReadOnlySpan<float> z, Span<float> y)
    {
        if (l < LayerCount)
        {
            Network.Activation.Apply(z, y);
        }
        else
        {
            KernelPrimitives.Softmax(z, y);
        }
    }

    private void CheckInput(ReadOnlySpan<float> x, string parameter)
    {
        if (x.Length != _sizes[0])
        {
            throw new ArgumentException($"the input must have n_0 = {_sizes[0]} values, got {x.Length}.", parameter);
        }
        if (!KernelPrimitives.AllFinite(x))
        {
            throw new ArgumentException("the input has a non-finite value (NaN or ±∞).", parameter);
        }
    }

    /// <summary>
    /// The errors of the last forward pass for <paramref name="label"/>, carried down through <paramref name="backward"/>
    /// (B_1 … B_L in W's shapes; W itself for backprop) into <paramref name="errors"/> (e_0 … e_L). Instruments call it to
    /// compare the paths; a step calls it with the network's own feedback.
    /// </summary>
    internal void ComputeErrors(int label, IReadOnlyList<float[]> backward, float[][] errors, bool inputError, float[][]? carried = null)
    {
        int layers = LayerCount;
        Activation activation = Network.Activation;
        // e_L = y_L − onehot(label)
        _y[layers].AsSpan().CopyTo(errors[layers]);
        errors[layers][label] -= 1f;
        // e_l = (B_(l+1)ᵀ e_(l+1)) ⊙ σ'(z_l), l = L−1 … 1
        for (int l = layers - 1; l >= 1; l--)
        {
            Span<float> e = errors[l];
            KernelPrimitives.MultiplyTransposedVector(backward[l], _sizes[l + 1], _sizes[l], errors[l + 1], e);
            if (carried is not null) e.CopyTo(carried[l]);
            Span<float> derivative = _derivative.AsSpan(0, _sizes[l]);
            activation.Derivative(_z[l], derivative);
            TensorPrimitives.Multiply(e, derivative, e);
        }
        // e_0 = B_1ᵀ e_1 (the input has no nonlinearity)
        if (inputError)
        {
            KernelPrimitives.MultiplyTransposedVector(backward[0], _sizes[1], _sizes[0], errors[1], errors[0]);
        }
    }

    private int EnsureScratch(IPlasticityRule rule, int layer)
    {
        int need = rule.ScratchLength(_sizes[layer], _sizes[layer - 1]);
        if (need < 0)
        {
            throw new InvalidOperationException($"rule '{rule.Name}' asked for negative scratch ({need}) for W_{layer}.");
        }
        if (_scratch[layer - 1].Length < need)
        {
            _scratch[layer - 1] = new float[need];
        }
        return need;
    }

    private static void CheckTheta(IPlasticityRule rule, ReadOnlySpan<float> theta)
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

    private void CheckLayer(int layer, int lowest)
    {
        if (layer < lowest || layer > LayerCount)
        {
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"layer must be in {lowest} … {LayerCount}.");
        }
    }

    // Accuracy's buffers: the packed W_1 … W_L, shared, and per worker thread two blocks of activations of the widest
    // layer and the kernel's scratch (made as more threads are asked for).
    private sealed class EvaluationSpace
    {
        private readonly int[] _sizes;

        public EvaluationSpace(int[] sizes)
        {
            _sizes = sizes;
            PackedWeights = new float[sizes.Length - 1][];
            for (int l = 1; l < sizes.Length; l++)
            {
                PackedWeights[l - 1] = new float[PackedGemm.PackedWeightsLength(sizes[l], sizes[l - 1])];
            }
        }

        public float[][] PackedWeights { get; }

        public List<EvaluationBuffers> Workers { get; } = [];

        public void EnsureWorkers(int threads)
        {
            while (Workers.Count < threads) Workers.Add(new EvaluationBuffers(_sizes));
        }
    }

    private sealed class EvaluationBuffers
    {
        public EvaluationBuffers(int[] sizes)
        {
            BlockA = new float[PackedGemm.BlockInputs * sizes.Skip(1).Max()];
            BlockB = new float[BlockA.Length];
            Scratch = new float[PackedGemm.ScratchLength(sizes[..^1].Max())];
        }

        public float[] BlockA { get; }

        public float[] BlockB { get; }

        public float[] Scratch { get; }
    }
}
