using System.Numerics.Tensors;

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

    private static void CheckShape(ReadOnlySpan<float> weights, int rows, int columns, int inputLength, int expectedInput, int outputLength, int expectedOutput)
    {
        if (weights.Length != rows * columns || inputLength != expectedInput || outputLength != expectedOutput)
        {
            throw new ArgumentException($"Shape mismatch: W is {rows}×{columns} ({weights.Length} values), input {inputLength} (expected {expectedInput}), output {outputLength} (expected {expectedOutput}).");
        }
    }
}
