using System.Globalization;
using BenchmarkDotNet.Attributes;
using PlasticityDsl.Runtime;

namespace PlasticityDsl.Benchmarks;

/// <summary>
/// Evaluation on a test set of 10,000 images: the product of each layer of the 5-layer network with all images, by the
/// packed kernel (<see cref="PackedGemm"/>, in blocks of 128 as <see cref="OnlineLearner.Accuracy"/> runs it) and by
/// <see cref="KernelPrimitives.MultiplyBlock"/> (evaluation before it), and the whole <see cref="OnlineLearner.Accuracy"/>.
/// benchmarks/peer/evaluation.py times PyTorch's sgemm on the same shapes.
/// </summary>
public sealed class EvaluationFixture
{
    public const int Images = 10_000;
    private const int Block = 128; // as OnlineLearner.Accuracy
    private const int BlockBefore = 16; // as Accuracy ran MultiplyBlock
    private readonly int _rows, _columns;
    private readonly float[] _weights, _packed, _inputs, _outputs, _partials;

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
        _partials = new float[PackedGemm.PartialsLength];
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
                _outputs.AsSpan(start * _rows, count * _rows), _partials);
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

    public double Run() => _learner.Accuracy(_images, _labels, EvaluationFixture.Images);
}

public static class Evaluation
{
    /// <summary>The layers of the 5-layer network as rows × columns.</summary>
    public static string[] Shapes => ["170x784", "130x170", "100x130", "70x100", "10x70"];

    /// <summary><c>--evaluation --seconds S</c>: one JSON line: GFLOP/s per layer shape (packed, MultiplyBlock) and
    /// images per second of the whole evaluation, each the median of 5 timed slices.</summary>
    public static int Run(double seconds)
    {
        var parts = new List<string>();
        double slice = seconds / 5 / (2 * Shapes.Length + 1);
        foreach (string shape in Shapes)
        {
            (int rows, int columns) = Workloads.ParseShape(shape);
            var fixture = new EvaluationFixture(rows, columns);
            Measure.WarmUp([fixture.Packed, fixture.MultiplyBlock], 0.2);
            Timing packed = Measure.Run(fixture.Packed, roundSeconds: slice, rounds: 5);
            Timing block = Measure.Run(fixture.MultiplyBlock, roundSeconds: slice, rounds: 5);
            parts.Add(string.Create(CultureInfo.InvariantCulture,
                $"\"{shape}\": {{\"packed_gflops\": {fixture.Flops / packed.MedianNs:F1}, \"multiply_block_gflops\": {fixture.Flops / block.MedianNs:F1}, \"spread\": {packed.Spread:F3}}}"));
        }
        var accuracy = new AccuracyFixture();
        Measure.WarmUp([() => accuracy.Run()], 0.3);
        Timing whole = Measure.Run(() => accuracy.Run(), roundSeconds: slice, rounds: 5);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"side\": \"ours\", \"images_per_second\": {EvaluationFixture.Images * whole.PerSecond:F0}, \"bytes_per_evaluation\": {whole.BytesPerOp:F0}, {string.Join(", ", parts)}}}"));
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
