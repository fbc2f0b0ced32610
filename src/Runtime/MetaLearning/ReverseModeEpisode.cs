using System.Numerics.Tensors;

namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>
/// Exact meta-gradients of an online episode in reverse mode: the same episode as <see cref="ForwardModeEpisode"/>
/// (<see cref="OnlineLearner"/>'s steps, then the query loss), its gradient with respect to every chosen coefficient
/// from one backward sweep whatever their number. The sweep reverses the steps last to first: each step's signals are
/// recomputed from the weights before it, then the rule's adjoint kernel (<see cref="IAdjointRule.ApplyAdjoint"/>, in
/// its two parts, so that the outer products of the transposed passes join its pass over W̄ and B̄), the error pass and
/// the forward pass are transposed, carrying W̄ (and B̄) back and adding to θ̄. The weights before each
/// step come from a fixed number of snapshots under binomial checkpointing (<see cref="CheckpointSchedule"/>), so memory
/// does not grow with the episode length; with as many snapshots as steps nothing is recomputed. See docs/metalearning.md.
/// </summary>
/// <remarks>
/// The network's weights at <see cref="Run"/> are the episode's start and are taken as independent of θ; after Run they
/// hold the final weights, as after a forward-mode episode. Run allocates nothing per step once an episode of its length
/// has run (the checkpoint schedule is built once per length). During Run the network's W and B arrays may be exchanged
/// with the snapshots' (a state restored only to be reversed is not copied); each is back, with the network's current
/// contents, when Run returns. Not thread-safe.
/// </remarks>
internal sealed class ReverseModeEpisode
{
    private readonly OnlineLearner _learner;
    private readonly int[] _sizes;
    private readonly int[] _directions;
    private readonly bool _separateFeedback, _plasticFeedback, _postError, _preError;
    private readonly float[][][] _snapshotWeights;  // [slot][l − 1]
    private readonly float[][][] _snapshotFeedback; // [slot][l − 1], only with plastic B
    private readonly float[][] _ownWeights, _ownFeedback; // the network's arrays, which a Take lends to a slot during Run
    private readonly float[][] _snapshotSignals; // [slot]: the signals of the step from the slot's state, and B_(l+1)ᵀ e_(l+1)
    private readonly bool[] _signalsKept;        // [slot]: whether _snapshotSignals holds them for the state stored there
    private int _currentSlot = -1;               // the slot whose state is current (restored, or stored and not advanced since), or −1
    private readonly float[][] _heldWeights, _heldFeedback;   // the state before the last step while the query loss is taken
    private readonly float[][] _finalWeights, _finalFeedback; // the state after the last step, the network's at the end
    private readonly float[][] _wBar, _bBar; // [l − 1]: ∂L/∂W_l, ∂L/∂B_l of the state after the step being reversed
    private readonly float[][] _yBar, _zBar, _eBar; // [l]: the signals' adjoints of the step being reversed
    private readonly float[][] _carried;    // [l]: B_(l+1)ᵀ e_(l+1), the error before ⊙ σ'(z_l)
    private readonly float[][] _derivative; // [l]: σ'(z_l)
    private readonly float[][] _carriedBar; // [l]: c̄_l = ∂L/∂(B_(l+1)ᵀ e_(l+1)) of the step being reversed (c̄_0 = ē_0)
    private readonly float[] _column, _second; // widest layer
    private readonly float[][] _adjointScratch; // [l − 1]

    /// <summary>The snapshots meta-learning gives the sweep: 24 states (<see cref="CheckpointSchedule"/>). Snapshots are
    /// written and read from memory, so fewer of them cost less per step but recompute more; between 16 and 32 the
    /// episode's time moves by a few percent, and 24 measured fastest with the arms in either order (0.92–1.00 of 16's
    /// time, 0.95–1.02 of 32's); 64 and 96 were slower (docs/performance.md, "The snapshot budget").</summary>
    public const int DefaultSnapshots = 24;
    private float[] _thetaBar = [];
    private CheckpointSchedule? _schedule;

    /// <summary>An episode engine for <paramref name="network"/> (trained in place) and <paramref name="rule"/>.</summary>
    /// <param name="directions">The coefficients to differentiate with respect to, as θ indices, as for <see cref="ForwardModeEpisode"/>.</param>
    /// <param name="snapshots">How many states (all W_l, and B_l when plastic) the sweep may hold, the start's included:
    /// the memory bound. Fewer snapshots recompute more steps (<see cref="CheckpointSchedule"/>), never change the gradient.</param>
    public ReverseModeEpisode(Mlp network, IAdjointRule rule, ReadOnlySpan<int> directions, int snapshots)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentOutOfRangeException.ThrowIfLessThan(snapshots, 1);
        FeedbackModes.CheckRule(network.FeedbackMode, rule);
        EpisodeChecks.Directions(rule, directions);

        Network = network;
        Rule = rule;
        Snapshots = snapshots;
        _learner = new OnlineLearner(network, rule);
        _directions = directions.ToArray();
        _sizes = [.. network.LayerSizes];
        RuleSignals signals = rule.Signals;
        _separateFeedback = network.HasSeparateFeedback;
        _plasticFeedback = (signals & RuleSignals.FeedbackUpdate) != 0;
        _postError = (signals & RuleSignals.PostError) != 0;
        _preError = (signals & RuleSignals.PreError) != 0;

        float[][] WeightShaped() => network.Weights.Select(w => new float[w.Length]).ToArray();
        _snapshotWeights = new float[snapshots][][];
        _snapshotFeedback = new float[snapshots][][];
        for (int s = 0; s < snapshots; s++)
        {
            _snapshotWeights[s] = WeightShaped();
            _snapshotFeedback[s] = _plasticFeedback ? WeightShaped() : [];
        }
        _snapshotSignals = new float[snapshots][];
        for (int s = 0; s < snapshots; s++) _snapshotSignals[s] = new float[_learner.SavedSignalsLength + _sizes.Sum()];
        _signalsKept = new bool[snapshots];
        _ownWeights = [.. network.Weights];
        _ownFeedback = [.. network.Feedback];
        _heldWeights = WeightShaped();
        _heldFeedback = _plasticFeedback ? WeightShaped() : [];
        _finalWeights = WeightShaped();
        _finalFeedback = _plasticFeedback ? WeightShaped() : [];
        _wBar = WeightShaped();
        _bBar = _plasticFeedback ? WeightShaped() : [];
        _yBar = _sizes.Select(n => new float[n]).ToArray();
        _zBar = _sizes.Select(n => new float[n]).ToArray();
        _eBar = _sizes.Select(n => new float[n]).ToArray();
        _carried = _sizes.Select(n => new float[n]).ToArray();
        _derivative = _sizes.Select(n => new float[n]).ToArray();
        _carriedBar = _sizes.Select(n => new float[n]).ToArray();
        _column = new float[_sizes.Max()];
        _second = new float[_sizes.Max()];
        _adjointScratch = EpisodeChecks.Scratch(rule, _sizes, "adjoint", rule.AdjointScratchLength);
    }

    /// <summary>The network trained in place.</summary>
    public Mlp Network { get; }

    public IAdjointRule Rule { get; }

    /// <summary>The states the sweep holds at most, the start's included.</summary>
    public int Snapshots { get; }

    /// <summary>The θ indices differentiated with respect to, in the order of the gradient.</summary>
    public ReadOnlySpan<int> Directions => _directions;

    /// <summary>Online steps the last <see cref="Run"/> made, recomputations included: the sweep's forward cost.</summary>
    public long ForwardSteps { get; private set; }

    /// <summary>If set, each <see cref="Run"/> adds the time of its parts to it (the benchmarks' breakdown).</summary>
    internal ReversePhaseTimes? PhaseTimes { get; set; }

    /// <summary>
    /// A whole episode: online steps on the <paramref name="train"/> images in order, the mean query cross-entropy on
    /// the <paramref name="query"/> images with the final weights, and into <paramref name="gradient"/> its derivative
    /// with respect to each direction. A diverged episode (a non-finite W, B, z_L, loss, query loss or gradient) returns
    /// its <see cref="EpisodeDivergence"/>, a NaN loss and a NaN gradient, as <see cref="ForwardModeEpisode.Run"/> does.
    /// </summary>
    /// <exception cref="ArgumentException">An index is out of range, a list is empty, or the gradient has the wrong length.</exception>
    public EpisodeResult Run(ReadOnlySpan<float> theta, ReadOnlySpan<float> images, ReadOnlySpan<byte> labels,
        ReadOnlySpan<int> train, ReadOnlySpan<int> query, Span<double> gradient) =>
        Run(theta, images, labels, train, images, labels, query, gradient);

    /// <summary><see cref="Run(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{byte}, ReadOnlySpan{int}, ReadOnlySpan{int}, Span{double})"/>
    /// with the query images in their own set (an <see cref="Episode"/>'s).</summary>
    public EpisodeResult Run(ReadOnlySpan<float> theta, ReadOnlySpan<float> images, ReadOnlySpan<byte> labels, ReadOnlySpan<int> train,
        ReadOnlySpan<float> queryImages, ReadOnlySpan<byte> queryLabels, ReadOnlySpan<int> query, Span<double> gradient)
    {
        EpisodeChecks.Samples(_sizes[0], images, labels, train, "train");
        EpisodeChecks.Samples(_sizes[0], queryImages, queryLabels, query, "query");
        EpisodeChecks.Gradient(_directions.Length, gradient);
        EpisodeChecks.Theta(_directions, theta.Length);
        if (_thetaBar.Length != theta.Length) _thetaBar = new float[theta.Length];
        if (_schedule is null || _schedule.Steps != train.Length) _schedule = new CheckpointSchedule(train.Length, Snapshots);

        _thetaBar.AsSpan().Clear();
        ForwardSteps = 0;
        PhaseTimes?.Start();
        int firstUnadvanced = 0; // steps before it were run (and checked) by the first sweep
        _currentSlot = -1;
        Array.Clear(_signalsKept);
        double queryLoss = double.NaN;
        int inputs = _sizes[0], layers = _sizes.Length - 1, last = train.Length - 1;
        // Every step is advanced once before any is reversed (the schedule's first sweep reaches step K − 1, which is
        // advanced here), so a divergence is found before the backward sweep starts.
        IReadOnlyList<CheckpointInstruction> instructions = _schedule.Instructions;
        try
        {
            for (int next = 0; next < instructions.Count; next++)
            {
                CheckpointInstruction instruction = instructions[next];
                int step = instruction.Step;
                switch (instruction.Action)
                {
                    case CheckpointAction.Store:
                        Copy(Network.Weights, _snapshotWeights[instruction.Slot]);
                        if (_plasticFeedback) Copy(Network.Feedback, _snapshotFeedback[instruction.Slot]);
                        _currentSlot = instruction.Slot;
                        _signalsKept[instruction.Slot] = false;
                        PhaseTimes?.End(ReversePhase.Snapshots);
                        break;
                    case CheckpointAction.Restore:
                        Copy(_snapshotWeights[instruction.Slot], Network.Weights);
                        if (_plasticFeedback) Copy(_snapshotFeedback[instruction.Slot], Network.Feedback);
                        _currentSlot = instruction.Slot;
                        PhaseTimes?.End(ReversePhase.Snapshots);
                        break;
                    case CheckpointAction.Take:
                        // The slot is not read again before a Store refills it: exchange arrays instead of copying.
                        Exchange(Network.Weights, _snapshotWeights[instruction.Slot]);
                        if (_plasticFeedback) Exchange(Network.Feedback, _snapshotFeedback[instruction.Slot]);
                        _currentSlot = instruction.Slot;
                        PhaseTimes?.End(ReversePhase.Snapshots);
                        break;
                    case CheckpointAction.Advance:
                        if (Advance(images.Slice(train[step] * inputs, inputs), labels[train[step]], theta, step, firstRun: step >= firstUnadvanced) is { } divergence)
                        {
                            return Diverged(gradient, divergence);
                        }
                        PhaseTimes?.End(step < firstUnadvanced ? ReversePhase.Recomputation : ReversePhase.FirstSweep);
                        firstUnadvanced = Math.Max(firstUnadvanced, step + 1);
                        break;
                    case CheckpointAction.Reverse:
                        if (step == last)
                        {
                            // The query loss is taken after the last step: hold the state before it, advance, and start W̄
                            // from the query loss's gradient.
                            Copy(Network.Weights, _heldWeights);
                            if (_plasticFeedback) Copy(Network.Feedback, _heldFeedback);
                            PhaseTimes?.End(ReversePhase.Snapshots);
                            if (Advance(images.Slice(train[step] * inputs, inputs), labels[train[step]], theta, step, firstRun: true) is { } lastStep)
                            {
                                return Diverged(gradient, lastStep);
                            }
                            PhaseTimes?.End(ReversePhase.FirstSweep);
                            queryLoss = QueryLossAndGradient(queryImages, queryLabels, query);
                            PhaseTimes?.End(ReversePhase.QueryLoss);
                            if (!double.IsFinite(queryLoss)) return Diverged(gradient, new EpisodeDivergence(train.Length, layers, "query loss", -1));
                            Copy(Network.Weights, _finalWeights);
                            if (_plasticFeedback) Copy(Network.Feedback, _finalFeedback);
                            Copy(_heldWeights, Network.Weights);
                            if (_plasticFeedback) Copy(_heldFeedback, Network.Feedback);
                            PhaseTimes?.End(ReversePhase.Snapshots);
                        }
                        ReverseStep(images.Slice(train[step] * inputs, inputs), labels[train[step]], theta);
                        break;
                }
            }

            for (int d = 0; d < gradient.Length; d++)
            {
                gradient[d] = _thetaBar[_directions[d]];
                if (!double.IsFinite(gradient[d])) return Diverged(gradient, new EpisodeDivergence(train.Length, layers, "query loss", d));
            }
            // The network ends at the final weights, as after a forward-mode episode.
            Copy(_finalWeights, Network.Weights);
            if (_plasticFeedback) Copy(_finalFeedback, Network.Feedback);
            return new EpisodeResult(queryLoss, null);
        }
        finally
        {
            ReturnOwnArrays();
            PhaseTimes?.End(ReversePhase.Snapshots);
        }
    }

    private static EpisodeResult Diverged(Span<double> gradient, EpisodeDivergence divergence)
    {
        gradient.Fill(double.NaN);
        return new EpisodeResult(double.NaN, divergence);
    }

    // One online step from the current weights, checked as ForwardModeEpisode checks the primal step on its first run;
    // a recomputation reproduces a checked step bit for bit, so it is not checked again.
    private EpisodeDivergence? Advance(ReadOnlySpan<float> x, int label, ReadOnlySpan<float> theta, int step, bool firstRun)
    {
        ForwardSteps++;
        ComputeSignals(x, label, theta);
        _currentSlot = -1; // the weights move on from the slot's state
        if (!firstRun)
        {
            for (int l = 1; l < _sizes.Length; l++) _learner.ReplayLayer(l, Rule, theta);
            return null;
        }
        if (EpisodeChecks.OutputDivergence(_learner) is { } output) return new EpisodeDivergence(step + 1, output.Layer, output.Quantity, -1);
        for (int l = 1; l < _sizes.Length; l++)
        {
            if (_learner.UpdateLayer(l, Rule, theta) is { } matrix) return new EpisodeDivergence(step + 1, l, matrix, -1);
        }
        return null;
    }

    // The signals of the step from the current state: loaded if the state's slot keeps them (computed from the same weights
    // and sample, so the same bits), else computed, and kept if the state is a slot's. The forward and error pass are then
    // made once per stored state, not at every return to it.
    private void ComputeSignals(ReadOnlySpan<float> x, int label, ReadOnlySpan<float> theta)
    {
        int learnerLength = _learner.SavedSignalsLength;
        if (_currentSlot >= 0 && _signalsKept[_currentSlot])
        {
            ReadOnlySpan<float> kept = _snapshotSignals[_currentSlot];
            _learner.LoadSignals(kept[..learnerLength]);
            FlatArrays.Scatter(kept[learnerLength..], _carried);
            return;
        }

        _learner.ComputeSignals(x, label, Rule, theta, _carried);
        if (_currentSlot >= 0)
        {
            Span<float> keep = _snapshotSignals[_currentSlot];
            _learner.SaveSignals(keep[..learnerLength]);
            FlatArrays.Gather(_carried, keep[learnerLength..]);
            _signalsKept[_currentSlot] = true;
        }
    }

    // The mean query cross-entropy with the current weights; W̄ (B̄ zero: the query pass does not read B) its gradient.
    private double QueryLossAndGradient(ReadOnlySpan<float> images, ReadOnlySpan<byte> labels, ReadOnlySpan<int> query)
    {
        int inputs = _sizes[0], layers = _sizes.Length - 1;
        foreach (float[] w in _wBar) w.AsSpan().Clear();
        foreach (float[] b in _bBar) b.AsSpan().Clear();
        double loss = 0;
        float scale = 1f / query.Length;
        foreach (int j in query)
        {
            _learner.Forward(images.Slice(j * inputs, inputs));
            int label = labels[j];
            loss += Loss.CrossEntropy(_learner.PreActivations(layers), label);
            // z̄_L = (softmax(z_L) − onehot) / N, then back through the layers.
            Span<float> zBar = _zBar[layers];
            TensorPrimitives.Multiply(_learner.Activations(layers), scale, zBar);
            zBar[label] -= scale;
            BackThroughLayers(from: layers);
        }
        return loss / query.Length;
    }

    // The forward pass transposed from layer `from` down, z̄_from given: W̄_l += z̄_l y_(l−1)ᵀ, ȳ_(l−1) = W_lᵀ z̄_l, and
    // z̄_(l−1) = ȳ_(l−1) ⊙ σ'(z_(l−1)) (the query pass, whose only adjoint is the loss's).
    private void BackThroughLayers(int from)
    {
        for (int l = from; l >= 1; l--)
        {
            new RankOneTerms(_zBar[l], _learner.Activations(l - 1)).AddTo(_wBar[l - 1], _sizes[l - 1]);
            if (l == 1) break;
            Span<float> zBelow = _zBar[l - 1];
            KernelPrimitives.MultiplyTransposedVector(Network.Weights[l - 1], _sizes[l], _sizes[l - 1], _zBar[l], zBelow);
            Network.Activation.Derivative(_learner.PreActivations(l - 1), _derivative[l - 1]);
            TensorPrimitives.Multiply(zBelow, _derivative[l - 1], zBelow);
        }
    }

    /// <summary>
    /// The adjoint of one online step at the current weights (the state before it): W̄ and B̄ of the state after the
    /// step become those of the state before it, θ̄ gains the step's part.
    /// </summary>
    private void ReverseStep(ReadOnlySpan<float> x, int label, ReadOnlySpan<float> theta)
    {
        int layers = _sizes.Length - 1;
        ComputeSignals(x, label, theta);
        // σ'(z_l) of every hidden layer, which the error pass and the forward pass transposed both read.
        for (int l = 1; l < layers; l++) Network.Activation.Derivative(_learner.PreActivations(l), _derivative[l]);
        PhaseTimes?.End(ReversePhase.Signals);
        for (int l = 0; l <= layers; l++)
        {
            _yBar[l].AsSpan().Clear();
            _zBar[l].AsSpan().Clear();
            _eBar[l].AsSpan().Clear();
        }

        // The updates: each layer's adjoint kernel reads Ū = W̄_l (B̄_l) of the state after the step. Its products come
        // first; its pass over W̄_l and B̄_l comes below, once z̄_l and c̄_(l−1) are known, so that the outer products the
        // signal paths add to W̄_l and B̄_l join it (added after the rule's terms, as if after the pass).
        for (int l = 1; l <= layers; l++)
        {
            LayerSignals signals = _learner.Signals(l, Rule);
            LayerAdjoints adjoint = Adjoints(l);
            Rule.ApplyAdjointProducts(in signals, in adjoint, theta, _thetaBar, _adjointScratch[l - 1]);
        }

        PhaseTimes?.End(ReversePhase.AdjointKernels);
        bool errorTerms = _postError || _preError;
        if (errorTerms) BackThroughErrors();
        PhaseTimes?.End(ReversePhase.ErrorAdjoint);

        // The forward pass: y_L = softmax(z_L), y_l = σ(z_l), z_l = W_l y_(l−1).
        for (int l = layers; l >= 1; l--)
        {
            Span<float> zBar = _zBar[l];
            ReadOnlySpan<float> y = _learner.Activations(l);
            if (l == layers)
            {
                // z̄_L += y ⊙ (ȳ_L − y·ȳ_L)
                Span<float> column = _column.AsSpan(0, _sizes[l]);
                TensorPrimitives.Subtract(_yBar[l], TensorPrimitives.Dot(y, _yBar[l]), column);
                TensorPrimitives.FusedMultiplyAdd(y, column, zBar, zBar);
            }
            else
            {
                TensorPrimitives.FusedMultiplyAdd(_yBar[l], _derivative[l], zBar, zBar);
            }
            PhaseTimes?.End(ReversePhase.ActivationAdjoint);
            // W̄_l (B̄_l): the rule's pass, then B̄_l += e_l c̄_(l−1)ᵀ from the error pass (into W̄_l under backprop), then
            // W̄_l += z̄_l y_(l−1)ᵀ, row by row.
            bool errorTerm = errorTerms && l >= (_preError ? 1 : 2) && (!_separateFeedback || _plasticFeedback);
            ReadOnlySpan<float> errors = errorTerm ? _learner.Errors(l) : default, carriedBar = errorTerm ? _carriedBar[l - 1] : default;
            var weightsTerms = errorTerm && !_separateFeedback
                ? new RankOneTerms(errors, carriedBar, zBar, _learner.Activations(l - 1))
                : new RankOneTerms(zBar, _learner.Activations(l - 1));
            var feedbackTerms = errorTerm && _separateFeedback ? new RankOneTerms(errors, carriedBar) : default;
            LayerSignals signals = _learner.Signals(l, Rule);
            LayerAdjoints adjoint = Adjoints(l);
            Rule.ApplyAdjointUpdate(in signals, in adjoint, theta, _adjointScratch[l - 1], in weightsTerms, in feedbackTerms);
            PhaseTimes?.End(ReversePhase.AdjointUpdates);
            if (l > 1)
            {
                Span<float> column = _column.AsSpan(0, _sizes[l - 1]);
                KernelPrimitives.MultiplyTransposedVector(Network.Weights[l - 1], _sizes[l], _sizes[l - 1], zBar, column);
                TensorPrimitives.Add(_yBar[l - 1], column, _yBar[l - 1]);
                PhaseTimes?.End(ReversePhase.TransposedProducts);
            }
        }
    }

    // The layer's adjoint buffers: W̄_l, B̄_l (plastic B), ȳ_l, ȳ_(l−1), z̄_l, and ē_l, ē_(l−1) when the rule reads them.
    private LayerAdjoints Adjoints(int l) => new(_wBar[l - 1], _plasticFeedback ? _bBar[l - 1] : default, _yBar[l], _yBar[l - 1], _zBar[l],
        _postError ? _eBar[l] : default, _preError ? _eBar[l - 1] : default);

    // The error pass transposed, lowest layer first (ē_(l+1) gains from every e_l below it before it is carried on):
    // e_0 = B_1ᵀ e_1; e_l = c_l ⊙ σ'(z_l) with c_l = B_(l+1)ᵀ e_(l+1); e_L = y_L − onehot. Under backprop B is W and its
    // adjoint W̄; with fixed feedback B has none. B̄_(l+1) += e_(l+1) c̄_lᵀ is left to layer l + 1's adjoint update, which
    // reads c̄_l from _carriedBar[l].
    private void BackThroughErrors()
    {
        int layers = _sizes.Length - 1;
        float[][] backward = _separateFeedback ? Network.Feedback : Network.Weights;
        for (int l = _preError ? 0 : 1; l < layers; l++)
        {
            int rows = _sizes[l + 1], columns = _sizes[l];
            Span<float> carriedBar = _carriedBar[l];
            if (l == 0)
            {
                _eBar[0].AsSpan().CopyTo(carriedBar);
            }
            else
            {
                // c̄_l = ē_l ⊙ σ'(z_l); z̄_l += ē_l ⊙ c_l ⊙ σ''(z_l)
                ReadOnlySpan<float> z = _learner.PreActivations(l);
                Span<float> second = _second.AsSpan(0, columns);
                Network.Activation.SecondDerivative(z, second);
                TensorPrimitives.Multiply(second, _carried[l], second);
                TensorPrimitives.FusedMultiplyAdd(_eBar[l], second, _zBar[l], _zBar[l]);
                TensorPrimitives.Multiply(_eBar[l], _derivative[l], carriedBar);
            }
            // ē_(l+1) += B_(l+1) c̄_l; B̄_(l+1) += e_(l+1) c̄_lᵀ
            Span<float> above = _second.AsSpan(0, rows);
            KernelPrimitives.MultiplyVector(backward[l], rows, columns, carriedBar, above);
            TensorPrimitives.Add(_eBar[l + 1], above, _eBar[l + 1]);
        }
        // e_L = y_L − onehot
        TensorPrimitives.Add(_yBar[layers], _eBar[layers], _yBar[layers]);
    }

    private static void Copy(float[][] from, float[][] to)
    {
        for (int l = 0; l < from.Length; l++) from[l].AsSpan().CopyTo(to[l]);
    }

    private static void Exchange(float[][] a, float[][] b)
    {
        for (int l = 0; l < a.Length; l++) (a[l], b[l]) = (b[l], a[l]);
    }

    // Takes lend the network's own arrays (Mlp's are fixed at construction) to snapshot slots: give each back with the
    // network's current contents.
    private void ReturnOwnArrays()
    {
        ReturnOwn(Network.Weights, _ownWeights, _snapshotWeights);
        if (_plasticFeedback) ReturnOwn(Network.Feedback, _ownFeedback, _snapshotFeedback);
    }

    private static void ReturnOwn(float[][] current, float[][] own, float[][][] slots)
    {
        for (int l = 0; l < current.Length; l++)
        {
            if (ReferenceEquals(current[l], own[l])) continue;
            foreach (float[][] slot in slots)
            {
                if (!ReferenceEquals(slot[l], own[l])) continue;
                current[l].AsSpan().CopyTo(own[l]);
                (slot[l], current[l]) = (current[l], own[l]);
                break;
            }
        }
    }
}
