using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.Training;

/// <summary>
/// The packed evaluation product against plain loops, at shapes with partial panels (rows not a multiple of 32),
/// partial tiles (inputs not a multiple of 12) and column tails (columns not a multiple of 8), and its summation order
/// bit for bit.
/// </summary>
public class PackedGemmTests
{
    private static readonly int[] Rows = [1, 5, 31, 32, 33, 70, 170];
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
    public void Multiply_sums_in_the_documented_order_bit_for_bit()
    {
        foreach (int rows in Rows)
        foreach (int columns in Columns)
        {
            const int count = 13;
            float[] w = RandomValues(rows * columns, columns * 7 + rows);
            float[] x = RandomValues(count * columns, columns);
            float[] actual = Product(w, rows, columns, x, count);
            int vectorColumns = columns / 8 * 8;
            for (int n = 0; n < count; n++)
            {
                for (int i = 0; i < rows; i++)
                {
                    var p = new float[8];
                    for (int k = 0; k < vectorColumns; k++) p[k % 8] = MathF.FusedMultiplyAdd(w[i * columns + k], x[n * columns + k], p[k % 8]);
                    float expected = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
                    for (int k = vectorColumns; k < columns; k++) expected += w[i * columns + k] * x[n * columns + k];
                    Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual[n * rows + i]),
                        $"{rows}×{columns}, output [{n}, {i}]: expected {expected:R}, got {actual[n * rows + i]:R}");
                }
            }
        }
    }

    [Fact]
    public void Multiply_gives_the_bits_of_MultiplyBlock_for_inputs_in_fours()
    {
        // Evaluation used MultiplyBlock before; equal bits keep every accuracy measured with it.
        foreach (int rows in Rows)
        foreach (int columns in Columns)
        {
            const int count = 12;
            float[] w = RandomValues(rows * columns, rows + columns);
            float[] x = RandomValues(count * columns, rows);
            var expected = new float[count * rows];
            KernelPrimitives.MultiplyBlock(w, rows, columns, x, count, expected);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), Product(w, rows, columns, x, count).Select(BitConverter.SingleToInt32Bits));
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
