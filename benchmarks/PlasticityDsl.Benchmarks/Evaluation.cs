using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using PlasticityDsl.Runtime;

namespace PlasticityDsl.Benchmarks;

/// <summary>
/// Evaluation on a test set of 10,000 images: the product of each layer of the 5-layer network with all images, by the
/// packed kernel (<see cref="PackedGemm"/>, in blocks of <see cref="PackedGemm.BlockInputs"/> as <see cref="OnlineLearner.Accuracy"/> runs it) and by
/// <see cref="KernelPrimitives.MultiplyBlock"/> (evaluation before it), and the whole <see cref="OnlineLearner.Accuracy"/>.
/// benchmarks/peer/evaluation.py times PyTorch's sgemm on the same shapes.
/// </summary>
public sealed class EvaluationFixture
{
    public const int Images = 10_000;
    private const int Block = PackedGemm.BlockInputs; // as OnlineLearner.Accuracy
    private const int BlockBefore = 16; // as Accuracy ran MultiplyBlock
    private readonly int _rows, _columns;
    private readonly float[] _weights, _packed, _inputs, _outputs, _scratch;

    public EvaluationFixture(int rows, int columns)
    {
        (_rows, _columns) = (rows, columns);
        var random = new DeterministicRandom((ulong)(rows * 1000 + columns));
        _weights = new float[rows * columns];
        for (int i = 0; i < _weights.Length; i++) _weights[i] = (float)(random.NextDouble() * 2 - 1) * 0.1f;
        _inputs = new float[Images * columns];
        for (int i = 0; i < _inputs.Length; i++) _inputs[i] = (float)random.NextDouble();
        _outputs = new float[Images * rows];
        _packed = new float[PackedGemm.PackedWeightsLength(rows, columns)];
        _scratch = new float[PackedGemm.ScratchLength(columns)];
    }

    /// <summary>Multiply-adds ×2 of one pass over the images.</summary>
    public double Flops => 2.0 * _rows * _columns * Images;

    public void Packed()
    {
        PackedGemm.PackWeights(_weights, _rows, _columns, _packed);
        for (int start = 0; start < Images; start += Block)
        {
            int count = Math.Min(Block, Images - start);
            PackedGemm.Multiply(_packed, _rows, _columns, _inputs.AsSpan(start * _columns, count * _columns), count,
                _outputs.AsSpan(start * _rows, count * _rows), _scratch);
        }
    }

    public void MultiplyBlock()
    {
        for (int start = 0; start < Images; start += BlockBefore)
        {
            int count = Math.Min(BlockBefore, Images - start);
            KernelPrimitives.MultiplyBlock(_weights, _rows, _columns, _inputs.AsSpan(start * _columns, count * _columns), count, _outputs.AsSpan(start * _rows, count * _rows));
        }
    }
}

/// <summary>The whole evaluation of the 5-layer network (Xavier weights) on 10,000 synthetic MNIST-like images.</summary>
public sealed class AccuracyFixture
{
    private readonly OnlineLearner _learner;
    private readonly float[] _images;
    private readonly byte[] _labels;

    public AccuracyFixture()
    {
        var network = new Mlp(Workloads.FiveLayer);
        network.Initialize(InitScheme.Xavier, 1);
        _learner = new OnlineLearner(network);
        (_images, _labels) = Workloads.SyntheticMnist(EvaluationFixture.Images, 7);
    }

    public double Run() => Run(EvaluationFixture.Images, threads: 1);

    /// <summary>The first <paramref name="count"/> images on <paramref name="threads"/> threads.</summary>
    public double Run(int count, int threads) => _learner.Accuracy(_images, _labels, count, threads);
}

public static class Evaluation
{
    /// <summary>The layers of the 5-layer network as rows × columns.</summary>
    public static string[] Shapes => ["170x784", "130x170", "100x130", "70x100", "10x70"];

    /// <summary><c>--evaluation --seconds S</c>: one JSON line: GFLOP/s per layer shape (packed, MultiplyBlock) and
    /// images per second of the whole evaluation, each the median and the best of 5 timed slices of S / 30 seconds (the
    /// slices of peer/evaluation.py), and the core's FMA peak measured before and after them (the higher of the two), so
    /// that a share of the peak is a ratio within one process. The best slice is the one the other tenants of a shared
    /// host disturbed least: they only ever add time.</summary>
    public static int Run(double seconds)
    {
        double peakBefore = Probe.FmaPeak();
        var parts = new List<string>();
        double slice = seconds / 5 / (Shapes.Length + 1);
        foreach (string shape in Shapes)
        {
            (int rows, int columns) = Workloads.ParseShape(shape);
            var fixture = new EvaluationFixture(rows, columns);
            Measure.WarmUp([fixture.Packed, fixture.MultiplyBlock], 0.2);
            Timing packed = Measure.Run(fixture.Packed, roundSeconds: slice, rounds: 5);
            Timing block = Measure.Run(fixture.MultiplyBlock, roundSeconds: slice, rounds: 5);
            parts.Add(string.Create(CultureInfo.InvariantCulture,
                $"\"{shape}\": {{\"packed_gflops\": {fixture.Flops / packed.MedianNs:F1}, \"best_gflops\": {fixture.Flops / packed.MinNs:F1}, \"multiply_block_gflops\": {fixture.Flops / block.MedianNs:F1}, \"spread\": {packed.Spread:F3}}}"));
        }
        var accuracy = new AccuracyFixture();
        Measure.WarmUp([() => accuracy.Run()], 0.3);
        Timing whole = Measure.Run(() => accuracy.Run(), roundSeconds: slice, rounds: 5);
        double peak = Math.Max(peakBefore, Probe.FmaPeak());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"side\": \"ours\", \"images_per_second\": {EvaluationFixture.Images * whole.PerSecond:F0}, \"best_images_per_second\": {EvaluationFixture.Images / whole.MinNs * 1e9:F0}, \"bytes_per_evaluation\": {whole.BytesPerOp:F0}, \"fma_peak_gflops\": {peak:F1}, {string.Join(", ", parts)}}}"));
        return 0;
    }
}

/// <summary>The evaluation products in BenchmarkDotNet (GFLOP/s = 2·rows·columns·10,000 / time).</summary>
public class EvaluationBenchmarks
{
    private EvaluationFixture _fixture = null!;
    private AccuracyFixture _accuracy = null!;

    public static IEnumerable<string> ShapeValues => Evaluation.Shapes;

    [ParamsSource(nameof(ShapeValues))]
    public string Shape { get; set; } = "170x784";

    [GlobalSetup]
    public void Setup()
    {
        (int rows, int columns) = Workloads.ParseShape(Shape);
        _fixture = new EvaluationFixture(rows, columns);
        _accuracy = new AccuracyFixture();
    }

    [Benchmark(Baseline = true)]
    public void MultiplyBlock() => _fixture.MultiplyBlock();

    [Benchmark]
    public void Packed() => _fixture.Packed();

    /// <summary>The whole evaluation of 10,000 images (the same for every shape).</summary>
    [Benchmark]
    public double Accuracy() => _accuracy.Run();
}

/// <summary>
/// <c>--evaluation-breakdown [--rounds N]</c>: where the thread CPU time of one whole evaluation (5-layer network, 10,000
/// images, blocks of PackedGemm.BlockInputs) goes when its parts run as separate passes: packing W, each layer's product, each hidden
/// layer's activation over the block, the argmax. Each call is timed by the thread's CPU clock, so other processes on
/// the core do not inflate it (run it pinned: <c>taskset -c 1</c>); <see cref="OnlineLearner.Accuracy"/> itself is
/// timed in the same rounds, interleaved, and must count the same correct images.
/// </summary>
public static class EvaluationBreakdown
{
    private const int Block = PackedGemm.BlockInputs; // as OnlineLearner.Accuracy

    public static int Run(int rounds)
    {
        int[] sizes = Workloads.FiveLayer;
        int layers = sizes.Length - 1;
        var network = new Mlp(sizes);
        network.Initialize(InitScheme.Xavier, 1);
        var learner = new OnlineLearner(network);
        (float[] images, byte[] labels) = Workloads.SyntheticMnist(EvaluationFixture.Images, 7);
        var passes = new SeparatePasses(network, sizes, Block);
        string[] phases = ["pack W", .. Enumerable.Range(1, layers).Select(l => $"product {sizes[l]}×{sizes[l - 1]}"),
            .. Enumerable.Range(1, layers - 1).Select(l => $"activation, {sizes[l]} rows"), "argmax",
            $"product {sizes[1]}×{sizes[0]} again, its inputs in cache (apart)", "stream the images once (apart)"];
        var perPhase = new double[phases.Length][];
        for (int p = 0; p < phases.Length; p++) perPhase[p] = new double[rounds];
        var whole = new double[rounds];
        var clockCost = new double[rounds];

        Measure.WarmUp([() => learner.Accuracy(images, labels, EvaluationFixture.Images), () => passes.Accuracy(images, labels, new double[phases.Length])], 0.5);
        for (int r = 0; r < rounds; r++)
        {
            long start = Measure.ThreadCpuNs();
            double accuracy = learner.Accuracy(images, labels, EvaluationFixture.Images);
            whole[r] = Measure.ThreadCpuNs() - start;
            var times = new double[phases.Length];
            if (passes.Accuracy(images, labels, times) != accuracy)
            {
                throw new InvalidOperationException("the separate passes and OnlineLearner.Accuracy disagree.");
            }
            times[^1] = passes.StreamImages(images);
            for (int p = 0; p < phases.Length; p++) perPhase[p][r] = times[p];
            clockCost[r] = ClockPairNs() * passes.TimedCalls;
        }

        double Min(double[] values) => values.Min();
        const int Apart = 2; // the last two rows are not parts of the evaluation
        double sum = Measure.Median(Enumerable.Range(0, rounds).Select(r => perPhase.Take(phases.Length - Apart).Sum(p => p[r])).ToArray());
        Console.WriteLine($"# Whole evaluation, 5-layer network, {EvaluationFixture.Images:N0} images: thread CPU time, {rounds} interleaved rounds (median, min)");
        Console.WriteLine();
        Console.WriteLine("| part | median ms | min ms | share of the separate passes |");
        Console.WriteLine("|---|---|---|---|");
        for (int p = 0; p < phases.Length; p++)
        {
            string share = p < phases.Length - Apart ? $"{Measure.Median(perPhase[p]) / sum:P1}" : "–";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {phases[p]} | {Measure.Median(perPhase[p]) / 1e6:F2} | {Min(perPhase[p]) / 1e6:F2} | {share} |"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| separate passes, sum (clock reads {Measure.Median(clockCost) / 1e6:F2} ms of it) | {sum / 1e6:F2} | | 100 % |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| OnlineLearner.Accuracy, whole | {Measure.Median(whole) / 1e6:F2} | {Min(whole) / 1e6:F2} | {Measure.Median(whole) / sum:P1} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"\nimages/s of CPU time, OnlineLearner.Accuracy: median {EvaluationFixture.Images / (Measure.Median(whole) / 1e9):F0}, best {EvaluationFixture.Images / (Min(whole) / 1e9):F0}; 1-minute load average {Measure.Load():F2}"));
        return 0;
    }

    // CPU time of one pair of clock reads, the cost each timed call adds.
    private static double ClockPairNs()
    {
        const int Pairs = 1000;
        long start = Measure.ThreadCpuNs();
        for (int i = 0; i < Pairs; i++) _ = Measure.ThreadCpuNs() - Measure.ThreadCpuNs();
        return (Measure.ThreadCpuNs() - start) / (double)Pairs;
    }

    // The evaluation as separate passes over each block (PackedGemm product, then the activation over the whole block,
    // then the argmax), each timed.
    private sealed class SeparatePasses(Mlp network, int[] sizes, int block)
    {
        private readonly float[][] _packed = Enumerable.Range(1, sizes.Length - 1).Select(l => new float[PackedGemm.PackedWeightsLength(sizes[l], sizes[l - 1])]).ToArray();
        private readonly float[] _a = new float[block * sizes.Skip(1).Max()], _b = new float[block * sizes.Skip(1).Max()];
        private readonly float[] _scratch = new float[PackedGemm.ScratchLength(sizes[..^1].Max())];

        public long TimedCalls { get; private set; }

        public double Accuracy(float[] images, byte[] labels, double[] times)
        {
            int layers = sizes.Length - 1, count = EvaluationFixture.Images, correct = 0;
            TimedCalls = 0;
            long t = Measure.ThreadCpuNs();
            for (int l = 1; l <= layers; l++) PackedGemm.PackWeights(network.Weights[l - 1], sizes[l], sizes[l - 1], _packed[l - 1]);
            t = Add(times, 0, t);
            for (int start = 0; start < count; start += block)
            {
                int n = Math.Min(block, count - start);
                ReadOnlySpan<float> input = images.AsSpan(start * sizes[0], n * sizes[0]);
                Span<float> output = default;
                for (int l = 1; l <= layers; l++)
                {
                    output = (l % 2 == 1 ? _a : _b).AsSpan(0, n * sizes[l]);
                    PackedGemm.Multiply(_packed[l - 1], sizes[l], sizes[l - 1], input, n, output, _scratch);
                    t = Add(times, l, t);
                    if (l == 1)
                    {
                        // the same product once more, now that the block's images are in L2: what reading them from memory costs
                        PackedGemm.Multiply(_packed[0], sizes[1], sizes[0], input, n, output, _scratch);
                        t = Add(times, 2 * layers + 1, t);
                    }
                    if (l < layers)
                    {
                        network.Activation.Apply(output, output);
                        t = Add(times, layers + l, t);
                    }
                    input = output;
                }
                int classes = sizes[layers];
                for (int k = 0; k < n; k++)
                {
                    if (KernelPrimitives.ArgMax(output.Slice(k * classes, classes)) == labels[start + k]) correct++;
                }
                t = Add(times, 2 * layers, t);
            }
            return correct / (double)count;
        }

        // CPU time of one read of all images (what the first layer's product must at least spend on memory).
        public double StreamImages(float[] images)
        {
            long start = Measure.ThreadCpuNs();
            float sum = System.Numerics.Tensors.TensorPrimitives.Sum(images);
            double ns = Measure.ThreadCpuNs() - start;
            return float.IsNaN(sum) ? double.NaN : ns;
        }

        private long Add(double[] times, int phase, long since)
        {
            long now = Measure.ThreadCpuNs();
            times[phase] += now - since;
            TimedCalls++;
            return now;
        }
    }
}

/// <summary>
/// <c>--evaluation-threads</c>: the whole <see cref="OnlineLearner.Accuracy"/> of the 5-layer network on 10,000 images
/// with one thread and with every core, in alternating rounds of one process (wall clock), and the same product on each
/// thread's share alone: how far the threads scale, and whether a thread's share costs more when the other runs.
/// </summary>
public static class EvaluationThreads
{
    public static int Run(int rounds)
    {
        int threads = Environment.ProcessorCount;
        var accuracy = new AccuracyFixture();
        Action one = () => accuracy.Run(EvaluationFixture.Images, 1);
        Action all = () => accuracy.Run(EvaluationFixture.Images, threads);
        Action halfOnOne = () => accuracy.Run(EvaluationFixture.Images / 2, 1);
        Measure.WarmUp([one, all, halfOnOne]);
        var times = new double[3][];
        for (int k = 0; k < 3; k++) times[k] = new double[rounds];
        Action[] cases = [one, all, halfOnOne];
        for (int r = 0; r < rounds; r++)
        {
            for (int k = 0; k < cases.Length; k++)
            {
                int c = (k + r) % cases.Length; // each case in every position in turn
                long start = Stopwatch.GetTimestamp();
                cases[c]();
                times[c][r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }

        Console.WriteLine($"# Evaluation of 10,000 images, 5-layer network: 1 thread vs {threads} ({rounds} alternating rounds, wall ms; median, best)");
        Console.WriteLine();
        Console.WriteLine("| case | median ms | best ms |");
        Console.WriteLine("|---|---:|---:|");
        string[] names = ["1 thread, 10,000 images", $"{threads} threads, 10,000 images", "1 thread, 5,000 images"];
        for (int k = 0; k < 3; k++) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {names[k]} | {Measure.Median(times[k]):F2} | {times[k].Min():F2} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"\nspeed-up of {threads} threads: median {Measure.Median(times[0]) / Measure.Median(times[1]):F2}×, best {times[0].Min() / times[1].Min():F2}×"));
        return 0;
    }
}
