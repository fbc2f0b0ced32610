using PlasticityDsl.Runtime;

namespace PlasticityDsl.Tests.Training;

/// <summary>
/// An independent, deliberately naive double-precision MLP for checking the runtime: dense 2-D arrays, plain loops,
/// the full step written exactly as the math reads (including the literal n×n matrix (y yᵀ) W of Oja's term).
/// </summary>
internal sealed class ReferenceMlp
{
    private readonly int[] _sizes;
    private readonly string _activation;

    public ReferenceMlp(Mlp network)
    {
        _sizes = [.. network.LayerSizes];
        _activation = network.Activation.Name;
        if (network.Activation.Kind == ActivationKind.Softplus && network.Activation.Beta != 10f)
        {
            throw new NotSupportedException("the reference uses β = 10");
        }
        W = new double[_sizes.Length - 1][,];
        for (int l = 1; l < _sizes.Length; l++)
        {
            var w = new double[_sizes[l], _sizes[l - 1]];
            float[] source = network.Weights[l - 1];
            for (int i = 0; i < _sizes[l]; i++)
            {
                for (int j = 0; j < _sizes[l - 1]; j++)
                {
                    w[i, j] = source[i * _sizes[l - 1] + j];
                }
            }
            W[l - 1] = w;
        }
        B = network.HasSeparateFeedback ? network.Feedback.Select((b, l) => ToMatrix(b, _sizes[l + 1], _sizes[l])).ToArray() : null;
    }

    /// <summary>W[l − 1] is W_l.</summary>
    public double[][,] W { get; }

    /// <summary>B[l − 1] is B_l for a network with separate feedback (errors then travel through B); null for backprop.</summary>
    public double[][,]? B { get; }

    private static double[,] ToMatrix(float[] values, int rows, int columns)
    {
        var m = new double[rows, columns];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                m[i, j] = values[i * columns + j];
            }
        }
        return m;
    }

    public int Layers => _sizes.Length - 1;

    public double Sigma(double z) => _activation switch
    {
        "softplus" => z > 0 ? z + Math.Log(1 + Math.Exp(-10 * z)) / 10 : Math.Log(1 + Math.Exp(10 * z)) / 10,
        "tanh" => Math.Tanh(z),
        "relu" => Math.Max(z, 0),
        "elu" => z > 0 ? z : Math.Exp(z) - 1,
        _ => throw new NotSupportedException(_activation),
    };

    public double SigmaPrime(double z) => _activation switch
    {
        "softplus" => 1 / (1 + Math.Exp(-10 * z)),
        "tanh" => 1 - Math.Tanh(z) * Math.Tanh(z),
        "relu" => z > 0 ? 1 : 0,
        "elu" => z > 0 ? 1 : Math.Exp(z),
        _ => throw new NotSupportedException(_activation),
    };

    /// <summary>Returns (z, y) with z[0] unused and y[0] = x.</summary>
    public (double[][] Z, double[][] Y) Forward(ReadOnlySpan<float> x)
    {
        int layers = Layers;
        var z = new double[layers + 1][];
        var y = new double[layers + 1][];
        y[0] = new double[x.Length];
        for (int j = 0; j < x.Length; j++)
        {
            y[0][j] = x[j];
        }
        z[0] = [];
        for (int l = 1; l <= layers; l++)
        {
            z[l] = new double[_sizes[l]];
            y[l] = new double[_sizes[l]];
            for (int i = 0; i < _sizes[l]; i++)
            {
                double s = 0;
                for (int j = 0; j < _sizes[l - 1]; j++)
                {
                    s += W[l - 1][i, j] * y[l - 1][j];
                }
                z[l][i] = s;
            }
            if (l < layers)
            {
                for (int i = 0; i < _sizes[l]; i++)
                {
                    y[l][i] = Sigma(z[l][i]);
                }
            }
            else
            {
                double max = z[l].Max();
                double sum = z[l].Sum(v => Math.Exp(v - max));
                for (int i = 0; i < _sizes[l]; i++)
                {
                    y[l][i] = Math.Exp(z[l][i] - max) / sum;
                }
            }
        }
        return (z, y);
    }

    public double Loss(ReadOnlySpan<float> x, int label)
    {
        var (z, _) = Forward(x);
        double[] logits = z[Layers];
        double max = logits.Max();
        return Math.Log(logits.Sum(v => Math.Exp(v - max))) + max - logits[label];
    }

    /// <summary>Errors e_0 … e_L for the current weights, carried down through B (W for backprop).</summary>
    public double[][] Errors(double[][] z, double[][] y, int label)
    {
        int layers = Layers;
        var e = new double[layers + 1][];
        e[layers] = (double[])y[layers].Clone();
        e[layers][label] -= 1;
        for (int l = layers - 1; l >= 0; l--)
        {
            e[l] = new double[_sizes[l]];
            for (int j = 0; j < _sizes[l]; j++)
            {
                double s = 0;
                for (int i = 0; i < _sizes[l + 1]; i++)
                {
                    s += (B ?? W)[l][i, j] * e[l + 1][i];
                }
                e[l][j] = l == 0 ? s : s * SigmaPrime(z[l][j]);
            }
        }
        return e;
    }

    /// <summary>
    /// One step of ΔW_l = −t0 e_l y_(l−1)ᵀ − t1 e_l e_(l−1)ᵀ + t2 (y_l y_(l−1)ᵀ − (y_l y_lᵀ) W_l) for every layer,
    /// all computed first, then added.
    /// </summary>
    public void Step(ReadOnlySpan<float> x, int label, double t0, double t1, double t2)
    {
        var (z, y) = Forward(x);
        var e = Errors(z, y, label);
        int layers = Layers;
        var deltas = new double[layers][,];
        for (int l = 1; l <= layers; l++)
        {
            int m = _sizes[l], n = _sizes[l - 1];
            var w = W[l - 1];
            var yyT = new double[m, m];
            for (int a = 0; a < m; a++)
            {
                for (int b = 0; b < m; b++)
                {
                    yyT[a, b] = y[l][a] * y[l][b];
                }
            }
            var delta = new double[m, n];
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double yyTW = 0;
                    for (int k = 0; k < m; k++)
                    {
                        yyTW += yyT[i, k] * w[k, j];
                    }
                    delta[i, j] = -t0 * e[l][i] * y[l - 1][j] - t1 * e[l][i] * e[l - 1][j] + t2 * (y[l][i] * y[l - 1][j] - yyTW);
                }
            }
            deltas[l - 1] = delta;
        }
        for (int l = 0; l < layers; l++)
        {
            for (int i = 0; i < W[l].GetLength(0); i++)
            {
                for (int j = 0; j < W[l].GetLength(1); j++)
                {
                    W[l][i, j] += deltas[l][i, j];
                }
            }
        }
    }

    /// <summary>
    /// One step of the paper's Eq. 9 for every layer, all computed first, then added:
    /// ΔW_l = −t0 e_l y_(l−1)ᵀ + t1 e_l e_(l−1)ᵀ + t2 (y_l y_(l−1)ᵀ − (y_l y_lᵀ) W_l) − t3 W_l and, with separate
    /// feedback and <paramref name="plasticFeedback"/>, ΔB_l = −t4 y_l e_(l−1)ᵀ + t9 B_l.
    /// </summary>
    public void StepEq9(ReadOnlySpan<float> x, int label, IReadOnlyList<double> t, bool plasticFeedback)
    {
        var (z, y) = Forward(x);
        var e = Errors(z, y, label);
        int layers = Layers;
        var deltaW = new double[layers][,];
        var deltaB = new double[layers][,];
        for (int l = 1; l <= layers; l++)
        {
            int m = _sizes[l], n = _sizes[l - 1];
            var w = W[l - 1];
            deltaW[l - 1] = new double[m, n];
            deltaB[l - 1] = new double[m, n];
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double yyTW = 0;
                    for (int k = 0; k < m; k++)
                    {
                        yyTW += y[l][i] * y[l][k] * w[k, j];
                    }
                    deltaW[l - 1][i, j] = -t[0] * e[l][i] * y[l - 1][j] + t[1] * e[l][i] * e[l - 1][j]
                        + t[2] * (y[l][i] * y[l - 1][j] - yyTW) - t[3] * w[i, j];
                    if (B is not null && plasticFeedback)
                    {
                        deltaB[l - 1][i, j] = -t[4] * y[l][i] * e[l - 1][j] + t[9] * B[l - 1][i, j];
                    }
                }
            }
        }
        for (int l = 0; l < layers; l++)
        {
            for (int i = 0; i < W[l].GetLength(0); i++)
            {
                for (int j = 0; j < W[l].GetLength(1); j++)
                {
                    W[l][i, j] += deltaW[l][i, j];
                    if (B is not null) B[l][i, j] += deltaB[l][i, j];
                }
            }
        }
    }

    /// <summary>‖W_l(runtime) − W_l(reference)‖ / ‖W_l(reference)‖.</summary>
    public double RelativeDifference(Mlp network, int layer)
    {
        var w = W[layer - 1];
        float[] actual = network.Weights[layer - 1];
        int n = w.GetLength(1);
        double diff = 0, norm = 0;
        for (int i = 0; i < w.GetLength(0); i++)
        {
            for (int j = 0; j < n; j++)
            {
                double d = actual[i * n + j] - w[i, j];
                diff += d * d;
                norm += w[i, j] * w[i, j];
            }
        }
        return Math.Sqrt(diff / norm);
    }
}
