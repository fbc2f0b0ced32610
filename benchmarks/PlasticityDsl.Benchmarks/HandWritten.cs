using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using PlasticityDsl.Runtime;

namespace PlasticityDsl.Benchmarks;

/// <summary>
/// The best hand-written C# we could write for each benchmarked update, as a yardstick for the generated kernels.
/// Same math as the rule (ΔW from the pre-update W), but written by hand: explicit 512-bit vectors (256-bit where
/// AVX-512 is missing), no per-row library calls, every term of a row applied in one load/store of the row, Wᵀy
/// computed four rows at a time, and Oja's two terms factored as y_l (y_(l−1) − Wᵀy_l)ᵀ.
/// </summary>
public static class HandWritten
{
    /// <summary>bp: W += −t0 e_l y_(l−1)ᵀ. One pass over W.</summary>
    public static void Bp(in LayerSignals layer, ReadOnlySpan<float> theta)
    {
        int rows = layer.Rows, columns = layer.Columns;
        ref float w = ref MemoryMarshal.GetReference(layer.Weights);
        ref float pre = ref MemoryMarshal.GetReference(layer.Pre);
        ReadOnlySpan<float> e = layer.PostError;
        float t0 = theta[0];
        for (int i = 0; i < rows; i++)
        {
            Axpy(ref Unsafe.Add(ref w, (nint)i * columns), -t0 * e[i], ref pre, columns);
        }
    }

    /// <summary>oja: W += t2 y_l (y_(l−1) − Wᵀy_l)ᵀ. Two passes over W (Wᵀy, then the update), one multiply-add per weight in the second.</summary>
    public static void Oja(in LayerSignals layer, ReadOnlySpan<float> theta, Span<float> scratch)
    {
        int rows = layer.Rows, columns = layer.Columns;
        Span<float> d = scratch.Slice(0, columns);
        MultiplyTransposed(layer.Weights, rows, columns, layer.Post, d);
        System.Numerics.Tensors.TensorPrimitives.Subtract(layer.Pre, d, d); // d = y_(l−1) − Wᵀy_l
        ref float w = ref MemoryMarshal.GetReference(layer.Weights);
        ref float dr = ref MemoryMarshal.GetReference(d);
        ReadOnlySpan<float> post = layer.Post;
        float t2 = theta[2];
        for (int i = 0; i < rows; i++)
        {
            Axpy(ref Unsafe.Add(ref w, (nint)i * columns), t2 * post[i], ref dr, columns);
        }
    }

    /// <summary>bp_oja: W += (−t0 e_l + t2 y_l) y_(l−1)ᵀ − t2 y_l (Wᵀy_l)ᵀ. Two passes over W; both terms of a row in one load/store.</summary>
    public static void BpOja(in LayerSignals layer, ReadOnlySpan<float> theta, Span<float> scratch)
    {
        int rows = layer.Rows, columns = layer.Columns;
        Span<float> v = scratch.Slice(0, columns);
        MultiplyTransposed(layer.Weights, rows, columns, layer.Post, v);
        ref float w = ref MemoryMarshal.GetReference(layer.Weights);
        ref float pre = ref MemoryMarshal.GetReference(layer.Pre);
        ref float vr = ref MemoryMarshal.GetReference(v);
        ReadOnlySpan<float> post = layer.Post, e = layer.PostError;
        float t0 = theta[0], t2 = theta[2];
        for (int i = 0; i < rows; i++)
        {
            Axpy2(ref Unsafe.Add(ref w, (nint)i * columns), -t0 * e[i] + t2 * post[i], ref pre, -t2 * post[i], ref vr, columns);
        }
    }

    /// <summary>Eq. 9's dW: W = (1 − t3) W + (−t0 e_l + t2 y_l) y_(l−1)ᵀ + t1 e_l e_(l−1)ᵀ − t2 y_l (Wᵀy_l)ᵀ. Two passes over W.</summary>
    public static void Eq9Dw(in LayerSignals layer, ReadOnlySpan<float> theta, Span<float> scratch)
    {
        int rows = layer.Rows, columns = layer.Columns;
        Span<float> v = scratch.Slice(0, columns);
        MultiplyTransposed(layer.Weights, rows, columns, layer.Post, v);
        ref float w = ref MemoryMarshal.GetReference(layer.Weights);
        ref float pre = ref MemoryMarshal.GetReference(layer.Pre);
        ref float preError = ref MemoryMarshal.GetReference(layer.PreError);
        ref float vr = ref MemoryMarshal.GetReference(v);
        ReadOnlySpan<float> post = layer.Post, e = layer.PostError;
        float t0 = theta[0], t1 = theta[1], t2 = theta[2], keep = 1f - theta[3];
        for (int i = 0; i < rows; i++)
        {
            ScaleAxpy3(ref Unsafe.Add(ref w, (nint)i * columns), keep,
                -t0 * e[i] + t2 * post[i], ref pre, t1 * e[i], ref preError, -t2 * post[i], ref vr, columns);
        }
    }

    /// <summary>Eq. 9 with dB: the dW of <see cref="Eq9Dw"/>, and B = (1 + t9) B − t4 y_l e_(l−1)ᵀ in the same pass over the rows.</summary>
    public static void Eq9(in LayerSignals layer, ReadOnlySpan<float> theta, Span<float> scratch)
    {
        int rows = layer.Rows, columns = layer.Columns;
        Span<float> v = scratch.Slice(0, columns);
        MultiplyTransposed(layer.Weights, rows, columns, layer.Post, v);
        ref float w = ref MemoryMarshal.GetReference(layer.Weights);
        ref float b = ref MemoryMarshal.GetReference(layer.Feedback);
        ref float pre = ref MemoryMarshal.GetReference(layer.Pre);
        ref float preError = ref MemoryMarshal.GetReference(layer.PreError);
        ref float vr = ref MemoryMarshal.GetReference(v);
        ReadOnlySpan<float> post = layer.Post, e = layer.PostError;
        float t0 = theta[0], t1 = theta[1], t2 = theta[2], t4 = theta[4], keepW = 1f - theta[3], keepB = 1f + theta[9];
        for (int i = 0; i < rows; i++)
        {
            ScaleAxpy3(ref Unsafe.Add(ref w, (nint)i * columns), keepW,
                -t0 * e[i] + t2 * post[i], ref pre, t1 * e[i], ref preError, -t2 * post[i], ref vr, columns);
            ScaleAxpy(ref Unsafe.Add(ref b, (nint)i * columns), keepB, -t4 * post[i], ref preError, columns);
        }
    }

    /// <summary>destination = Wᵀ v, four rows of W per sweep over destination (one load/store of destination per four rows).</summary>
    public static void MultiplyTransposed(ReadOnlySpan<float> weights, int rows, int columns, ReadOnlySpan<float> v, Span<float> destination)
    {
        destination.Clear();
        ref float w = ref MemoryMarshal.GetReference(weights);
        ref float d = ref MemoryMarshal.GetReference(destination);
        int i = 0;
        for (; i + 4 <= rows; i += 4)
        {
            ref float r0 = ref Unsafe.Add(ref w, (nint)i * columns);
            Axpy4(ref d, v[i], ref r0, v[i + 1], ref Unsafe.Add(ref r0, columns),
                v[i + 2], ref Unsafe.Add(ref r0, 2 * columns), v[i + 3], ref Unsafe.Add(ref r0, 3 * columns), columns);
        }
        for (; i < rows; i++)
        {
            Axpy(ref d, v[i], ref Unsafe.Add(ref w, (nint)i * columns), columns);
        }
    }

    // y += a x
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy(ref float y, float a, ref float x, int n)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(a);
            for (; j <= n - 16; j += 16)
            {
                Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x, (nuint)j), va, Vector512.LoadUnsafe(ref y, (nuint)j)).StoreUnsafe(ref y, (nuint)j);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            for (; j <= n - 8; j += 8)
            {
                Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref x, (nuint)j), va, Vector256.LoadUnsafe(ref y, (nuint)j)).StoreUnsafe(ref y, (nuint)j);
            }
        }
        for (; j < n; j++) Unsafe.Add(ref y, j) = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, j), a, Unsafe.Add(ref y, j));
    }

    // y += a x + b z
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy2(ref float y, float a, ref float x, float b, ref float z, int n)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> va = Vector512.Create(a), vb = Vector512.Create(b);
            for (; j <= n - 16; j += 16)
            {
                Vector512<float> r = Vector512.LoadUnsafe(ref y, (nuint)j);
                r = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x, (nuint)j), va, r);
                r = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref z, (nuint)j), vb, r);
                r.StoreUnsafe(ref y, (nuint)j);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> va = Vector256.Create(a), vb = Vector256.Create(b);
            for (; j <= n - 8; j += 8)
            {
                Vector256<float> r = Vector256.LoadUnsafe(ref y, (nuint)j);
                r = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref x, (nuint)j), va, r);
                r = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref z, (nuint)j), vb, r);
                r.StoreUnsafe(ref y, (nuint)j);
            }
        }
        for (; j < n; j++)
        {
            Unsafe.Add(ref y, j) = MathF.FusedMultiplyAdd(Unsafe.Add(ref z, j), b, MathF.FusedMultiplyAdd(Unsafe.Add(ref x, j), a, Unsafe.Add(ref y, j)));
        }
    }

    // y = s y + a x
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScaleAxpy(ref float y, float s, float a, ref float x, int n)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> vs = Vector512.Create(s), va = Vector512.Create(a);
            for (; j <= n - 16; j += 16)
            {
                Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x, (nuint)j), va, Vector512.LoadUnsafe(ref y, (nuint)j) * vs).StoreUnsafe(ref y, (nuint)j);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vs = Vector256.Create(s), va = Vector256.Create(a);
            for (; j <= n - 8; j += 8)
            {
                Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref x, (nuint)j), va, Vector256.LoadUnsafe(ref y, (nuint)j) * vs).StoreUnsafe(ref y, (nuint)j);
            }
        }
        for (; j < n; j++) Unsafe.Add(ref y, j) = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, j), a, Unsafe.Add(ref y, j) * s);
    }

    // y = s y + a x + b z + c u
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScaleAxpy3(ref float y, float s, float a, ref float x, float b, ref float z, float c, ref float u, int n)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> vs = Vector512.Create(s), va = Vector512.Create(a), vb = Vector512.Create(b), vc = Vector512.Create(c);
            for (; j <= n - 16; j += 16)
            {
                Vector512<float> r = Vector512.LoadUnsafe(ref y, (nuint)j) * vs;
                r = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x, (nuint)j), va, r);
                r = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref z, (nuint)j), vb, r);
                r = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref u, (nuint)j), vc, r);
                r.StoreUnsafe(ref y, (nuint)j);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vs = Vector256.Create(s), va = Vector256.Create(a), vb = Vector256.Create(b), vc = Vector256.Create(c);
            for (; j <= n - 8; j += 8)
            {
                Vector256<float> r = Vector256.LoadUnsafe(ref y, (nuint)j) * vs;
                r = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref x, (nuint)j), va, r);
                r = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref z, (nuint)j), vb, r);
                r = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref u, (nuint)j), vc, r);
                r.StoreUnsafe(ref y, (nuint)j);
            }
        }
        for (; j < n; j++)
        {
            float r = Unsafe.Add(ref y, j) * s;
            r = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, j), a, r);
            r = MathF.FusedMultiplyAdd(Unsafe.Add(ref z, j), b, r);
            Unsafe.Add(ref y, j) = MathF.FusedMultiplyAdd(Unsafe.Add(ref u, j), c, r);
        }
    }

    // y += a x0 + b x1 + c x2 + d x3
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy4(ref float y, float a, ref float x0, float b, ref float x1, float c, ref float x2, float d, ref float x3, int n)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> va = Vector512.Create(a), vb = Vector512.Create(b), vc = Vector512.Create(c), vd = Vector512.Create(d);
            for (; j <= n - 16; j += 16)
            {
                Vector512<float> r = Vector512.LoadUnsafe(ref y, (nuint)j);
                r = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x0, (nuint)j), va, r);
                r = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x1, (nuint)j), vb, r);
                r = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x2, (nuint)j), vc, r);
                r = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x3, (nuint)j), vd, r);
                r.StoreUnsafe(ref y, (nuint)j);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> va = Vector256.Create(a), vb = Vector256.Create(b), vc = Vector256.Create(c), vd = Vector256.Create(d);
            for (; j <= n - 8; j += 8)
            {
                Vector256<float> r = Vector256.LoadUnsafe(ref y, (nuint)j);
                r = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref x0, (nuint)j), va, r);
                r = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref x1, (nuint)j), vb, r);
                r = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref x2, (nuint)j), vc, r);
                r = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref x3, (nuint)j), vd, r);
                r.StoreUnsafe(ref y, (nuint)j);
            }
        }
        for (; j < n; j++)
        {
            float r = MathF.FusedMultiplyAdd(Unsafe.Add(ref x0, j), a, Unsafe.Add(ref y, j));
            r = MathF.FusedMultiplyAdd(Unsafe.Add(ref x1, j), b, r);
            r = MathF.FusedMultiplyAdd(Unsafe.Add(ref x2, j), c, r);
            Unsafe.Add(ref y, j) = MathF.FusedMultiplyAdd(Unsafe.Add(ref x3, j), d, r);
        }
    }
}

/// <summary>A hand-written kernel behind <see cref="IPlasticityRule"/>, so that the online step can run it in place of the generated one.</summary>
public sealed class HandWrittenRule : IPlasticityRule
{
    private readonly IPlasticityRule _generated;
    private readonly int _kind;

    public HandWrittenRule(string rule)
    {
        Rule = rule;
        _generated = Workloads.Generated(rule);
        _kind = Array.IndexOf(Workloads.KernelRules, rule);
    }

    public string Rule { get; }
    public string Name => Rule + " (hand-written)";
    public string Source => _generated.Source;
    public IReadOnlyList<int> Coefficients => _generated.Coefficients;
    public RuleSignals Signals => _generated.Signals;
    public int ScratchLength(int rows, int columns) => columns;

    public void Apply(in LayerSignals layer, ReadOnlySpan<float> theta, Span<float> scratch)
    {
        switch (_kind) // the order of Workloads.KernelRules
        {
            case 0: HandWritten.Bp(in layer, theta); break;
            case 1: HandWritten.Oja(in layer, theta, scratch); break;
            case 2: HandWritten.BpOja(in layer, theta, scratch); break;
            case 3: HandWritten.Eq9Dw(in layer, theta, scratch); break;
            case 4: HandWritten.Eq9(in layer, theta, scratch); break;
            default: throw new InvalidOperationException("unknown rule " + Rule);
        }
    }
}
