using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Compiler;

namespace PlasticityDsl.Tests.MetaLearning;

/// <summary>
/// A hand-written <see cref="IDifferentiableRule"/> for the paper's Eq. 9, standing in for the tangent kernels the
/// compiler will emit: <see cref="Apply"/> is the generated primal kernel, <see cref="ApplyTangent"/> the directional
/// derivative written out by hand, term by term, in plain loops:
/// <code>
/// dW = -t0*e_l*y_&lt;l-1&gt;' + t1*e_l*e_&lt;l-1&gt;' + t2*(y_l*y_&lt;l-1&gt;' - (y_l*y_l')*W) - t3*W
/// dB = -t4*y_l*e_&lt;l-1&gt;' + t9*B
/// </code>
/// </summary>
internal sealed class Eq9Oracle : IDifferentiableRule
{
    /// <summary>The dW statement alone, as a rule: usable with backprop (it does not touch B).</summary>
    public const string WeightsOnlySource = "dW = -t0*e_l*y_<l-1>' + t1*e_l*e_<l-1>' + t2*(y_l*y_<l-1>' - (y_l*y_l')*W) - t3*W";

    private static readonly Lazy<Eq9Oracle> LazyWeightsOnly = new(() => new Eq9Oracle(RuleCompiler.Compile(WeightsOnlySource, "eq9_dw"), feedback: false));

    private readonly IPlasticityRule _primal;
    private readonly bool _feedback;

    private Eq9Oracle(IPlasticityRule primal, bool feedback)
    {
        _primal = primal;
        _feedback = feedback;
    }

    /// <summary>Eq. 9 with plastic B (needs --feedback fa), on the generated <see cref="Eq9Rule"/>.</summary>
    public static Eq9Oracle Full { get; } = new(Eq9Rule.Instance, feedback: true);

    /// <summary>Eq. 9's dW only, compiled at run time.</summary>
    public static Eq9Oracle WeightsOnly => LazyWeightsOnly.Value;

    public string Name => _primal.Name;
    public string Source => _primal.Source;
    public IReadOnlyList<int> Coefficients => _primal.Coefficients;
    public RuleSignals Signals => _primal.Signals;
    public int ScratchLength(int rows, int columns) => _primal.ScratchLength(rows, columns);
    public void Apply(in LayerSignals layer, ReadOnlySpan<float> theta, Span<float> scratch) => _primal.Apply(in layer, theta, scratch);

    public int TangentScratchLength(int rows, int columns) => 2 * columns;

    public void ApplyTangent(in LayerSignals layer, in LayerTangents tangent, ReadOnlySpan<float> theta, ReadOnlySpan<float> thetaTangent, Span<float> scratch)
    {
        int rows = layer.Rows, columns = layer.Columns;
        ReadOnlySpan<float> w = layer.Weights, y = layer.Post, yp = layer.Pre, e = layer.PostError, ep = layer.PreError;
        ReadOnlySpan<float> wd = tangent.Weights, yd = tangent.Post, ypd = tangent.Pre, ed = tangent.PostError, epd = tangent.PreError;
        float t0 = theta[0], t1 = theta[1], t2 = theta[2], t3 = theta[3];
        float d0 = thetaTangent[0], d1 = thetaTangent[1], d2 = thetaTangent[2], d3 = thetaTangent[3];

        // v = Wᵀ y_l, v̇ = Ẇᵀ y_l + Wᵀ ẏ_l (so that (y yᵀ) W = y vᵀ), both from the pre-update Ẇ.
        Span<float> v = scratch[..columns], vd = scratch.Slice(columns, columns);
        v.Clear();
        vd.Clear();
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                v[j] += w[i * columns + j] * y[i];
                vd[j] += wd[i * columns + j] * y[i] + w[i * columns + j] * yd[i];
            }
        }

        Span<float> wDot = tangent.Weights;
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                int k = i * columns + j;
                float hebbian = y[i] * yp[j] - y[i] * v[j];
                float hebbianDot = yd[i] * yp[j] + y[i] * ypd[j] - yd[i] * v[j] - y[i] * vd[j];
                wDot[k] += -d0 * e[i] * yp[j] - t0 * (ed[i] * yp[j] + e[i] * ypd[j])
                    + d1 * e[i] * ep[j] + t1 * (ed[i] * ep[j] + e[i] * epd[j])
                    + d2 * hebbian + t2 * hebbianDot
                    - d3 * w[k] - t3 * wd[k];
            }
        }

        if (!_feedback || tangent.Feedback.IsEmpty) return;
        float t4 = theta[4], t9 = theta[9], d4 = thetaTangent[4], d9 = thetaTangent[9];
        ReadOnlySpan<float> b = layer.Feedback;
        Span<float> bDot = tangent.Feedback;
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                int k = i * columns + j;
                bDot[k] += -d4 * y[i] * ep[j] - t4 * (yd[i] * ep[j] + y[i] * epd[j]) + d9 * b[k] + t9 * bDot[k];
            }
        }
    }
}
