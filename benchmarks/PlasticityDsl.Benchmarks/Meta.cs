using System.Diagnostics;
using System.Globalization;
using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.MetaLearning;

namespace PlasticityDsl.Benchmarks;

/// <summary>
/// Our side of the meta-gradient comparison (benchmarks/peer/meta_episode.py, driven by benchmarks/peer/compare_meta.py):
/// one online episode of <c>--steps</c> steps on 784-170-130-100-70-20 (softplus β = 10, 20 classes, labels from 5 of
/// them, MNIST-like synthetic images), θ = the peer's THETA, one thread. Arms, timed in interleaved rounds of one
/// process so that their ratios come from the same run (odd rounds in reverse order, so that no arm always runs first):
/// <list type="bullet">
/// <item><c>plain</c>: <c>--steps</c> <see cref="OnlineLearner.Step"/>s of Eq. 9 (examples/rules/eq9.rule), feedback
/// alignment with plastic B, each given the next input as <c>train</c> gives it — the episode without its gradient;</item>
/// <item><c>meta6</c>: the same episode with the gradient along D = 6 directions (t0, t1, t2, t3, t4, t9) of the query
/// loss on 50 images — what the PyTorch peer computes — in reverse mode (<see cref="ReverseModeEpisode"/> with
/// <see cref="ReverseModeEpisode.DefaultSnapshots"/> snapshots; what meta-learning uses for six directions,
/// <see cref="MetaGradient"/>);</item>
/// <item><c>forward6</c>: the same gradient in forward mode (<see cref="ForwardModeEpisode.Run"/>, 6 tangents);</item>
/// <item><c>plain_bp</c>, <c>meta1</c> and <c>forward1</c>: backprop (sym) with bp.rule, and its episode with D = 1 (t0)
/// in reverse and in forward mode (the one meta-learning uses for one direction).</item>
/// </list>
/// Every episode starts from the same Xavier weights (and B). Memory: bytes the engine allocates when built and on its
/// first episode (its persistent buffers: Ẇ, Ḃ and per-layer vectors), bytes allocated by each later episode
/// (<see cref="GC.GetAllocatedBytesForCurrentThread"/>; 0 means nothing grows with the episode), and the growth of the
/// process's peak resident set (VmHWM, the peer's ru_maxrss) from before the networks are built to the end.
/// </summary>
public static class Meta
{
    public static int[] Sizes => [784, 170, 130, 100, 70, 20];
    private const int Query = 50;
    // benchmarks/peer/meta_episode.py THETA: t0 1e-2, t1 1e-3, t2 1e-4, t3 1e-5, t4 1e-3, t9 1e-5.
    private static float[] Eq9Theta => [1e-2f, 1e-3f, 1e-4f, 1e-5f, 1e-3f, 0, 0, 0, 0, 1e-5f];
    private static float[] BpTheta => [1e-2f, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary><c>--meta --steps N [--repeat R] [--arms plain,meta6,forward6,plain_bp,meta1,forward1]</c>: one JSON line per arm (median wall time, and the median thread CPU time, which a loaded machine inflates less).</summary>
    public static int Run(int steps, int repeat, string[] arms)
    {
        (float[] images, byte[] labels) = Data(steps + Query, seed: 1);
        int[] train = Enumerable.Range(0, steps).ToArray();
        int[] query = Enumerable.Range(steps, Query).ToArray();
        long rssBefore = PeakResidentBytes();

        var cases = arms.Select(arm => Case.Create(arm, images, labels, train, query)).ToArray();
        Measure.WarmUp([.. cases.Select(c => (Action)c.Episode)], seconds: 0);
        Measure.ThreadCpuNs(); // binds clock_gettime (its first call allocates) before any allocation is counted

        var samples = cases.Select(_ => new List<double>()).ToArray();
        var cpuSamples = cases.Select(_ => new List<double>()).ToArray();
        var allocated = new long[cases.Length];
        for (int r = 0; r < repeat; r++)
        {
            // Odd rounds run the arms in reverse order: an arm's place in a round moves its time by several percent here
            // (docs/performance.md, "The next input prepared in the forward-mode engine's steps").
            for (int i = 0; i < cases.Length; i++)
            {
                int k = r % 2 == 0 ? i : cases.Length - 1 - i;
                long bytes = GC.GetAllocatedBytesForCurrentThread();
                long cpuStart = Measure.ThreadCpuNs();
                long start = Stopwatch.GetTimestamp();
                cases[k].Episode();
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                double cpuMs = (Measure.ThreadCpuNs() - cpuStart) / 1e6;
                allocated[k] = Math.Max(allocated[k], GC.GetAllocatedBytesForCurrentThread() - bytes);
                samples[k].Add(ms);
                cpuSamples[k].Add(cpuMs);
            }
        }
        double rssGrowthMb = (PeakResidentBytes() - rssBefore) / 1048576.0;
        for (int k = 0; k < cases.Length; k++)
        {
            List<double> s = samples[k];
            s.Sort();
            cpuSamples[k].Sort();
            Case c = cases[k];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"side\": \"ours\", \"arm\": \"{c.Arm}\", \"rule\": \"{c.RuleName}\", \"feedback\": \"{c.Feedback}\", \"directions\": {c.Directions}, " +
                $"\"steps\": {steps}, \"threads\": 1, \"ms_per_episode\": {s[s.Count / 2]:F3}, \"min\": {s[0]:F3}, \"max\": {s[^1]:F3}, " +
                $"\"thread_cpu_ms\": {cpuSamples[k][s.Count / 2]:F3}, " +
                $"\"persistent_bytes\": {c.PersistentBytes}, \"bytes_per_episode\": {allocated[k]}, \"query_loss\": {c.LastLoss:G9}, " +
                $"\"gradient\": [{string.Join(", ", c.Gradient.Select(g => g.ToString("G9", CultureInfo.InvariantCulture)))}], " +
                $"\"peak_rss_growth_mb\": {rssGrowthMb:F1}}}"));
        }
        return 0;
    }

    /// <summary>
    /// <c>--meta-breakdown</c>: where a forward-mode step of the 5-layer network goes (D = 6, Eq. 9 fa): the whole
    /// <see cref="ForwardModeEpisode.Step"/>, the plain step, and the generated tangent kernels alone (6 directions × 5
    /// layers on fixed signals), in interleaved rounds.
    /// </summary>
    public static int Breakdown()
    {
        int[] sizes = Sizes;
        (float[] images, byte[] labels) = Data(256, seed: 1);
        float[] theta = Eq9Theta;
        var network = new Mlp(sizes, Activation.Softplus, FeedbackMode.Random);
        network.Initialize(InitScheme.Xavier, 1);
        float[][] w0 = network.CopyWeights();
        float[][] b0 = network.Feedback.Select(b => (float[])b.Clone()).ToArray();
        var engine = new ForwardModeEpisode(network, Eq9Rule.Instance, [0, 1, 2, 3, 4, 9]);
        int next = 0;
        void MetaStep()
        {
            if (next == 250) { next = 0; network.LoadWeights(w0); network.LoadFeedback(b0); engine.Reset(); }
            engine.Step(images.AsSpan(next * 784, 784), labels[next], theta);
            next++;
        }
        var plainNetwork = new Mlp(sizes, Activation.Softplus, FeedbackMode.Random);
        plainNetwork.Initialize(InitScheme.Xavier, 1);
        var learner = new OnlineLearner(plainNetwork, Eq9Rule.Instance);
        int nextPlain = 0;
        void PlainStep()
        {
            if (nextPlain == 250) { nextPlain = 0; plainNetwork.LoadWeights(w0); plainNetwork.LoadFeedback(b0); }
            learner.Step(images.AsSpan(nextPlain * 784, 784), labels[nextPlain], Eq9Rule.Instance, theta);
            nextPlain++;
        }
        var layers = new List<(LayerFixture Layer, float[][] WDot, float[][] BDot, float[][] Vectors, float[] Scratch)>();
        for (int l = 1; l < sizes.Length; l++)
        {
            var layer = new LayerFixture(sizes[l], sizes[l - 1], (ulong)l, Eq9Rule.Instance);
            var wDot = Enumerable.Range(0, 6).Select(_ => new float[sizes[l] * sizes[l - 1]]).ToArray();
            var bDot = Enumerable.Range(0, 6).Select(_ => new float[sizes[l] * sizes[l - 1]]).ToArray();
            var random = new DeterministicRandom((ulong)(100 + l));
            float[] Vec(int n) { var v = new float[n]; for (int i = 0; i < n; i++) v[i] = (float)random.NextDouble(-0.01, 0.01); return v; }
            layers.Add((layer, wDot, bDot, [Vec(sizes[l]), Vec(sizes[l - 1]), Vec(sizes[l]), Vec(sizes[l]), Vec(sizes[l - 1])],
                new float[Eq9Rule.Instance.TangentScratchLength(sizes[l], sizes[l - 1])]));
        }
        float[][] thetaTangent = [.. new[] { 0, 1, 2, 3, 4, 9 }.Select(k => { var t = new float[10]; t[k] = 1; return t; })];
        float[] tinyTheta = [1e-6f, 1e-6f, 1e-6f, 1e-6f, 1e-6f, 0, 0, 0, 0, 1e-6f]; // keep fixed-signal tangents bounded
        void Kernels()
        {
            foreach (var (layer, wDot, bDot, v, scratch) in layers)
            {
                for (int d = 0; d < 6; d++)
                {
                    var tangent = new LayerTangents(wDot[d], bDot[d], v[0], v[1], v[2], v[3], v[4]);
                    Eq9Rule.Instance.ApplyTangent(layer.Signals, in tangent, tinyTheta, thetaTangent[d], scratch);
                }
            }
        }
        // The engine's other matrix passes, with the same primitives: forward tangent (Ẇ_l y_(l−1) per direction, W_l ẏ
        // for all directions at once), error tangent (B_lᵀ ė_l for all directions at once, Ḃ_lᵀ e_l per direction),
        // finiteness of Ẇ and Ḃ (here cold; the engine checks each direction right after its tangent kernel).
        float[] block = new float[6 * 784], blockOut = new float[6 * 784], column = new float[784];
        void ForwardTangent()
        {
            foreach (var (layer, wDot, _, v, _) in layers)
            {
                KernelPrimitives.MultiplyBlock(layer.Weights, layer.Rows, layer.Columns, block.AsSpan(0, 6 * layer.Columns), 6, blockOut.AsSpan(0, 6 * layer.Rows));
                for (int d = 0; d < 6; d++) KernelPrimitives.MultiplyVector(wDot[d], layer.Rows, layer.Columns, v[1], column.AsSpan(0, layer.Rows));
            }
        }
        void ErrorTangent()
        {
            foreach (var (layer, _, bDot, v, _) in layers)
            {
                KernelPrimitives.MultiplyTransposedBlock(layer.Feedback, layer.Rows, layer.Columns, block.AsSpan(0, 6 * layer.Rows), 6, blockOut.AsSpan(0, 6 * layer.Columns));
                for (int d = 0; d < 6; d++) KernelPrimitives.MultiplyTransposedVector(bDot[d], layer.Rows, layer.Columns, v[3], column.AsSpan(0, layer.Columns));
            }
        }
        bool finite = true;
        void Finite()
        {
            foreach (var (_, wDot, bDot, _, _) in layers)
            {
                for (int d = 0; d < 6; d++) finite &= KernelPrimitives.AllFinite(wDot[d]) && KernelPrimitives.AllFinite(bDot[d]);
            }
        }
        Action[] operations = [MetaStep, PlainStep, Kernels, ForwardTangent, ErrorTangent, Finite];
        string[] names = ["ForwardModeEpisode.Step, D = 6", "OnlineLearner.Step (plain)", "tangent kernels alone, 6 × 5 layers",
            "forward tangent products (W once, Ẇ × 6)", "error tangent products (B once, Ḃ × 6)", "AllFinite(Ẇ, Ḃ) × 6"];
        Measure.WarmUp(operations, 1.0);
        var results = new List<double>[operations.Length];
        for (int k = 0; k < operations.Length; k++) results[k] = [];
        for (int r = 0; r < 5; r++)
        {
            for (int k = 0; k < operations.Length; k++) results[k].Add(Measure.Run(operations[k], roundSeconds: 0.2, rounds: 3, warmupSeconds: 0.02).MedianNs);
        }
        for (int k = 0; k < operations.Length; k++)
        {
            results[k].Sort();
            Console.WriteLine($"{names[k],-42} median {Measure.Time(results[k][2]),10}  min {Measure.Time(results[k][0]),10}  max {Measure.Time(results[k][4]),10}");
        }
        return 0;
    }

    /// <summary>
    /// <c>--reverse-breakdown [--steps N] [--snapshots S] [--repeat R]</c>: where a reverse-mode episode (meta6: Eq. 9 fa,
    /// D = 6) goes, in thread CPU time: the engine adds each part's time to <see cref="ReversePhaseTimes"/> (the schedule's
    /// first sweep and its recomputation, snapshot copies, the query loss, each reversed step's own signals, the adjoint
    /// kernels, the error pass transposed, and the forward pass transposed in three parts). In each of R rounds: the plain
    /// episode, the reverse episode untimed and the reverse episode timed by part, interleaved (odd rounds in reverse
    /// order); medians over the rounds,
    /// each also as a multiple of the plain episode (so the parts add up to the "reverse ÷ plain" of the run).
    /// </summary>
    public static int ReverseBreakdown(int steps, int snapshots, int repeat)
    {
        (float[] images, byte[] labels) = Data(steps + Query, seed: 1);
        int[] train = Enumerable.Range(0, steps).ToArray();
        int[] query = Enumerable.Range(steps, Query).ToArray();
        Case plain = Case.Create("plain", images, labels, train, query);
        Case reverse = Case.Create($"meta6@{snapshots}", images, labels, train, query);
        var times = new ReversePhaseTimes(Measure.ThreadCpuNs);
        ReversePhase[] phases = Enum.GetValues<ReversePhase>();
        Measure.WarmUp([plain.Episode, reverse.Episode], seconds: 0);

        double Cpu(Action episode)
        {
            long start = Measure.ThreadCpuNs();
            episode();
            return (Measure.ThreadCpuNs() - start) / 1e6;
        }
        var plainMs = new List<double>();
        var untimedMs = new List<double>();
        var timedMs = new List<double>();
        var phaseMs = phases.Select(_ => new List<double>()).ToArray();
        void Untimed()
        {
            reverse.Reverse!.PhaseTimes = null;
            untimedMs.Add(Cpu(reverse.Episode));
        }
        void Timed()
        {
            times.Clear();
            reverse.Reverse!.PhaseTimes = times;
            timedMs.Add(Cpu(reverse.Episode));
            for (int p = 0; p < phases.Length; p++) phaseMs[p].Add(times.Nanoseconds(phases[p]) / 1e6);
        }
        Action[] arms = [() => plainMs.Add(Cpu(plain.Episode)), Untimed, Timed];
        for (int r = 0; r < repeat; r++)
        {
            // Odd rounds in reverse order, as in Run.
            foreach (Action arm in r % 2 == 0 ? arms : arms.Reverse()) arm();
        }

        double plainMedian = Measure.Median(plainMs);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"reverse-mode episode, Eq. 9 fa, D = 6, {steps} steps, {snapshots} snapshots, {reverse.Reverse!.ForwardSteps} forward steps " +
            $"({(double)reverse.Reverse.ForwardSteps / steps:F2} per step); thread CPU ms, medians of {repeat} interleaved rounds"));
        void Line(string name, double ms) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-42} {ms,9:F2} ms  {ms / plainMedian,6:F2}× plain"));
        Line("plain episode (no gradient)", plainMedian);
        Line("reverse episode, untimed", Measure.Median(untimedMs));
        Line("reverse episode, timed by part", Measure.Median(timedMs));
        for (int p = 0; p < phases.Length; p++) Line($"  {phases[p]}", Measure.Median(phaseMs[p]));
        return 0;
    }

    /// <summary>Images as <see cref="Workloads.SyntheticMnist"/> (19 % of pixels in (0.05, 1]); labels from 5 of the 20 classes, as the peer's.</summary>
    public static (float[] Images, byte[] Labels) Data(int count, ulong seed)
    {
        (float[] images, _) = Workloads.SyntheticMnist(count, seed);
        var random = new DeterministicRandom(seed + 77);
        var classes = Enumerable.Range(0, Sizes[^1]).ToArray();
        for (int i = classes.Length - 1; i > 0; i--)
        {
            int j = random.NextInt(i + 1);
            (classes[i], classes[j]) = (classes[j], classes[i]);
        }
        var labels = new byte[count];
        for (int k = 0; k < count; k++) labels[k] = (byte)classes[random.NextInt(5)];
        return (images, labels);
    }

    /// <summary>VmHWM of /proc/self/status (the peak resident set; what ru_maxrss reports), in bytes.</summary>
    private static long PeakResidentBytes()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.PeakWorkingSet64;
    }

    private sealed class Case
    {
        private readonly Mlp _network;
        private readonly float[][] _initialWeights;
        private readonly float[][] _initialFeedback;
        private readonly IDifferentiableRule _rule;
        private readonly float[] _theta;
        private readonly float[] _images;
        private readonly byte[] _labels;
        private readonly int[] _train, _query;
        private readonly OnlineLearner? _learner;
        private readonly ForwardModeEpisode? _forward;

        private Case(string arm, IDifferentiableRule rule, FeedbackMode feedback, float[] theta, int[]? directions,
            float[] images, byte[] labels, int[] train, int[] query, bool forwardMode = false, int snapshots = ReverseModeEpisode.DefaultSnapshots)
        {
            Arm = arm;
            _rule = rule;
            _theta = theta;
            _images = images;
            _labels = labels;
            _train = train;
            _query = query;
            _network = new Mlp(Sizes, Activation.Softplus, feedback);
            _network.Initialize(InitScheme.Xavier, 1);
            _initialWeights = _network.CopyWeights();
            _initialFeedback = _network.Feedback.Select(b => (float[])b.Clone()).ToArray();
            Feedback = FeedbackModes.Name(feedback);
            long before = GC.GetAllocatedBytesForCurrentThread();
            if (directions is null)
            {
                _learner = new OnlineLearner(_network, rule);
                Gradient = [];
                Directions = 0;
            }
            else
            {
                if (forwardMode) _forward = new ForwardModeEpisode(_network, rule, directions);
                else Reverse = new ReverseModeEpisode(_network, (IAdjointRule)rule, directions, snapshots);
                Gradient = new double[directions.Length];
                Directions = directions.Length;
            }
            Episode(); // the first episode sizes θ's tangents
            PersistentBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        public string Arm { get; }
        public string RuleName => _rule.Name;
        public string Feedback { get; }
        public int Directions { get; }
        public long PersistentBytes { get; }
        public double[] Gradient { get; }
        public double LastLoss { get; private set; }

        /// <summary>The reverse-mode engine of a meta6 or meta1 arm.</summary>
        public ReverseModeEpisode? Reverse { get; }

        public static Case Create(string arm, float[] images, byte[] labels, int[] train, int[] query) => arm switch
        {
            "plain" => new Case(arm, Eq9Rule.Instance, FeedbackMode.Random, Eq9Theta, null, images, labels, train, query),
            "meta6" => new Case(arm, Eq9Rule.Instance, FeedbackMode.Random, Eq9Theta, [0, 1, 2, 3, 4, 9], images, labels, train, query),
            "plain_bp" => new Case(arm, BpRule.Instance, FeedbackMode.Symmetric, BpTheta, null, images, labels, train, query),
            "forward6" => new Case(arm, Eq9Rule.Instance, FeedbackMode.Random, Eq9Theta, [0, 1, 2, 3, 4, 9], images, labels, train, query, forwardMode: true),
            "meta1" => new Case(arm, BpRule.Instance, FeedbackMode.Symmetric, BpTheta, [0], images, labels, train, query),
            "forward1" => new Case(arm, BpRule.Instance, FeedbackMode.Symmetric, BpTheta, [0], images, labels, train, query, forwardMode: true),
            // meta6@S: meta6 with S snapshots instead of the default
            _ when arm.StartsWith("meta6@", StringComparison.Ordinal) => new Case(arm, Eq9Rule.Instance, FeedbackMode.Random, Eq9Theta, [0, 1, 2, 3, 4, 9],
                images, labels, train, query, snapshots: int.Parse(arm.AsSpan("meta6@".Length), CultureInfo.InvariantCulture)),
            _ => throw new ArgumentException($"unknown arm '{arm}' (plain, meta6, meta6@S, forward6, plain_bp, meta1, forward1)", nameof(arm)),
        };

        public void Episode()
        {
            _network.LoadWeights(_initialWeights);
            if (_initialFeedback.Length > 0) _network.LoadFeedback(_initialFeedback);
            if (_forward is not null || Reverse is not null)
            {
                EpisodeResult result = _forward is not null
                    ? _forward.Run(_theta, _images, _labels, _train, _query, Gradient)
                    : Reverse!.Run(_theta, _images, _labels, _train, _query, Gradient);
                if (result.Diverged) throw new InvalidOperationException($"{Arm}: {result.Divergence}");
                LastLoss = result.QueryLoss;
            }
            else
            {
                // As `train` steps (OnlineRun): each step given the next input, whose forward pass its update prepares.
                for (int k = 0; k < _train.Length; k++)
                {
                    int i = _train[k];
                    ReadOnlySpan<float> next = k + 1 < _train.Length ? _images.AsSpan(_train[k + 1] * 784, 784) : default;
                    _learner!.Step(_images.AsSpan(i * 784, 784), _labels[i], _rule, _theta, next);
                }
                LastLoss = _learner!.LastLoss;
            }
        }
    }
}
