using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PlasticityDsl.Runtime;

/// <summary>The hidden-layer nonlinearities σ the network supports.</summary>
public enum ActivationKind
{
    /// <summary>σ(z) = log(1 + exp(βz)) / β, σ'(z) = sigmoid(βz); β = 10 by default (the predecessor's choice).</summary>
    Softplus,
    /// <summary>σ(z) = max(z, 0), σ'(z) = [z &gt; 0].</summary>
    Relu,
    /// <summary>σ(z) = tanh z, σ'(z) = 1 − tanh² z.</summary>
    Tanh,
    /// <summary>σ(z) = z for z &gt; 0, exp(z) − 1 otherwise (α = 1); σ'(z) = 1 for z &gt; 0, exp(z) otherwise.</summary>
    Elu,
}

/// <summary>
/// A hidden-layer nonlinearity σ with its derivative σ', applied elementwise over spans (SIMD, no allocation).
/// Instances are immutable; compare with <see cref="Equals(Activation?)"/>.
/// </summary>
public sealed class Activation : IEquatable<Activation>
{
    /// <summary>The softplus sharpness β used when none is given.</summary>
    public const float DefaultSoftplusBeta = 10f;

    private static readonly string[] ValidNames = ["softplus", "relu", "tanh", "elu"];
    private static readonly IReadOnlyList<string> ReadOnlyNames = Array.AsReadOnly(ValidNames);

    private Activation(ActivationKind kind, float beta)
    {
        Kind = kind;
        Beta = beta;
    }

    /// <summary>Softplus with β = 10.</summary>
    public static Activation Softplus { get; } = new(ActivationKind.Softplus, DefaultSoftplusBeta);
    public static Activation Relu { get; } = new(ActivationKind.Relu, 0f);
    public static Activation Tanh { get; } = new(ActivationKind.Tanh, 0f);
    /// <summary>ELU with α = 1.</summary>
    public static Activation Elu { get; } = new(ActivationKind.Elu, 0f);

    /// <summary>The names <see cref="Parse"/> accepts, lower case.</summary>
    public static IReadOnlyList<string> Names => ReadOnlyNames;

    public ActivationKind Kind { get; }

    /// <summary>Softplus sharpness β; 0 for the other kinds.</summary>
    public float Beta { get; }

    /// <summary>The lower-case name: softplus, relu, tanh or elu.</summary>
    public string Name => ValidNames[(int)Kind];

    /// <summary>Softplus with a chosen sharpness β (finite, &gt; 0).</summary>
    public static Activation SoftplusWithBeta(float beta)
    {
        if (!(beta > 0f) || !float.IsFinite(beta))
        {
            throw new ArgumentOutOfRangeException(nameof(beta), beta, "softplus β must be finite and positive.");
        }
        return beta == DefaultSoftplusBeta ? Softplus : new Activation(ActivationKind.Softplus, beta);
    }

    public static Activation FromKind(ActivationKind kind) => kind switch
    {
        ActivationKind.Softplus => Softplus,
        ActivationKind.Relu => Relu,
        ActivationKind.Tanh => Tanh,
        ActivationKind.Elu => Elu,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation kind."),
    };

    /// <summary>Parses "softplus", "relu", "tanh" or "elu" (case-insensitive, surrounding spaces ignored).</summary>
    /// <exception cref="FormatException">The name is none of these; the message lists the valid names.</exception>
    public static Activation Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (TryParse(name, out var activation))
        {
            return activation;
        }
        throw new FormatException($"unknown activation '{name}'; valid names are: {string.Join(", ", ValidNames)}.");
    }

    public static bool TryParse(string? name, out Activation activation)
    {
        activation = Softplus;
        if (name is null)
        {
            return false;
        }
        var trimmed = name.Trim();
        for (int i = 0; i < ValidNames.Length; i++)
        {
            if (string.Equals(trimmed, ValidNames[i], StringComparison.OrdinalIgnoreCase))
            {
                activation = FromKind((ActivationKind)i);
                return true;
            }
        }
        return false;
    }

    /// <summary>y = σ(z) elementwise. <paramref name="y"/> may be <paramref name="z"/> itself (same span) but must not partly overlap it.</summary>
    public void Apply(ReadOnlySpan<float> z, Span<float> y)
    {
        CheckSpans(z, y);
        switch (Kind)
        {
            case ActivationKind.Softplus: SoftplusSpan(z, y, Beta); break;
            case ActivationKind.Relu: TensorPrimitives.Max(z, 0f, y); break;
            case ActivationKind.Tanh: TensorPrimitives.Tanh(z, y); break;
            case ActivationKind.Elu: EluSpan(z, y); break;
        }
    }

    /// <summary>d = σ'(z) elementwise. <paramref name="d"/> may be <paramref name="z"/> itself (same span) but must not partly overlap it.</summary>
    public void Derivative(ReadOnlySpan<float> z, Span<float> d)
    {
        CheckSpans(z, d);
        switch (Kind)
        {
            case ActivationKind.Softplus:
                TensorPrimitives.Multiply(z, Beta, d);
                TensorPrimitives.Sigmoid(d, d);
                break;
            case ActivationKind.Relu: ReluDerivativeSpan(z, d); break;
            case ActivationKind.Tanh:
                TensorPrimitives.Tanh(z, d);
                TensorPrimitives.Multiply(d, d, d);
                TensorPrimitives.Subtract(1f, d, d);
                break;
            case ActivationKind.Elu: EluDerivativeSpan(z, d); break;
        }
    }

    /// <summary>
    /// d = σ''(z) elementwise, for forward-mode tangents of the error pass: softplus β·s(1 − s) with s = sigmoid(βz);
    /// relu 0 (NaN stays NaN); tanh −2 tanh z (1 − tanh² z); elu 0 for z &gt; 0, exp(z) otherwise.
    /// <paramref name="d"/> may be <paramref name="z"/> itself (same span) but must not partly overlap it.
    /// </summary>
    public void SecondDerivative(ReadOnlySpan<float> z, Span<float> d)
    {
        CheckSpans(z, d);
        switch (Kind)
        {
            case ActivationKind.Softplus:
                TensorPrimitives.Multiply(z, Beta, d);
                TensorPrimitives.Sigmoid(d, d);
                for (int i = 0; i < d.Length; i++) d[i] = Beta * d[i] * (1f - d[i]);
                break;
            case ActivationKind.Relu:
                for (int i = 0; i < d.Length; i++) d[i] = float.IsNaN(z[i]) ? z[i] : 0f;
                break;
            case ActivationKind.Tanh:
                TensorPrimitives.Tanh(z, d);
                for (int i = 0; i < d.Length; i++) d[i] = -2f * d[i] * (1f - d[i] * d[i]);
                break;
            case ActivationKind.Elu:
                for (int i = 0; i < d.Length; i++)
                {
                    float v = z[i];
                    d[i] = v > 0f ? 0f : float.IsNaN(v) ? v : MathF.Exp(v);
                }
                break;
        }
    }

    /// <summary>σ''(z) for one value (see the span overload).</summary>
    public float SecondDerivative(float z)
    {
        switch (Kind)
        {
            case ActivationKind.Softplus:
                float s = 1f / (1f + MathF.Exp(-Beta * z));
                return Beta * s * (1f - s);
            case ActivationKind.Relu: return float.IsNaN(z) ? z : 0f;
            case ActivationKind.Tanh:
                float t = MathF.Tanh(z);
                return -2f * t * (1f - t * t);
            default: return z > 0f ? 0f : MathF.Exp(z);
        }
    }

    /// <summary>σ(z) for one value.</summary>
    public float Apply(float z) => Kind switch
    {
        ActivationKind.Softplus => SoftplusScalar(z, Beta),
        ActivationKind.Relu => MathF.Max(z, 0f), // MathF.Max propagates NaN
        ActivationKind.Tanh => MathF.Tanh(z),
        _ => z > 0f ? z : MathF.Exp(z) - 1f,
    };

    /// <summary>σ'(z) for one value.</summary>
    public float Derivative(float z) => Kind switch
    {
        ActivationKind.Softplus => 1f / (1f + MathF.Exp(-Beta * z)),
        ActivationKind.Relu => float.IsNaN(z) ? z : z > 0f ? 1f : 0f,
        ActivationKind.Tanh => 1f - MathF.Tanh(z) * MathF.Tanh(z),
        _ => z > 0f ? 1f : MathF.Exp(z),
    };

    public bool Equals(Activation? other) => other is not null && other.Kind == Kind && other.Beta == Beta;

    public override bool Equals(object? obj) => obj is Activation other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Kind, Beta);

    public override string ToString() =>
        Kind == ActivationKind.Softplus && Beta != DefaultSoftplusBeta ? $"softplus(β={Beta})" : Name;

    private static void CheckSpans(ReadOnlySpan<float> input, Span<float> output)
    {
        if (input.Length != output.Length)
        {
            throw new ArgumentException($"input has {input.Length} values but output has {output.Length}.");
        }
        if (input.Overlaps(output, out int offset) && offset != 0)
        {
            throw new ArgumentException("input and output overlap partially; use the same span or disjoint spans.");
        }
    }

    // σ(z) = max(z, 0) + log(1 + exp(−β|z|)) / β: exp never overflows, and the log argument lies in [1, 2].
    private static float SoftplusScalar(float z, float beta) =>
        MathF.Max(z, 0f) + MathF.Log(1f + MathF.Exp(-beta * MathF.Abs(z))) / beta;

    // Vector512 where the machine has it, 16 values at a time, then Vector<float>, then the scalar form for the last
    // z.Length mod Vector<float>.Count values, as without it: Vector512's Exp and Log give each lane the bits that
    // Vector<float>'s give it (ActivationTests checks it over a sweep of all float bit patterns), so every element gets
    // the same result wherever it lies. Optimized from the first call: evaluations call it hundreds of times each.
    // Logs of arguments just above 1 come from LogNearOne (see there), with the same bits and without Log's slow path.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void SoftplusSpan(ReadOnlySpan<float> z, Span<float> y, float beta)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && z.Length >= Vector<float>.Count)
        {
            int vectorEnd = z.Length - z.Length % Vector<float>.Count;
            if (Vector512.IsHardwareAccelerated && Avx2.IsSupported)
            {
                ref float zs = ref MemoryMarshal.GetReference(z);
                ref float ys = ref MemoryMarshal.GetReference(y);
                var negBeta512 = Vector512.Create(-beta);
                var invBeta512 = Vector512.Create(1f / beta);
                var oneBits512 = Vector512.Create(OneBits);
                var lastEntry512 = Vector512.Create((uint)LogNearOne.Length - 1);
                fixed (float* table = LogNearOne)
                {
                    for (; i <= vectorEnd - Vector512<float>.Count; i += Vector512<float>.Count)
                    {
                        var v = Vector512.LoadUnsafe(ref zs, (nuint)i);
                        var u = Vector512<float>.One + Vector512.Exp(negBeta512 * Vector512.Abs(v));
                        var entry = u.AsUInt32() - oneBits512; // u = 1 + entry·2⁻²³; NaN's bits are far from 1's
                        var nearOne = Vector512.LessThanOrEqual(entry, lastEntry512);
                        Vector512<float> log;
                        if (nearOne == Vector512<uint>.Zero)
                        {
                            log = Vector512.Log(u);
                        }
                        else
                        {
                            // The lanes near 1 take their log from the table (the others read its last entry, unused) and
                            // go into Log as 1, which keeps Log on its fast path.
                            var index = Vector512.Min(entry, lastEntry512).AsInt32();
                            var tabled = Vector512.Create(Avx2.GatherVector256(table, index.GetLower(), sizeof(float)),
                                Avx2.GatherVector256(table, index.GetUpper(), sizeof(float)));
                            var near = nearOne.AsSingle();
                            log = Vector512.ConditionalSelect(near, tabled, Vector512.Log(Vector512.ConditionalSelect(near, Vector512<float>.One, u)));
                        }
                        (Vector512.Max(v, Vector512<float>.Zero) + log * invBeta512).StoreUnsafe(ref ys, (nuint)i);
                    }
                }
            }
            var zv = MemoryMarshal.Cast<float, Vector<float>>(z);
            var yv = MemoryMarshal.Cast<float, Vector<float>>(y);
            var negBeta = new Vector<float>(-beta);
            var invBeta = new Vector<float>(1f / beta);
            var one = Vector<float>.One;
            var oneBits = new Vector<uint>(OneBits);
            var tableSize = new Vector<uint>((uint)LogNearOne.Length);
            Span<float> logs = stackalloc float[Vector<float>.Count];
            Span<float> arguments = stackalloc float[Vector<float>.Count];
            for (int k = i / Vector<float>.Count; k < zv.Length; k++)
            {
                var v = zv[k];
                var u = one + Vector.Exp(negBeta * Vector.Abs(v));
                var nearOne = Vector.LessThan(Vector.AsVectorUInt32(u) - oneBits, tableSize);
                Vector<float> log;
                if (nearOne == Vector<uint>.Zero)
                {
                    log = Vector.Log(u);
                }
                else
                {
                    Vector.Log(Vector.ConditionalSelect(Vector.AsVectorSingle(nearOne), one, u)).CopyTo(logs);
                    u.CopyTo(arguments);
                    LogsFromTable(arguments, logs);
                    log = new Vector<float>(logs);
                }
                // Vector.Max propagates NaN on .NET 9+, and NaN reaches the log term through |v| anyway.
                yv[k] = Vector.Max(v, Vector<float>.Zero) + log * invBeta;
            }
            i = vectorEnd;
        }
        for (; i < z.Length; i++)
        {
            y[i] = SoftplusScalar(z[i], beta);
        }
    }

    private const uint OneBits = 0x3F80_0000; // the bits of 1f; the float after 1 + k·2⁻²³ is OneBits + k

    // Log(1 + k·2⁻²³) for k < 256, as Vector<float>'s Log computes it (its lanes all give the same bits). On arguments
    // just above 1 (k from about 10 to 152 on the machine of docs/performance.md) Log is about 14 times slower than
    // elsewhere: its polynomial in the tiny reduced argument goes through subnormal values, which the CPU handles in
    // microcode. Softplus meets them where β|z| is about 11–14, as many pre-activations of a trained network are, and a
    // vector pays for its slowest lane; so those few arguments are looked up here instead, and their logs keep their bits
    // (docs/performance.md, "Where the real commands' time goes").
    private static readonly float[] LogNearOne = TabulateLogNearOne(256);

    private static float[] TabulateLogNearOne(int size)
    {
        var table = new float[size];
        for (int k = 0; k < size; k++) table[k] = Vector.Log(new Vector<float>(BitConverter.UInt32BitsToSingle(OneBits + (uint)k)))[0];
        return table;
    }

    // logs[lane] = Log(arguments[lane]) from LogNearOne for the lanes whose argument is in the table; the others keep theirs.
    private static void LogsFromTable(ReadOnlySpan<float> arguments, Span<float> logs)
    {
        for (int lane = 0; lane < arguments.Length; lane++)
        {
            uint k = BitConverter.SingleToUInt32Bits(arguments[lane]) - OneBits;
            if (k < (uint)LogNearOne.Length) logs[lane] = LogNearOne[k];
        }
    }

    private static void EluSpan(ReadOnlySpan<float> z, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && z.Length >= Vector<float>.Count)
        {
            var zv = MemoryMarshal.Cast<float, Vector<float>>(z);
            var yv = MemoryMarshal.Cast<float, Vector<float>>(y);
            var one = Vector<float>.One;
            for (int k = 0; k < zv.Length; k++)
            {
                var v = zv[k];
                // z > 0: expm1(0) + z = z; z ≤ 0: exp(z) − 1 + 0.
                yv[k] = (Vector.Exp(Vector.Min(v, Vector<float>.Zero)) - one) + Vector.Max(v, Vector<float>.Zero);
            }
            i = zv.Length * Vector<float>.Count;
        }
        for (; i < z.Length; i++)
        {
            float v = z[i];
            y[i] = v > 0f ? v : MathF.Exp(v) - 1f;
        }
    }

    private static void EluDerivativeSpan(ReadOnlySpan<float> z, Span<float> d)
    {
        // exp(min(z, 0)) is 1 for z > 0 and exp(z) otherwise; TensorPrimitives.Min propagates NaN.
        TensorPrimitives.Min(z, 0f, d);
        TensorPrimitives.Exp(d, d);
    }

    private static void ReluDerivativeSpan(ReadOnlySpan<float> z, Span<float> d)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && z.Length >= Vector<float>.Count)
        {
            var zv = MemoryMarshal.Cast<float, Vector<float>>(z);
            var dv = MemoryMarshal.Cast<float, Vector<float>>(d);
            for (int k = 0; k < zv.Length; k++)
            {
                var v = zv[k];
                // 1 where z > 0, 0 where z ≤ 0, NaN where z is NaN (v == v fails only there).
                var step = Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), Vector<float>.One, Vector<float>.Zero);
                dv[k] = Vector.ConditionalSelect(Vector.Equals(v, v), step, v);
            }
            i = zv.Length * Vector<float>.Count;
        }
        for (; i < z.Length; i++)
        {
            float v = z[i];
            d[i] = float.IsNaN(v) ? v : v > 0f ? 1f : 0f;
        }
    }
}
