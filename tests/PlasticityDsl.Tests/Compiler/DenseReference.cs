using PlasticityDsl.Language.Binding;

namespace PlasticityDsl.Tests.Compiler;

/// <summary>A dense double matrix, row-major.</summary>
internal sealed class DenseMatrix
{
    public DenseMatrix(int rows, int columns)
    {
        Rows = rows;
        Columns = columns;
        Values = new double[rows * columns];
    }

    public int Rows { get; }
    public int Columns { get; }
    public double[] Values { get; }

    public double this[int i, int j]
    {
        get => Values[i * Columns + j];
        set => Values[i * Columns + j] = value;
    }

    public static DenseMatrix FromFloats(ReadOnlySpan<float> values, int rows, int columns)
    {
        var m = new DenseMatrix(rows, columns);
        for (int k = 0; k < values.Length; k++) m.Values[k] = values[k];
        return m;
    }

    public double FrobeniusNorm()
    {
        double sum = 0;
        foreach (double v in Values) sum += v * v;
        return Math.Sqrt(sum);
    }
}

/// <summary>The signals of one layer, as the kernel sees them (floats) and the reference reads them (doubles).</summary>
/// <remarks><see cref="Tangent"/> holds v̇ and θ̇ for rules differentiated by the compiler, in the same layout;
/// <see cref="States"/> the value of each <c>state</c> of the rule before the step, by its index; <see cref="Cotangent"/>
/// Ū_W and Ū_B (its W and B) for the adjoints.</remarks>
internal sealed record LayerValues(int Rows, int Columns, float[] Weights, float[] Post, float[] Pre, float[] Potential, float[] PostError, float[] PreError, float[] Theta, float[]? Feedback = null, LayerValues? Tangent = null)
{
    public LayerValues? Cotangent { get; init; }

    public IReadOnlyList<float[]> States { get; init; } = Array.Empty<float[]>();

    public static LayerValues Random(int rows, int columns, Random random)
    {
        float[] Vector(int n)
        {
            var v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float)(random.NextDouble() * 2 - 1);
            return v;
        }

        var values = new LayerValues(rows, columns, Vector(rows * columns), Vector(rows), Vector(columns), Vector(rows), Vector(rows), Vector(columns), Vector(12), Vector(rows * columns));
        // θ holds t0…t9 and up to 14 parameters (the pool has 8); the first 12 are drawn as before.
        return values with { Theta = values.Theta.Concat(Vector(12)).ToArray() };
    }
}

/// <summary>
/// The naive reference: walks the bound tree and evaluates it literally with dense double matrices: every
/// product as written, n×n intermediates included, no algebra. Slow and obviously right.
/// </summary>
internal static class DenseReference
{
    /// <summary>ΔW as the rule defines it.</summary>
    public static DenseMatrix Evaluate(BoundExpression e, LayerValues layer) => Eval(e, layer, absolute: false);

    /// <summary>The same expression with every input and operation made non-negative (|a|+|b| for a±b): a bound
    /// on the magnitudes the kernel's float arithmetic rounds, for tolerances when terms cancel.</summary>
    public static DenseMatrix Magnitude(BoundExpression e, LayerValues layer) => Eval(e, layer, absolute: true);

    private static DenseMatrix Eval(BoundExpression e, LayerValues layer, bool absolute)
    {
        DenseMatrix result = e switch
        {
            BoundNumber n => Scalar(absolute ? Math.Abs(n.Value) : n.Value),
            BoundCoefficient c => Scalar(absolute ? Math.Abs(layer.Theta[c.Index]) : layer.Theta[c.Index]),
            BoundSignal s => Signal(s.Signal, layer, absolute),
            BoundState s => Column(layer.States[s.Index], absolute),
            BoundCoefficientTangent c => Scalar(absolute ? Math.Abs(layer.Tangent!.Theta[c.Index]) : layer.Tangent!.Theta[c.Index]),
            BoundSignalTangent s => Signal(s.Signal, layer.Tangent!, absolute),
            BoundCotangent c => Signal(c.Matrix, layer.Cotangent!, absolute),
            BoundTranspose t => Transpose(Eval(t.Operand, layer, absolute)),
            BoundNegate n => Scale(Eval(n.Operand, layer, absolute), absolute ? 1 : -1),
            BoundSum s => Add(Eval(s.Left, layer, absolute), Eval(s.Right, layer, absolute), s.Subtract && !absolute ? -1 : 1),
            BoundProduct p when p.Left.Shape.IsScalar => Scale(Eval(p.Right, layer, absolute), Eval(p.Left, layer, absolute).Values[0]),
            BoundProduct p when p.Right.Shape.IsScalar => Scale(Eval(p.Left, layer, absolute), Eval(p.Right, layer, absolute).Values[0]),
            BoundProduct p => Multiply(Eval(p.Left, layer, absolute), Eval(p.Right, layer, absolute)),
            BoundBroadcast b => Broadcast(Eval(b.Operand, layer, absolute), Size(b.Shape.Rows, layer), Size(b.Shape.Columns, layer)),
            BoundElementwise m => Map2(Eval(m.Left, layer, absolute), Eval(m.Right, layer, absolute), (x, y) => x * y),
            BoundCall c => Map(Eval(c.Argument, layer, absolute: false), x => Apply(c.Function, x), absolute),
            BoundTril t => LowerTriangle(Eval(t.Operand, layer, absolute)),
            BoundReduce r => Scalar(Reduce(r.Reduction, Eval(r.Argument, layer, absolute: false), absolute)),
            _ => throw new InvalidOperationException("unknown bound node " + e.GetType().Name),
        };

        // The binder's symbolic shape must be the numeric one.
        (int rows, int columns) = (Size(e.Shape.Rows, layer), Size(e.Shape.Columns, layer));
        if (result.Rows != rows || result.Columns != columns)
        {
            throw new InvalidOperationException($"{e} has the symbolic shape {e.Shape} but evaluates to {result.Rows}×{result.Columns}");
        }

        return result;
    }

    private static DenseMatrix LowerTriangle(DenseMatrix m)
    {
        var result = new DenseMatrix(m.Rows, m.Columns);
        for (int i = 0; i < m.Rows; i++)
        {
            for (int j = 0; j <= i && j < m.Columns; j++) result[i, j] = m[i, j];
        }

        return result;
    }

    private static int Size(Dimension d, LayerValues layer) => d switch
    {
        Dimension.Post => layer.Rows,
        Dimension.Pre => layer.Columns,
        _ => 1,
    };

    private static DenseMatrix Column(float[] values, bool absolute) =>
        DenseMatrix.FromFloats(absolute ? values.Select(Math.Abs).ToArray() : values, values.Length, 1);

    private static DenseMatrix Signal(Signal signal, LayerValues layer, bool absolute)
    {
        DenseMatrix m = signal switch
        {
            Language.Binding.Signal.Weights => DenseMatrix.FromFloats(layer.Weights, layer.Rows, layer.Columns),
            Language.Binding.Signal.Feedback => DenseMatrix.FromFloats(layer.Feedback!, layer.Rows, layer.Columns),
            Language.Binding.Signal.PostActivity => DenseMatrix.FromFloats(layer.Post, layer.Rows, 1),
            Language.Binding.Signal.PreActivity => DenseMatrix.FromFloats(layer.Pre, layer.Columns, 1),
            Language.Binding.Signal.PostPotential => DenseMatrix.FromFloats(layer.Potential, layer.Rows, 1),
            Language.Binding.Signal.PostError => DenseMatrix.FromFloats(layer.PostError, layer.Rows, 1),
            Language.Binding.Signal.PreError => DenseMatrix.FromFloats(layer.PreError, layer.Columns, 1),
            _ => throw new InvalidOperationException("unknown signal " + signal),
        };
        if (absolute)
        {
            for (int k = 0; k < m.Values.Length; k++) m.Values[k] = Math.Abs(m.Values[k]);
        }

        return m;
    }

    /// <summary>The activation the differential tests give kernels for f and df.</summary>
    public static PlasticityDsl.Runtime.Activation Activation => PlasticityDsl.Runtime.Activation.Tanh;

    internal static double Apply(ElementFunction f, double x) => f switch
    {
        ElementFunction.Activation => Math.Tanh(x),
        ElementFunction.ActivationDerivative => 1 - Math.Tanh(x) * Math.Tanh(x),
        ElementFunction.Exp => Math.Exp(x),
        ElementFunction.Log => Math.Log(x),
        ElementFunction.Tanh => Math.Tanh(x),
        ElementFunction.Sigmoid => 1 / (1 + Math.Exp(-x)),
        ElementFunction.Relu => Math.Max(x, 0),
        ElementFunction.Abs => Math.Abs(x),
        ElementFunction.Sign => Math.Sign(x),
        ElementFunction.Square => x * x,
        ElementFunction.Sqrt => Math.Sqrt(x),
        _ => throw new InvalidOperationException("unknown function " + f),
    };

    internal static double Reduce(Reduction r, DenseMatrix v, bool absolute)
    {
        double result = r == Reduction.Sum ? v.Values.Sum() : Math.Sqrt(v.Values.Sum(x => x * x));
        return absolute ? Math.Abs(result) : result;
    }

    internal static DenseMatrix Map(DenseMatrix a, Func<double, double> f, bool absolute)
    {
        var m = new DenseMatrix(a.Rows, a.Columns);
        for (int k = 0; k < a.Values.Length; k++) m.Values[k] = absolute ? Math.Abs(f(a.Values[k])) : f(a.Values[k]);
        return m;
    }

    internal static DenseMatrix Map2(DenseMatrix a, DenseMatrix b, Func<double, double, double> f)
    {
        if (a.Rows != b.Rows || a.Columns != b.Columns) throw new InvalidOperationException($"elementwise {a.Rows}×{a.Columns} and {b.Rows}×{b.Columns}");
        var m = new DenseMatrix(a.Rows, a.Columns);
        for (int k = 0; k < a.Values.Length; k++) m.Values[k] = f(a.Values[k], b.Values[k]);
        return m;
    }

    internal static DenseMatrix Broadcast(DenseMatrix a, int rows, int columns)
    {
        var m = new DenseMatrix(rows, columns);
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++) m[i, j] = a[a.Rows == 1 ? 0 : i, a.Columns == 1 ? 0 : j];
        }

        return m;
    }

    internal static DenseMatrix Scalar(double value)
    {
        var m = new DenseMatrix(1, 1);
        m.Values[0] = value;
        return m;
    }

    internal static DenseMatrix Transpose(DenseMatrix a)
    {
        var t = new DenseMatrix(a.Columns, a.Rows);
        for (int i = 0; i < a.Rows; i++)
        {
            for (int j = 0; j < a.Columns; j++) t[j, i] = a[i, j];
        }

        return t;
    }

    internal static DenseMatrix Scale(DenseMatrix a, double factor)
    {
        var s = new DenseMatrix(a.Rows, a.Columns);
        for (int k = 0; k < a.Values.Length; k++) s.Values[k] = a.Values[k] * factor;
        return s;
    }

    internal static DenseMatrix Add(DenseMatrix a, DenseMatrix b, double sign)
    {
        if (a.Rows != b.Rows || a.Columns != b.Columns) throw new InvalidOperationException($"cannot add {a.Rows}×{a.Columns} and {b.Rows}×{b.Columns}");
        var s = new DenseMatrix(a.Rows, a.Columns);
        for (int k = 0; k < a.Values.Length; k++) s.Values[k] = a.Values[k] + sign * b.Values[k];
        return s;
    }

    internal static DenseMatrix Multiply(DenseMatrix a, DenseMatrix b)
    {
        if (a.Columns != b.Rows) throw new InvalidOperationException($"cannot multiply {a.Rows}×{a.Columns} by {b.Rows}×{b.Columns}");
        var p = new DenseMatrix(a.Rows, b.Columns);
        for (int i = 0; i < a.Rows; i++)
        {
            for (int k = 0; k < a.Columns; k++)
            {
                double aik = a[i, k];
                for (int j = 0; j < b.Columns; j++) p.Values[i * b.Columns + j] += aik * b.Values[k * b.Columns + j];
            }
        }

        return p;
    }
}

/// <summary>The one check of a kernel's in-place update against the reference, shared by the differential tests.</summary>
internal static class UpdateComparison
{
    private const double RelativeTolerance = 1e-5;

    /// <summary>
    /// Checks that <paramref name="after"/> − <paramref name="before"/> equals <paramref name="expected"/>; returns error /
    /// tolerance, or throws naming <paramref name="what"/>.
    /// </summary>
    /// <param name="magnitude">‖|terms|‖ of the reference: the floor for float rounding when terms cancel.</param>
    public static double Check(float[] before, float[] after, DenseMatrix expected, double magnitude, string what)
    {
        Xunit.Assert.Equal(before.Length, expected.Values.Length);
        double error = 0, norm = 0;
        for (int k = 0; k < before.Length; k++)
        {
            double delta = (double)after[k] - before[k];
            error += (delta - expected.Values[k]) * (delta - expected.Values[k]);
            norm += (double)after[k] * after[k];
        }

        error = Math.Sqrt(error);
        // Relative to ‖Δ‖; the floor covers float rounding when terms cancel and storing W + ΔW as float.
        double tolerance = RelativeTolerance * expected.FrobeniusNorm() + 1e-6 * magnitude + 2e-7 * Math.Sqrt(norm);
        if (!(error <= tolerance))
        {
            throw new Xunit.Sdk.XunitException($"{what}: ‖Δ_kernel − Δ_reference‖ = {error:G4}, ‖Δ_reference‖ = {expected.FrobeniusNorm():G4}, tolerance {tolerance:G4}");
        }

        return tolerance == 0 ? 0 : error / tolerance;
    }
}
