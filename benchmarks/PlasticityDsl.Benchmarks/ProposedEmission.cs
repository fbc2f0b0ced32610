using PlasticityDsl.Runtime;

namespace PlasticityDsl.Benchmarks;

/// <summary>
/// What the generated kernels would be after one emitter change, written out by hand so that it can be measured now:
/// the code the generator emits today (see tests/PlasticityDsl.Tests/Snapshots), line for line, except that each row's
/// terms — the row scaling and every <c>AddScaled</c> — become ONE call of a fused primitive
/// (<see cref="KernelPrimitives.AddScaled(Span{float}, float, ReadOnlySpan{float}, float, ReadOnlySpan{float})"/>,
/// <see cref="KernelPrimitives.ScaleAddScaled(Span{float}, float, float, ReadOnlySpan{float}, float, ReadOnlySpan{float}, float, ReadOnlySpan{float})"/>
/// and their overloads), so the row is loaded and stored once instead of once per term.
/// </summary>
public sealed class ProposedEmissionRule : IPlasticityRule
{
    private readonly IPlasticityRule _generated;
    private readonly int _kind;

    public ProposedEmissionRule(string rule)
    {
        Rule = rule;
        _generated = Workloads.Generated(rule);
        _kind = Array.IndexOf(Workloads.KernelRules, rule);
    }

    public string Rule { get; }
    public string Name => Rule + " (fused emission)";
    public string Source => _generated.Source;
    public IReadOnlyList<int> Coefficients => _generated.Coefficients;
    public RuleSignals Signals => _generated.Signals;
    public int ScratchLength(int rows, int columns) => _generated.ScratchLength(rows, columns);

    public void Apply(in LayerSignals layer, ReadOnlySpan<float> theta, Span<float> scratch)
    {
        if (_kind == 0)
        {
            _generated.Apply(in layer, theta, scratch); // bp has one term per row: nothing to fuse
            return;
        }
        int rows = layer.Rows;
        int columns = layer.Columns;
        Span<float> weights = layer.Weights;
        ReadOnlySpan<float> post = layer.Post, pre = layer.Pre, postError = layer.PostError, preError = layer.PreError;
        float t0 = theta[0], t1 = theta[1], t2 = theta[2], t3 = theta[3], t4 = theta[4], t9 = theta[9];

        // v0 = W'*y_l, as emitted
        Span<float> v0 = scratch.Slice(0, columns);
        KernelPrimitives.MultiplyTransposedVector(weights, rows, columns, post, v0);

        switch (_kind)
        {
            case 1: // oja
                for (int i = 0; i < rows; i++)
                {
                    KernelPrimitives.AddScaled(weights.Slice(i * columns, columns), t2 * post[i], pre, -t2 * post[i], v0);
                }
                break;
            case 2: // bp_oja
                for (int i = 0; i < rows; i++)
                {
                    KernelPrimitives.AddScaled(weights.Slice(i * columns, columns), -t0 * postError[i] + t2 * post[i], pre, -t2 * post[i], v0);
                }
                break;
            case 3: // eq9_dw
            {
                float keepWeights = 1f + (-t3);
                for (int i = 0; i < rows; i++)
                {
                    KernelPrimitives.ScaleAddScaled(weights.Slice(i * columns, columns), keepWeights,
                        -t0 * postError[i] + t2 * post[i], pre, t1 * postError[i], preError, -t2 * post[i], v0);
                }
                break;
            }
            case 4: // eq9_full
            {
                Span<float> feedback = layer.Feedback;
                float keepWeights = 1f + (-t3), keepFeedback = 1f + t9;
                for (int i = 0; i < rows; i++)
                {
                    KernelPrimitives.ScaleAddScaled(weights.Slice(i * columns, columns), keepWeights,
                        -t0 * postError[i] + t2 * post[i], pre, t1 * postError[i], preError, -t2 * post[i], v0);
                    KernelPrimitives.ScaleAddScaled(feedback.Slice(i * columns, columns), keepFeedback, -t4 * post[i], preError);
                }
                break;
            }
            default:
                throw new InvalidOperationException("unknown rule " + Rule);
        }
    }
}
