using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.Training;

/// <summary>
/// The packed evaluation product against plain loops, at shapes with partial panels (rows not a multiple of 32 or 16)
/// and partial tiles (inputs not a multiple of 12 or 4), and its summation order bit for bit, by the AVX-512 kernel
/// (where the machine has it) and by the portable one.
/// </summary>
public class PackedGemmTests
{
    private static readonly int[] Rows = [1, 5, 16, 17, 31, 32, 33, 48, 70, 170];
    private static readonly int[] Columns = [1, 7, 8, 9, 70, 100, 784];
    private static readonly int[] Counts = [1, 7, 8, 9, 12, 13, 24, 130];

    // Values spread over six decades, so that a different order of summation gives different bits.
    private static float[] RandomValues(int n, int seed)
    {
        var random = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)((random.NextDouble() * 2 - 1) * Math.Pow(10, random.Next(-3, 3)));
        return v;
    }

    private static float[] Product(float[] weights, int rows, int columns, float[] inputs, int count)
    {
        var packed = new float[PackedGemm.PackedWeightsLength(rows, columns)];
        PackedGemm.PackWeights(weights, rows, columns, packed);
        var outputs = new float[count * rows];
        PackedGemm.Multiply(packed, rows, columns, inputs, count, outputs, new float[PackedGemm.ScratchLength(columns)]);
        return outputs;
    }

    [Fact]
    public void Multiply_matches_a_double_reference_on_odd_shapes()
    {
        foreach (int rows in Rows)
        foreach (int columns in Columns)
        foreach (int count in Counts)
        {
            float[] w = RandomValues(rows * columns, rows * 1000 + columns);
            float[] x = RandomValues(count * columns, count);
            float[] actual = Product(w, rows, columns, x, count);
            for (int n = 0; n < count; n++)
            {
                for (int i = 0; i < rows; i++)
                {
                    double sum = 0, magnitude = 0;
                    for (int k = 0; k < columns; k++)
                    {
                        sum += (double)w[i * columns + k] * x[n * columns + k];
                        magnitude += Math.Abs((double)w[i * columns + k] * x[n * columns + k]);
                    }
                    Assert.True(Math.Abs(sum - actual[n * rows + i]) <= 1e-5 * magnitude,
                        $"{rows}×{columns}, {count} inputs, output [{n}, {i}]: expected {sum}, got {actual[n * rows + i]}");
                }
            }
        }
    }

    [Fact]
    public void Multiply_sums_each_output_in_one_fma_chain_bit_for_bit()
    {
        foreach (int rows in Rows)
        foreach (int columns in Columns)
        foreach (int count in (int[])[1, 5, 13, 24])
        {
            float[] w = RandomValues(rows * columns, columns * 7 + rows);
            float[] x = RandomValues(count * columns, columns + count);
            var expected = new float[count * rows];
            for (int n = 0; n < count; n++)
            {
                for (int i = 0; i < rows; i++)
                {
                    float s = 0;
                    for (int k = 0; k < columns; k++) s = MathF.FusedMultiplyAdd(w[i * columns + k], x[n * columns + k], s);
                    expected[n * rows + i] = s;
                }
            }

            var packed = new float[PackedGemm.PackedWeightsLength(rows, columns)];
            PackedGemm.PackWeights(w, rows, columns, packed);
            var portable = new float[count * rows];
            PackedGemm.MultiplyPortable(packed, rows, columns, x, count, portable);
            AssertBits(expected, Product(w, rows, columns, x, count), $"{rows}×{columns}, {count} inputs");
            AssertBits(expected, portable, $"{rows}×{columns}, {count} inputs, portable kernel");
        }
    }

    private static void AssertBits(float[] expected, float[] actual, string shape)
    {
        for (int j = 0; j < expected.Length; j++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[j]) == BitConverter.SingleToInt32Bits(actual[j]),
                $"{shape}, output {j}: expected {expected[j]:R}, got {actual[j]:R}");
        }
    }

    [Fact]
    public void Multiply_refuses_scratch_or_shapes_that_do_not_fit()
    {
        var packed = new float[PackedGemm.PackedWeightsLength(3, 4)];
        PackedGemm.PackWeights(new float[12], 3, 4, packed);
        var error = Assert.Throws<ArgumentException>(() =>
            PackedGemm.Multiply(packed, 3, 4, new float[8], 2, new float[5], new float[PackedGemm.ScratchLength(4)]));
        Assert.Contains("output 5 (expected 6)", error.Message);
        Assert.Throws<ArgumentException>(() => PackedGemm.PackWeights(new float[11], 3, 4, packed));
    }
}
