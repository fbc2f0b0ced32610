using BenchmarkDotNet.Attributes;
using PlasticityDsl.Runtime;

namespace PlasticityDsl.Benchmarks;

/// <summary>Each generated kernel alone, at the 5-layer network's weight shapes (rows × columns = n_l × n_(l−1)) and at 1024×1024.</summary>
[MemoryDiagnoser]
public class KernelBenchmarks
{
    private IPlasticityRule _rule = null!;
    private LayerFixture _layer = null!;
    private float[] _theta = null!;

    [ParamsSource(nameof(Rules))]
    public string Rule { get; set; } = "bp";

    [ParamsSource(nameof(Shapes))]
    public string Shape { get; set; } = "170x784";

    public static IEnumerable<string> Rules => Workloads.KernelRules;
    public static IEnumerable<string> Shapes => Workloads.KernelShapes;

    [GlobalSetup]
    public void Setup()
    {
        _rule = Workloads.Generated(Rule);
        (int rows, int columns) = Workloads.ParseShape(Shape);
        _layer = new LayerFixture(rows, columns, 7, _rule);
        _theta = Workloads.Theta(Rule);
    }

    [Benchmark]
    public void Generated() => _rule.Apply(_layer.Signals, _theta, _layer.Scratch);
}

/// <summary>The generated kernel against the best hand-written C# for the same update and a naive evaluator of the rule's tree.</summary>
[MemoryDiagnoser]
public class GeneratedVersusHandWrittenBenchmarks
{
    private IPlasticityRule _generated = null!;
    private HandWrittenRule _handWritten = null!;
    private NaiveEvaluator _naive = null!;
    private LayerFixture _layer = null!;
    private float[] _theta = null!;

    [ParamsSource(nameof(Rules))]
    public string Rule { get; set; } = "bp";

    [Params("170x784", "1024x1024")]
    public string Shape { get; set; } = "170x784";

    public static IEnumerable<string> Rules => Workloads.KernelRules;

    [GlobalSetup]
    public void Setup()
    {
        _generated = Workloads.Generated(Rule);
        _handWritten = new HandWrittenRule(Rule);
        _naive = new NaiveEvaluator(_generated);
        (int rows, int columns) = Workloads.ParseShape(Shape);
        _layer = new LayerFixture(rows, columns, 7, _generated);
        _theta = Workloads.Theta(Rule);
    }

    [Benchmark(Baseline = true)]
    public void Generated() => _generated.Apply(_layer.Signals, _theta, _layer.Scratch);

    [Benchmark]
    public void HandWritten() => _handWritten.Apply(_layer.Signals, _theta, _layer.Scratch);

    [Benchmark]
    public void Naive() => _naive.Apply(_layer.Signals, _theta);
}

/// <summary>One whole online step (forward, errors, update) with <see cref="OnlineLearner.Step"/>: generated kernels and hand-written ones.</summary>
[MemoryDiagnoser]
public class OnlineStepBenchmarks
{
    private StepFixture _generated = null!;
    private StepFixture _generatedWithoutNext = null!;
    private StepFixture _handWritten = null!;

    [Params("5-layer", "10-layer")]
    public string Network { get; set; } = "5-layer";

    [Params("bp", "bp_oja")]
    public string Rule { get; set; } = "bp";

    [GlobalSetup]
    public void Setup()
    {
        int[] sizes = Workloads.Network(Network);
        _generated = new StepFixture(sizes, Workloads.Generated(Rule), Workloads.Theta(Rule));
        _generatedWithoutNext = new StepFixture(sizes, Workloads.Generated(Rule), Workloads.Theta(Rule), prepareNext: false);
        _handWritten = new StepFixture(sizes, new HandWrittenRule(Rule), Workloads.Theta(Rule));
    }

    [Benchmark(Baseline = true)]
    public void Generated() => _generated.Step();

    /// <summary>The step not given the next sample: forward pass and finiteness check each read every W_l again.</summary>
    [Benchmark]
    public void GeneratedWithoutNext() => _generatedWithoutNext.Step();

    [Benchmark]
    public void HandWritten() => _handWritten.Step();
}
