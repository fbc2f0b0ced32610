using System.Numerics.Tensors;

namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>Where an episode first produced a non-finite value (NaN or ±∞).</summary>
/// <param name="Step">The 1-based online step that produced it; for the query loss, the number of training steps.</param>
/// <param name="Layer">The layer l of the matrix (1 … L); L for the training or query loss.</param>
/// <param name="Quantity">"W", "B", "z" (the output z_L of a training step's forward pass), "loss" (its cross-entropy), or "query loss".</param>
/// <param name="Direction">−1 for the value itself; otherwise the index into <see cref="ForwardModeEpisode.Directions"/>
/// whose tangent (Ẇ or Ḃ, or the query gradient) went non-finite.</param>
public readonly record struct EpisodeDivergence(long Step, int Layer, string Quantity, int Direction)
{
    public override string ToString() =>
        Direction < 0 ? $"{Quantity} of layer {Layer} non-finite at step {Step}" : $"tangent {Direction} of {Quantity} of layer {Layer} non-finite at step {Step}";
}

/// <summary>The outcome of <see cref="ForwardModeEpisode.Run"/>.</summary>
/// <param name="QueryLoss">Mean cross-entropy of softmax(z_L) over the query images with the final weights; NaN if the episode diverged.</param>
/// <param name="Divergence">The first non-finite value, or null. A meta-learner should skip a diverged episode.</param>
public readonly record struct EpisodeResult(double QueryLoss, EpisodeDivergence? Divergence)
{
    public bool Diverged => Divergence is not null;
}

/// <summary>
/// Exact meta-gradients of an online episode in forward mode: runs <see cref="OnlineLearner.Step"/>'s online steps and,
/// alongside, the tangents Ẇ_l (and Ḃ_l) of the weights along D directions of θ, so that after the episode the query
/// loss and its derivative with respect to each chosen coefficient come out together. Memory is D copies of the
/// weights and does not grow with the episode length; a step costs about D times a tangent step on top of the plain
/// one. See docs/metalearning.md for the equations.
/// </summary>
/// <remarks>
/// The network's weights at <see cref="Reset"/> (or <see cref="Run"/>) are the episode's start and are trained in place;
/// they are taken as independent of θ (tangents start at zero). <see cref="Step"/> and <see cref="QueryLoss"/> allocate
/// nothing once θ's length is known (the first step). Not thread-safe.
/// </remarks>
public sealed class ForwardModeEpisode
{
    private readonly OnlineLearner _learner;
    private readonly int[] _sizes;
    private readonly int[] _directions;
    private readonly bool _separateFeedback, _plasticFeedback, _postError, _preError;
    private readonly float[][][] _wDot; // [d][l − 1]: Ẇ_l along direction d
    private readonly float[][][] _bDot; // [d][l − 1]: Ḃ_l along direction d (only with plastic B)
    private readonly float[][] _zDot;   // [l]: ż_l for every direction, D × n_l, direction-major
    private readonly float[][] _yDot;   // [l]: ẏ_l, D × n_l; _yDot[0] stays zero (the input does not depend on θ)
    private readonly float[][] _eDot;   // [l]: ė_l, D × n_l
    private readonly float[][] _carried; // [l]: B_(l+1)ᵀ e_(l+1) before ⊙ σ'(z_l), then times σ''(z_l)
    private readonly float[][] _derivative; // [l]: σ'(z_l) of the last forward pass
    private readonly float[] _column; // widest layer
    private readonly float[][] _tangentScratch; // [l − 1]
    private float[][] _thetaTangent = [];
    private long _step;
    private EpisodeDivergence? _divergence;

    /// <summary>An episode engine for <paramref name="network"/> (trained in place) and <paramref name="rule"/>.</summary>
    /// <param name="directions">The coefficients to differentiate with respect to, as θ indices (t_k is k; a
    /// parameter its <see cref="RuleParameter.Index"/>); each must be one the rule reads, none twice. None: the episode
    /// runs without tangents (a meta-test) and the query loss has no gradient.</param>
    public ForwardModeEpisode(Mlp network, IDifferentiableRule rule, ReadOnlySpan<int> directions)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(rule);
        FeedbackModes.CheckRule(network.FeedbackMode, rule);
        EpisodeChecks.Directions(rule, directions);

        Network = network;
        Rule = rule;
        _learner = new OnlineLearner(network, rule);
        _directions = directions.ToArray();
        _sizes = [.. network.LayerSizes];
        int layers = _sizes.Length - 1, count = _directions.Length;
        RuleSignals signals = rule.Signals;
        _separateFeedback = network.HasSeparateFeedback;
        _plasticFeedback = (signals & RuleSignals.FeedbackUpdate) != 0;
        _postError = (signals & RuleSignals.PostError) != 0;
        _preError = (signals & RuleSignals.PreError) != 0;

        _wDot = new float[count][][];
        _bDot = new float[count][][];
        for (int d = 0; d < count; d++)
        {
            _wDot[d] = network.Weights.Select(w => new float[w.Length]).ToArray();
            _bDot[d] = _plasticFeedback ? network.Weights.Select(w => new float[w.Length]).ToArray() : [];
        }
        _zDot = new float[layers + 1][];
        _yDot = new float[layers + 1][];
        _eDot = new float[layers + 1][];
        _carried = new float[layers + 1][];
        _derivative = new float[layers + 1][];
        for (int l = 0; l <= layers; l++)
        {
            _zDot[l] = new float[count * _sizes[l]];
            _yDot[l] = new float[count * _sizes[l]];
            _eDot[l] = new float[count * _sizes[l]];
            _carried[l] = new float[_sizes[l]];
            _derivative[l] = new float[_sizes[l]];
        }
        _column = new float[_sizes.Max()];
        _tangentScratch = EpisodeChecks.Scratch(rule, _sizes, "tangent", rule.TangentScratchLength);
    }

    /// <summary>The network trained in place.</summary>
    public Mlp Network { get; }

    public IDifferentiableRule Rule { get; }

    /// <summary>The θ indices differentiated with respect to, in the order of the gradient.</summary>
    public ReadOnlySpan<int> Directions => _directions;

    /// <summary>Online steps since <see cref="Reset"/>.</summary>
    public long StepCount => _step;

    /// <summary>The first non-finite value since <see cref="Reset"/>, or null.</summary>
    public EpisodeDivergence? Divergence => _divergence;

    /// <summary>Ẇ_l along direction <paramref name="direction"/> (an index into <see cref="Directions"/>).</summary>
    public ReadOnlySpan<float> WeightTangent(int direction, int layer) => _wDot[direction][layer - 1];

    /// <summary>Ḃ_l along direction <paramref name="direction"/>; empty unless B is plastic (otherwise Ḃ is Ẇ under backprop, or zero).</summary>
    public ReadOnlySpan<float> FeedbackTangent(int direction, int layer) => _plasticFeedback ? _bDot[direction][layer - 1] : default;

    /// <summary>Starts a new episode from the network's current weights: tangents zero, no steps, no divergence.</summary>
    public void Reset()
    {
        for (int d = 0; d < _directions.Length; d++)
        {
            foreach (float[] w in _wDot[d]) w.AsSpan().Clear();
            foreach (float[] b in _bDot[d]) b.AsSpan().Clear();
        }
        _yDot[0].AsSpan().Clear();
        _step = 0;
        _divergence = null;
    }

    /// <summary>
    /// One online step on (<paramref name="x"/>, <paramref name="label"/>), exactly <see cref="OnlineLearner.Step"/>'s,
    /// carrying the tangents along. Returns null, or the divergence (the first non-finite W, B, tangent or loss; later
    /// steps then do nothing and return it again).
    /// </summary>
    public EpisodeDivergence? Step(ReadOnlySpan<float> x, int label, ReadOnlySpan<float> theta) => Step(x, label, theta, default);

    /// <summary>
    /// <see cref="Step(ReadOnlySpan{float}, int, ReadOnlySpan{float})"/>, whose primal update also runs the forward pass
    /// of <paramref name="next"/>, the following step's input, as <see cref="OnlineLearner.Step(ReadOnlySpan{float}, int, IPlasticityRule, ReadOnlySpan{float}, ReadOnlySpan{float})"/>
    /// does: the following step on that input starts from it. The same bits as without it.
    /// </summary>
    /// <param name="next">The next step's input (n_0 values), or empty for none. A non-finite one is stepped on as
    /// without it: its pass is non-finite, so the update's own check runs, and the next step reports the divergence.
    /// As with <see cref="OnlineLearner.Step(ReadOnlySpan{float}, int, IPlasticityRule, ReadOnlySpan{float}, ReadOnlySpan{float})"/>,
    /// a caller that writes <see cref="Mlp.Weights"/> or <see cref="Mlp.Feedback"/> in place before the next step must not
    /// pass it (loading weights through <see cref="Mlp"/>'s methods is safe).</param>
    public EpisodeDivergence? Step(ReadOnlySpan<float> x, int label, ReadOnlySpan<float> theta, ReadOnlySpan<float> next)
    {
        if (_divergence is not null) return _divergence;
        bool prepare = !next.IsEmpty;
        if (prepare && next.Length != _sizes[0]) throw new ArgumentException($"the next input must have n_0 = {_sizes[0]} values, got {next.Length}.", nameof(next));
        EnsureThetaTangents(theta.Length);
        _learner.ComputeSignals(x, label, Rule, theta, _carried);
        _step++;
        int layers = _sizes.Length - 1;
        // The learner's own output check (as in OnlineLearner.Step), reported here instead of thrown: a non-finite W or B
        // behind the output, else z_L, else the loss.
        if (EpisodeChecks.OutputDivergence(_learner) is { } output) return Diverge(output.Layer, output.Quantity, -1);
        ForwardTangents();
        if (_postError || _preError) ErrorTangents();

        if (prepare) _learner.BeginPrepare(next);
        for (int l = 1; l <= layers; l++)
        {
            // Every tangent of layer l is taken at the pre-update W_l and B_l, so before the primal update.
            LayerSignals signals = _learner.Signals(l, Rule);
            Span<float> scratch = _tangentScratch[l - 1];
            (int Direction, string Quantity)? tangentDivergence = null;
            for (int d = 0; d < _directions.Length; d++)
            {
                var tangent = new LayerTangents(_wDot[d][l - 1], _plasticFeedback ? _bDot[d][l - 1] : default,
                    Slice(_yDot, l, d), Slice(_yDot, l - 1, d), Slice(_zDot, l, d),
                    _postError ? Slice(_eDot, l, d) : default, _preError ? Slice(_eDot, l - 1, d) : default);
                Rule.ApplyTangent(in signals, in tangent, theta, _thetaTangent[d], scratch);
                // Checked now, while the kernel's last rows of Ẇ and Ḃ are still in cache; reported after the primal
                // update, whose own divergence comes first.
                if (tangentDivergence is null)
                {
                    if (!KernelPrimitives.AllFinite(_wDot[d][l - 1])) tangentDivergence = (d, "W");
                    else if (_plasticFeedback && !KernelPrimitives.AllFinite(_bDot[d][l - 1])) tangentDivergence = (d, "B");
                }
            }
            if (_learner.UpdateLayer(l, Rule, theta, prepare) is { } matrix) return Diverge(l, matrix, -1);
            if (tangentDivergence is { } found) return Diverge(l, found.Quantity, found.Direction);
        }
        if (prepare) _learner.EndPrepare();
        return null;
    }

    /// <summary>
    /// The mean cross-entropy of softmax(z_L) over the images <paramref name="indices"/> pick with the current weights,
    /// and in <paramref name="gradient"/> (one entry per direction) its derivative along each direction. Weights are not changed.
    /// </summary>
    /// <param name="images">Images back to back, n_0 values each.</param>
    /// <param name="labels">One label per image.</param>
    public double QueryLoss(ReadOnlySpan<float> images, ReadOnlySpan<byte> labels, ReadOnlySpan<int> indices, Span<double> gradient)
    {
        EpisodeChecks.Samples(_sizes[0], images, labels, indices, "query");
        EpisodeChecks.Gradient(_directions.Length, gradient);
        int inputs = _sizes[0], layers = _sizes.Length - 1, classes = _sizes[layers];
        gradient.Clear();
        double loss = 0;
        foreach (int j in indices)
        {
            _learner.Forward(images.Slice(j * inputs, inputs));
            ForwardTangents();
            ReadOnlySpan<float> logits = _learner.PreActivations(layers);
            ReadOnlySpan<float> probabilities = _learner.Activations(layers);
            int label = labels[j];
            loss += Loss.CrossEntropy(logits, label);
            for (int d = 0; d < _directions.Length; d++)
            {
                // d(−log softmax(z)[label]) = (softmax(z) − onehot) · ż
                ReadOnlySpan<float> zDot = _zDot[layers].AsSpan(d * classes, classes);
                gradient[d] += TensorPrimitives.Dot(probabilities, zDot) - zDot[label];
            }
        }
        for (int d = 0; d < gradient.Length; d++) gradient[d] /= indices.Length;
        return loss / indices.Length;
    }

    /// <summary>
    /// A whole episode: <see cref="Reset"/>, online steps on the <paramref name="train"/> images in order, then
    /// <see cref="QueryLoss"/> on the <paramref name="query"/> images into <paramref name="gradient"/>. A diverged episode
    /// returns its <see cref="EpisodeDivergence"/>, a NaN loss and a NaN gradient instead of throwing.
    /// </summary>
    /// <exception cref="ArgumentException">An index is out of range, a list is empty, or the gradient has the wrong length.</exception>
    public EpisodeResult Run(ReadOnlySpan<float> theta, ReadOnlySpan<float> images, ReadOnlySpan<byte> labels,
        ReadOnlySpan<int> train, ReadOnlySpan<int> query, Span<double> gradient)
    {
        EpisodeChecks.Samples(_sizes[0], images, labels, train, "train");
        EpisodeChecks.Samples(_sizes[0], images, labels, query, "query");
        EpisodeChecks.Gradient(_directions.Length, gradient);
        Reset();
        int inputs = _sizes[0];
        for (int k = 0; k < train.Length; k++)
        {
            ReadOnlySpan<float> next = k + 1 < train.Length ? images.Slice(train[k + 1] * inputs, inputs) : default;
            if (Step(images.Slice(train[k] * inputs, inputs), labels[train[k]], theta, next) is { } divergence)
            {
                gradient.Fill(double.NaN);
                return new EpisodeResult(double.NaN, divergence);
            }
        }
        double loss = QueryLoss(images, labels, query, gradient);
        int layers = _sizes.Length - 1;
        if (!double.IsFinite(loss))
        {
            gradient.Fill(double.NaN);
            return new EpisodeResult(double.NaN, Diverge(layers, "query loss", -1));
        }
        for (int d = 0; d < gradient.Length; d++)
        {
            if (!double.IsFinite(gradient[d]))
            {
                gradient.Fill(double.NaN);
                return new EpisodeResult(double.NaN, Diverge(layers, "query loss", d));
            }
        }
        return new EpisodeResult(loss, null);
    }

    // ż_l = Ẇ_l y_(l−1) + W_l ẏ_(l−1); ẏ_l = σ'(z_l) ⊙ ż_l for hidden layers, ẏ_L = y_L ⊙ (ż_L − (y_L · ż_L)) (softmax).
    private void ForwardTangents()
    {
        int layers = _sizes.Length - 1, count = _directions.Length;
        float[][] weights = Network.Weights;
        for (int l = 1; l <= layers; l++)
        {
            int rows = _sizes[l], columns = _sizes[l - 1];
            Span<float> zDot = _zDot[l];
            if (l == 1)
            {
                zDot.Clear(); // ẏ_0 = 0
            }
            else
            {
                // W_l ẏ_(l−1) for all directions at once: W_l is streamed once, not D times.
                KernelPrimitives.MultiplyBlock(weights[l - 1], rows, columns, _yDot[l - 1], count, zDot);
            }
            ReadOnlySpan<float> pre = _learner.Activations(l - 1);
            Span<float> column = _column.AsSpan(0, rows);
            for (int d = 0; d < count; d++)
            {
                Span<float> zd = zDot.Slice(d * rows, rows);
                KernelPrimitives.MultiplyVector(_wDot[d][l - 1], rows, columns, pre, column);
                TensorPrimitives.Add(zd, column, zd);
            }

            if (l < layers)
            {
                Span<float> derivative = _derivative[l];
                Network.Activation.Derivative(_learner.PreActivations(l), derivative);
                for (int d = 0; d < count; d++)
                {
                    TensorPrimitives.Multiply(zDot.Slice(d * rows, rows), derivative, _yDot[l].AsSpan(d * rows, rows));
                }
            }
            else
            {
                ReadOnlySpan<float> y = _learner.Activations(l);
                for (int d = 0; d < count; d++)
                {
                    Span<float> zd = zDot.Slice(d * rows, rows);
                    Span<float> yd = _yDot[l].AsSpan(d * rows, rows);
                    TensorPrimitives.Subtract(zd, TensorPrimitives.Dot(y, zd), yd);
                    TensorPrimitives.Multiply(yd, y, yd);
                }
            }
        }
    }

    // ė_L = ẏ_L; ė_l = (Ḃ_(l+1)ᵀ e_(l+1) + B_(l+1)ᵀ ė_(l+1)) ⊙ σ'(z_l) + (B_(l+1)ᵀ e_(l+1)) ⊙ σ''(z_l) ⊙ ż_l;
    // ė_0 = Ḃ_1ᵀ e_1 + B_1ᵀ ė_1. Under backprop B is W and Ḃ is Ẇ; with fixed feedback Ḃ = 0.
    private void ErrorTangents()
    {
        int layers = _sizes.Length - 1, count = _directions.Length;
        float[][] backward = _separateFeedback ? Network.Feedback : Network.Weights;
        _yDot[layers].AsSpan().CopyTo(_eDot[layers]);
        for (int l = layers - 1; l >= 0; l--)
        {
            if (l == 0 && !_preError) break;
            int rows = _sizes[l + 1], columns = _sizes[l];
            ReadOnlySpan<float> errorAbove = _learner.Errors(l + 1);
            Span<float> curvature = _carried[l];
            if (l > 0)
            {
                // (B_(l+1)ᵀ e_(l+1)) ⊙ σ''(z_l), shared by all directions
                Span<float> second = _column.AsSpan(0, columns);
                Network.Activation.SecondDerivative(_learner.PreActivations(l), second);
                TensorPrimitives.Multiply(curvature, second, curvature);
            }
            // B_(l+1)ᵀ ė_(l+1) for all directions at once: B is streamed once, not D times.
            KernelPrimitives.MultiplyTransposedBlock(backward[l], rows, columns, _eDot[l + 1], count, _eDot[l]);
            for (int d = 0; d < count; d++)
            {
                Span<float> ed = _eDot[l].AsSpan(d * columns, columns);
                float[]? feedbackTangent = !_separateFeedback ? _wDot[d][l] : _plasticFeedback ? _bDot[d][l] : null;
                if (feedbackTangent is not null)
                {
                    Span<float> column = _column.AsSpan(0, columns);
                    KernelPrimitives.MultiplyTransposedVector(feedbackTangent, rows, columns, errorAbove, column);
                    TensorPrimitives.Add(ed, column, ed);
                }
                if (l > 0)
                {
                    TensorPrimitives.Multiply(ed, _derivative[l], ed);
                    TensorPrimitives.FusedMultiplyAdd(curvature, _zDot[l].AsSpan(d * columns, columns), ed, ed);
                }
            }
        }
    }

    private EpisodeDivergence Diverge(int layer, string quantity, int direction)
    {
        _divergence = new EpisodeDivergence(_step, layer, quantity, direction);
        return _divergence.Value;
    }

    // Direction d's part of a D × n_l block.
    private ReadOnlySpan<float> Slice(float[][] blocks, int layer, int direction) =>
        blocks[layer].AsSpan(direction * _sizes[layer], _sizes[layer]);

    private void EnsureThetaTangents(int length)
    {
        if (_thetaTangent.Length == _directions.Length && (_directions.Length == 0 || _thetaTangent[0].Length == length)) return;
        EpisodeChecks.Theta(_directions, length);
        _thetaTangent = new float[_directions.Length][];
        for (int d = 0; d < _directions.Length; d++)
        {
            _thetaTangent[d] = new float[length];
            _thetaTangent[d][_directions[d]] = 1f;
        }
    }
}
