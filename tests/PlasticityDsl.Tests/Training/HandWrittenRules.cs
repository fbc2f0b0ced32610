using PlasticityDsl.Runtime;

namespace PlasticityDsl.Tests.Training;

/// <summary>
/// Hand-written kernels for the runtime tests, written straight from the rule algebra; the generated kernels replace
/// them later. Each applies ΔW in place, computing every term from the pre-update W.
/// </summary>
internal static class HandWrittenRules
{
    /// <summary>ΔW = −t0 e_l y_(l−1)ᵀ.</summary>
    public static IPlasticityRule Backprop { get; } = new BackpropRule();

    /// <summary>ΔW = t2 (y_l y_(l−1)ᵀ − y_l (y_lᵀ W)), Oja's subspace rule without forming y_l y_lᵀ.</summary>
    public static IPlasticityRule Oja { get; } = new OjaRule();

    /// <summary>ΔW = −t0 e_l y_(l−1)ᵀ + t2 (y_l y_(l−1)ᵀ − y_l (y_lᵀ W)).</summary>
    public static IPlasticityRule BackpropOja { get; } = new BackpropOjaRule();

    /// <summary>ΔW = −t0 e_l y_(l−1)ᵀ − t1 e_l e_(l−1)ᵀ: reads e_(l−1), so the runtime must compute e_0.</summary>
    public static IPlasticityRule BackpropErrorProduct { get; } = new BackpropErrorProductRule();

    /// <summary>ΔW = −t9 W: local, reads no signal, so a bad value stays in its own layer.</summary>
    public static IPlasticityRule Decay { get; } = new DecayRule();

    private sealed class BackpropRule : IPlasticityRule
    {
        private static readonly int[] Used = [0];
        public string Name => "backprop";
        public string Source => "dW = -t0 * e_l * y_(l-1)^T";
        public IReadOnlyList<int> Coefficients => Used;
        public RuleSignals Signals => RuleSignals.PostError;
        public int ScratchLength(int rows, int columns) => 0;

        public void Apply(in LayerSignals layer, ReadOnlySpan<float> theta, Span<float> scratch)
        {
            float t0 = theta[0];
            Span<float> w = layer.Weights;
            int n = layer.Columns;
            for (int i = 0; i < layer.Rows; i++)
            {
                KernelPrimitives.AddScaled(w.Slice(i * n, n), -t0 * layer.PostError[i], layer.Pre);
            }
        }
    }

    private sealed class OjaRule : IPlasticityRule
    {
        private static readonly int[] Used = [2];
        public string Name => "oja";
        public string Source => "dW = t2 * (y_l * y_(l-1)^T - y_l * y_l^T * W)";
        public IReadOnlyList<int> Coefficients => Used;
        public RuleSignals Signals => RuleSignals.None;
        public int ScratchLength(int rows, int columns) => columns;

        public void Apply(in LayerSignals layer, ReadOnlySpan<float> theta, Span<float> scratch)
        {
            ApplyOja(layer, theta[2], 0f, scratch);
        }
    }

    private sealed class BackpropOjaRule : IPlasticityRule
    {
        private static readonly int[] Used = [0, 2];
        public string Name => "backprop_oja";
        public string Source => "dW = -t0 * e_l * y_(l-1)^T + t2 * (y_l * y_(l-1)^T - y_l * y_l^T * W)";
        public IReadOnlyList<int> Coefficients => Used;
        public RuleSignals Signals => RuleSignals.PostError;
        public int ScratchLength(int rows, int columns) => columns;

        public void Apply(in LayerSignals layer, ReadOnlySpan<float> theta, Span<float> scratch)
        {
            ApplyOja(layer, theta[2], theta[0], scratch);
        }
    }

    private sealed class BackpropErrorProductRule : IPlasticityRule
    {
        private static readonly int[] Used = [0, 1];
        public string Name => "backprop_error_product";
        public string Source => "dW = -t0 * e_l * y_(l-1)^T - t1 * e_l * e_(l-1)^T";
        public IReadOnlyList<int> Coefficients => Used;
        public RuleSignals Signals => RuleSignals.PostError | RuleSignals.PreError;
        public int ScratchLength(int rows, int columns) => 0;

        public void Apply(in LayerSignals layer, ReadOnlySpan<float> theta, Span<float> scratch)
        {
            float t0 = theta[0], t1 = theta[1];
            Span<float> w = layer.Weights;
            int n = layer.Columns;
            for (int i = 0; i < layer.Rows; i++)
            {
                Span<float> row = w.Slice(i * n, n);
                KernelPrimitives.AddScaled(row, -t0 * layer.PostError[i], layer.Pre);
                KernelPrimitives.AddScaled(row, -t1 * layer.PostError[i], layer.PreError);
            }
        }
    }

    private sealed class DecayRule : IPlasticityRule
    {
        private static readonly int[] Used = [9];
        public string Name => "decay";
        public string Source => "dW = -t9 * W";
        public IReadOnlyList<int> Coefficients => Used;
        public RuleSignals Signals => RuleSignals.None;
        public int ScratchLength(int rows, int columns) => 0;

        public void Apply(in LayerSignals layer, ReadOnlySpan<float> theta, Span<float> scratch)
        {
            KernelPrimitives.Scale(layer.Weights, 1f - theta[9]);
        }
    }

    // W_i += −t0 e_i y_pre + t2 y_i (y_pre − u), with u = y_lᵀ W taken before any row changes.
    private static void ApplyOja(in LayerSignals layer, float t2, float t0, Span<float> scratch)
    {
        Span<float> w = layer.Weights;
        int m = layer.Rows, n = layer.Columns;
        Span<float> d = scratch.Slice(0, n);
        KernelPrimitives.MultiplyTransposedVector(w, m, n, layer.Post, d); // u = Wᵀ y_l = (y_lᵀ W)ᵀ
        System.Numerics.Tensors.TensorPrimitives.Subtract(layer.Pre, d, d);  // d = y_pre − u
        for (int i = 0; i < m; i++)
        {
            Span<float> row = w.Slice(i * n, n);
            if (t0 != 0f)
            {
                KernelPrimitives.AddScaled(row, -t0 * layer.PostError[i], layer.Pre);
            }
            KernelPrimitives.AddScaled(row, t2 * layer.Post[i], d);
        }
    }
}
