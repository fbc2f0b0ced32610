using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace PlasticityDsl.Runtime;

/// <summary>
/// The dense building blocks that generated kernels and the network call: spans in, spans out, SIMD via
/// <see cref="TensorPrimitives"/>, no allocation. Matrices are row-major.
/// </summary>
public static class KernelPrimitives
{
    /// <summary>destination = W x, with W of shape rows × columns.</summary>
    public static void MultiplyVector(ReadOnlySpan<float> weights, int rows, int columns, ReadOnlySpan<float> x, Span<float> destination)
    {
        CheckShape(weights, rows, columns, x.Length, columns, destination.Length, rows);
        for (int i = 0; i < rows; i++)
        {
            destination[i] = TensorPrimitives.Dot(weights.Slice(i * columns, columns), x);
        }
    }

    /// <summary>
    /// outputs[k] = W inputs[k] for a block of <paramref name="count"/> inputs stored one after another
    /// (count × columns in, count × rows out). Each row of W is read once per four inputs instead of once per
    /// input, which is what makes evaluation on a test set compute-bound rather than bound by reading W.
    /// </summary>
    public static void MultiplyBlock(ReadOnlySpan<float> weights, int rows, int columns, ReadOnlySpan<float> inputs, int count, Span<float> outputs)
    {
        CheckShape(weights, rows, columns, inputs.Length, count * columns, outputs.Length, count * rows);
        for (int i = 0; i < rows; i++)
        {
            ReadOnlySpan<float> row = weights.Slice(i * columns, columns);
            int k = 0;
            for (; k + 4 <= count; k += 4)
            {
                Dot4(row, inputs.Slice(k * columns, 4 * columns), out float d0, out float d1, out float d2, out float d3);
                outputs[k * rows + i] = d0;
                outputs[(k + 1) * rows + i] = d1;
                outputs[(k + 2) * rows + i] = d2;
                outputs[(k + 3) * rows + i] = d3;
            }

            for (; k < count; k++) outputs[k * rows + i] = TensorPrimitives.Dot(row, inputs.Slice(k * columns, columns));
        }
    }

    /// <summary>Four dot products of <paramref name="row"/> with consecutive vectors of its length.</summary>
    private static void Dot4(ReadOnlySpan<float> row, ReadOnlySpan<float> four, out float d0, out float d1, out float d2, out float d3)
    {
        int n = row.Length;
        ref float w = ref MemoryMarshal.GetReference(row);
        ref float x = ref MemoryMarshal.GetReference(four);
        Vector<float> a0 = Vector<float>.Zero, a1 = Vector<float>.Zero, a2 = Vector<float>.Zero, a3 = Vector<float>.Zero;
        int i = 0;
        for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
        {
            Vector<float> wv = Vector.LoadUnsafe(ref w, (nuint)i);
            a0 = Vector.FusedMultiplyAdd(wv, Vector.LoadUnsafe(ref x, (nuint)i), a0);
            a1 = Vector.FusedMultiplyAdd(wv, Vector.LoadUnsafe(ref x, (nuint)(n + i)), a1);
            a2 = Vector.FusedMultiplyAdd(wv, Vector.LoadUnsafe(ref x, (nuint)(2 * n + i)), a2);
            a3 = Vector.FusedMultiplyAdd(wv, Vector.LoadUnsafe(ref x, (nuint)(3 * n + i)), a3);
        }

        d0 = Vector.Sum(a0);
        d1 = Vector.Sum(a1);
        d2 = Vector.Sum(a2);
        d3 = Vector.Sum(a3);
        for (; i < n; i++)
        {
            float wi = row[i];
            d0 += wi * four[i];
            d1 += wi * four[n + i];
            d2 += wi * four[2 * n + i];
            d3 += wi * four[3 * n + i];
        }
    }

    /// <summary>destination = Wᵀ v, with W of shape rows × columns; streams W once, row by row.</summary>
    public static void MultiplyTransposedVector(ReadOnlySpan<float> weights, int rows, int columns, ReadOnlySpan<float> v, Span<float> destination)
    {
        CheckShape(weights, rows, columns, v.Length, rows, destination.Length, columns);
        destination.Clear();
        for (int i = 0; i < rows; i++)
        {
            float scale = v[i];
            if (scale != 0f)
            {
                TensorPrimitives.MultiplyAdd(weights.Slice(i * columns, columns), scale, destination, destination);
            }
        }
    }

    /// <summary>aᵀ b.</summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => TensorPrimitives.Dot(a, b);

    /// <summary>row += scale · x.</summary>
    public static void AddScaled(Span<float> row, float scale, ReadOnlySpan<float> x)
    {
        if (scale != 0f)
        {
            TensorPrimitives.MultiplyAdd(x, scale, row, row);
        }
    }

    /// <summary>row *= scale.</summary>
    public static void Scale(Span<float> row, float scale) => TensorPrimitives.Multiply(row, scale, row);

    /// <summary>
    /// destination = softmax(z), computed stably (the maximum is subtracted before exponentiating). A NaN in
    /// <paramref name="z"/> makes every output NaN. <paramref name="destination"/> may be <paramref name="z"/> itself.
    /// </summary>
    public static void Softmax(ReadOnlySpan<float> z, Span<float> destination)
    {
        if (z.Length == 0 || destination.Length != z.Length)
        {
            throw new ArgumentException($"softmax needs equal, non-empty input and output lengths, got {z.Length} and {destination.Length}.");
        }
        float max = TensorPrimitives.Max(z); // NaN if any entry is NaN
        TensorPrimitives.Subtract(z, max, destination);
        TensorPrimitives.Exp(destination, destination);
        float sum = TensorPrimitives.Sum(destination); // ≥ 1: the maximum contributes exp(0)
        TensorPrimitives.Divide(destination, sum, destination);
    }

    /// <summary>Index of the largest entry (the first on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> values) => TensorPrimitives.IndexOfMax(values);

    /// <summary>Whether every entry is finite (no NaN, no ±∞); one SIMD pass.</summary>
    public static bool AllFinite(ReadOnlySpan<float> values) => TensorPrimitives.IsFiniteAll(values);

    /// <summary>row += scale · (x ⊙ y).</summary>
    public static void AddScaledProduct(Span<float> row, float scale, ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (scale != 0f)
        {
            for (int j = 0; j < row.Length; j++) row[j] += scale * x[j] * y[j];
        }
    }

    /// <summary>destination = a ⊙ b.</summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> destination) => TensorPrimitives.Multiply(a, b, destination);

    /// <summary>Σ x.</summary>
    public static float Sum(ReadOnlySpan<float> x) => TensorPrimitives.Sum(x);

    /// <summary>‖x‖₂.</summary>
    public static float Norm2(ReadOnlySpan<float> x) => TensorPrimitives.Norm(x);

    // The elementwise functions of the rule language, on vectors and on scalars.
    public static void Exp(ReadOnlySpan<float> x, Span<float> destination) => TensorPrimitives.Exp(x, destination);

    public static void Log(ReadOnlySpan<float> x, Span<float> destination) => TensorPrimitives.Log(x, destination);

    public static void Tanh(ReadOnlySpan<float> x, Span<float> destination) => TensorPrimitives.Tanh(x, destination);

    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> destination) => TensorPrimitives.Sigmoid(x, destination);

    public static void Relu(ReadOnlySpan<float> x, Span<float> destination) => TensorPrimitives.Max(x, 0f, destination);

    public static void Abs(ReadOnlySpan<float> x, Span<float> destination) => TensorPrimitives.Abs(x, destination);

    public static void Sign(ReadOnlySpan<float> x, Span<float> destination)
    {
        for (int i = 0; i < x.Length; i++) destination[i] = Sign(x[i]);
    }

    public static void Square(ReadOnlySpan<float> x, Span<float> destination) => TensorPrimitives.Multiply(x, x, destination);

    public static void Sqrt(ReadOnlySpan<float> x, Span<float> destination) => TensorPrimitives.Sqrt(x, destination);

    public static float Exp(float x) => MathF.Exp(x);

    public static float Log(float x) => MathF.Log(x);

    public static float Tanh(float x) => MathF.Tanh(x);

    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    public static float Relu(float x) => MathF.Max(x, 0f);

    public static float Abs(float x) => MathF.Abs(x);

    public static float Sign(float x) => x > 0f ? 1f : x < 0f ? -1f : 0f;

    public static float Square(float x) => x * x;

    public static float Sqrt(float x) => MathF.Sqrt(x);

    private static void CheckShape(ReadOnlySpan<float> weights, int rows, int columns, int inputLength, int expectedInput, int outputLength, int expectedOutput)
    {
        if (weights.Length != rows * columns || inputLength != expectedInput || outputLength != expectedOutput)
        {
            throw new ArgumentException($"Shape mismatch: W is {rows}×{columns} ({weights.Length} values), input {inputLength} (expected {expectedInput}), output {outputLength} (expected {expectedOutput}).");
        }
    }
}
