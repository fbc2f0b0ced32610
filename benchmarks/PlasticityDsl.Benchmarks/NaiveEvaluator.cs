using System.Numerics.Tensors;
using PlasticityDsl.Language.Binding;
using PlasticityDsl.Language.Syntax;
using PlasticityDsl.Runtime;

namespace PlasticityDsl.Benchmarks;

/// <summary>
/// The interpreter a rule language without a compiler would have: it walks the rule's bound tree (parsed and
/// shape-checked by the same front end as the generator) and evaluates every node densely and literally, in float,
/// allocating a fresh matrix per node: outer products become full matrices, <c>(y_l*y_l')*W</c> is the n×n matrix
/// y_l y_lᵀ times W (n²·m multiply-adds), and W += ΔW at the end. Only the innermost loop of a matrix product uses
/// SIMD (<see cref="TensorPrimitives"/>), so the gap to the kernels is the algebra and the fusion, not vectorization.
/// </summary>
public sealed class NaiveEvaluator
{
    private readonly BoundExpression _update;
    private readonly BoundExpression? _feedbackUpdate;

    public NaiveEvaluator(IPlasticityRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        if (!RuleParser.TryParse(rule.Source, out RuleFileSyntax? syntax, out var diagnostic))
        {
            throw new InvalidOperationException($"rule {rule.Name} does not parse: {diagnostic}");
        }
        var binder = new Binder();
        IReadOnlyList<BoundUpdate> updates = binder.Bind(syntax!);
        if (binder.Diagnostics.Count > 0)
        {
            throw new InvalidOperationException($"rule {rule.Name} does not bind: {binder.Diagnostics[0]}");
        }
        _update = updates.Single(u => u.Target == "dW").Value;
        _feedbackUpdate = updates.SingleOrDefault(u => u.Target == "dB")?.Value;
    }

    /// <summary>W += ΔW (and B += ΔB), both evaluated from the tree on the pre-update state.</summary>
    public void Apply(in LayerSignals layer, ReadOnlySpan<float> theta)
    {
        Dense delta = Evaluate(_update, in layer, theta);
        Dense? feedbackDelta = _feedbackUpdate is null ? null : Evaluate(_feedbackUpdate, in layer, theta);
        TensorPrimitives.Add(layer.Weights, delta.Values, layer.Weights);
        if (feedbackDelta is not null) TensorPrimitives.Add(layer.Feedback, feedbackDelta.Values, layer.Feedback);
    }

    /// <summary>ΔW alone (W unchanged).</summary>
    public float[] Delta(in LayerSignals layer, ReadOnlySpan<float> theta) => Evaluate(_update, in layer, theta).Values;

    private static Dense Evaluate(BoundExpression e, in LayerSignals layer, ReadOnlySpan<float> theta) => e switch
    {
        BoundNumber n => Dense.Scalar((float)n.Value),
        BoundCoefficient c => Dense.Scalar(theta[c.Index]),
        BoundSignal s => Signal(s.Signal, in layer),
        BoundTranspose t => Evaluate(t.Operand, in layer, theta).Transpose(),
        BoundNegate n => Evaluate(n.Operand, in layer, theta).Scale(-1f),
        BoundSum s => Evaluate(s.Left, in layer, theta).Add(Evaluate(s.Right, in layer, theta), s.Subtract ? -1f : 1f),
        BoundProduct p when p.Left.Shape.IsScalar => Evaluate(p.Right, in layer, theta).Scale(Evaluate(p.Left, in layer, theta).Values[0]),
        BoundProduct p when p.Right.Shape.IsScalar => Evaluate(p.Left, in layer, theta).Scale(Evaluate(p.Right, in layer, theta).Values[0]),
        BoundProduct p => Evaluate(p.Left, in layer, theta).Multiply(Evaluate(p.Right, in layer, theta)),
        BoundElementwise m => Evaluate(m.Left, in layer, theta).Hadamard(Evaluate(m.Right, in layer, theta)),
        BoundBroadcast b => Evaluate(b.Operand, in layer, theta).Broadcast(Size(b.Shape.Rows, in layer), Size(b.Shape.Columns, in layer)),
        _ => throw new NotSupportedException("the naive evaluator does not evaluate " + e.GetType().Name + " (only the benchmarked rules' nodes)"),
    };

    private static int Size(Dimension d, in LayerSignals layer) => d switch
    {
        Dimension.Post => layer.Rows,
        Dimension.Pre => layer.Columns,
        _ => 1,
    };

    private static Dense Signal(Language.Binding.Signal signal, in LayerSignals layer) => signal switch
    {
        Language.Binding.Signal.Weights => Dense.Copy(layer.Weights, layer.Rows, layer.Columns),
        Language.Binding.Signal.Feedback => Dense.Copy(layer.Feedback, layer.Rows, layer.Columns),
        Language.Binding.Signal.PostActivity => Dense.Copy(layer.Post, layer.Rows, 1),
        Language.Binding.Signal.PreActivity => Dense.Copy(layer.Pre, layer.Columns, 1),
        Language.Binding.Signal.PostPotential => Dense.Copy(layer.PreActivation, layer.Rows, 1),
        Language.Binding.Signal.PostError => Dense.Copy(layer.PostError, layer.Rows, 1),
        Language.Binding.Signal.PreError => Dense.Copy(layer.PreError, layer.Columns, 1),
        _ => throw new InvalidOperationException("unknown signal " + signal),
    };

    /// <summary>A dense row-major float matrix; every operation returns a new one.</summary>
    private sealed class Dense(int rows, int columns)
    {
        public int Rows { get; } = rows;
        public int Columns { get; } = columns;
        public float[] Values { get; } = new float[rows * columns];

        public static Dense Scalar(float value)
        {
            var m = new Dense(1, 1);
            m.Values[0] = value;
            return m;
        }

        public static Dense Copy(ReadOnlySpan<float> values, int rows, int columns)
        {
            var m = new Dense(rows, columns);
            values.CopyTo(m.Values);
            return m;
        }

        public Dense Transpose()
        {
            var t = new Dense(Columns, Rows);
            for (int i = 0; i < Rows; i++)
            {
                for (int j = 0; j < Columns; j++) t.Values[j * Rows + i] = Values[i * Columns + j];
            }
            return t;
        }

        public Dense Scale(float factor)
        {
            var s = new Dense(Rows, Columns);
            TensorPrimitives.Multiply(Values, factor, s.Values);
            return s;
        }

        public Dense Add(Dense other, float sign)
        {
            if (Rows != other.Rows || Columns != other.Columns) throw new InvalidOperationException("shape mismatch in a sum");
            var s = new Dense(Rows, Columns);
            TensorPrimitives.MultiplyAdd(other.Values, sign, Values, s.Values);
            return s;
        }

        public Dense Hadamard(Dense other)
        {
            if (Rows != other.Rows || Columns != other.Columns) throw new InvalidOperationException("shape mismatch in an elementwise product");
            var p = new Dense(Rows, Columns);
            TensorPrimitives.Multiply(Values, other.Values, p.Values);
            return p;
        }

        // A scalar, a row or a column repeated to rows × columns.
        public Dense Broadcast(int rows, int columns)
        {
            var b = new Dense(rows, columns);
            for (int i = 0; i < rows; i++)
            {
                for (int j = 0; j < columns; j++) b.Values[i * columns + j] = Values[(Rows == 1 ? 0 : i) * Columns + (Columns == 1 ? 0 : j)];
            }
            return b;
        }

        // i-k-j order: row i of the product accumulates a[i,k] · row k of b.
        public Dense Multiply(Dense b)
        {
            if (Columns != b.Rows) throw new InvalidOperationException("shape mismatch in a product");
            var p = new Dense(Rows, b.Columns);
            for (int i = 0; i < Rows; i++)
            {
                Span<float> row = p.Values.AsSpan(i * b.Columns, b.Columns);
                for (int k = 0; k < Columns; k++)
                {
                    TensorPrimitives.MultiplyAdd(b.Values.AsSpan(k * b.Columns, b.Columns), Values[i * Columns + k], row, row);
                }
            }
            return p;
        }
    }
}
