using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.Training;

/// <summary>
/// The hand-vectorized primitives against plain double loops, at lengths that exercise the 512-bit body, the 256-bit
/// step, the scalar tail and the four-row blocks with leftover rows.
/// </summary>
public class KernelPrimitivesTests
{
    private static readonly int[] Lengths = [0, 1, 3, 7, 8, 9, 15, 16, 17, 23, 31, 32, 33, 47, 64, 70, 100, 130, 170, 784];

    private static float[] RandomVector(int n, int seed)
    {
        var random = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(random.NextDouble() * 2 - 1);
        return v;
    }

    private static void Close(double expected, float actual, double magnitude)
    {
        Assert.True(Math.Abs(expected - actual) <= 1e-5 * (magnitude + 1e-30), $"expected {expected}, got {actual} (magnitude {magnitude})");
    }

    [Fact]
    public void AllFinite_finds_every_NaN_and_infinity_wherever_it_is()
    {
        foreach (int n in Lengths.Where(n => n > 0).Append(200))
        {
            float[] v = RandomVector(n, n);
            v[0] = float.MaxValue;
            v[n - 1] = -float.Epsilon; // subnormal
            Assert.True(KernelPrimitives.AllFinite(v));
            for (int i = 0; i < n; i++)
            {
                foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
                {
                    float keep = v[i];
                    v[i] = bad;
                    Assert.False(KernelPrimitives.AllFinite(v), $"n={n}, {bad} at {i}");
                    v[i] = keep;
                }
            }
        }
        Assert.True(KernelPrimitives.AllFinite([]));
    }

    [Fact]
    public void MultiplyUpdatedRow_over_every_row_in_order_is_MultiplyVector_bit_for_bit()
    {
        foreach (int rows in new[] { 1, 3, 4, 5, 9, 10, 70 })
        {
            foreach (int columns in Lengths.Where(n => n > 0))
            {
                float[] w = RandomVector(rows * columns, rows * 1000 + columns);
                float[] x = RandomVector(columns, 3);
                var expected = new float[rows];
                KernelPrimitives.MultiplyVector(w, rows, columns, x, expected);
                var product = new float[rows];
                for (int i = 0; i < rows; i++) KernelPrimitives.MultiplyUpdatedRow(w, rows, columns, i, x, product);
                Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), product.Select(BitConverter.SingleToInt32Bits));
            }
        }

        var untouched = new float[] { 7f, 7f };
        KernelPrimitives.MultiplyUpdatedRow(new float[6], 2, 3, 1, [], untouched);
        Assert.Equal([7f, 7f], untouched);
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelPrimitives.MultiplyUpdatedRow(new float[6], 2, 3, 2, new float[3], new float[2]));
        Assert.Throws<ArgumentException>(() => KernelPrimitives.MultiplyUpdatedRow(new float[6], 2, 3, 0, new float[2], new float[2]));
    }

    [Fact]
    public void MultiplyVector_and_its_transpose_match_double_loops()
    {
        foreach (int rows in new[] { 1, 3, 4, 5, 9, 10, 70 })
        {
            foreach (int columns in Lengths.Where(n => n > 0))
            {
                float[] w = RandomVector(rows * columns, rows * 1000 + columns);
                float[] x = RandomVector(columns, 1), v = RandomVector(rows, 2);
                var z = new float[rows];
                var t = new float[columns];
                KernelPrimitives.MultiplyVector(w, rows, columns, x, z);
                KernelPrimitives.MultiplyTransposedVector(w, rows, columns, v, t);
                for (int i = 0; i < rows; i++)
                {
                    double sum = 0, magnitude = 0;
                    for (int j = 0; j < columns; j++)
                    {
                        sum += (double)w[i * columns + j] * x[j];
                        magnitude += Math.Abs((double)w[i * columns + j] * x[j]);
                    }
                    Close(sum, z[i], magnitude);
                }
                for (int j = 0; j < columns; j++)
                {
                    double sum = 0, magnitude = 0;
                    for (int i = 0; i < rows; i++)
                    {
                        sum += (double)w[i * columns + j] * v[i];
                        magnitude += Math.Abs((double)w[i * columns + j] * v[i]);
                    }
                    Close(sum, t[j], magnitude);
                }
            }
        }
    }

    [Fact]
    public void MultiplyTransposedBlock_gives_each_input_its_own_transposed_product()
    {
        foreach (int rows in new[] { 1, 4, 7, 70 })
        {
            foreach (int columns in new[] { 1, 17, 100 })
            {
                foreach (int count in new[] { 1, 3, 6 })
                {
                    float[] w = RandomVector(rows * columns, rows * 100 + columns);
                    float[] inputs = RandomVector(count * rows, count);
                    if (rows > 1) inputs[rows + 1 - (count == 1 ? rows : 0)] = 0f; // a skipped row inside a four-row block
                    var block = new float[count * columns];
                    var single = new float[columns];
                    KernelPrimitives.MultiplyTransposedBlock(w, rows, columns, inputs, count, block);
                    for (int k = 0; k < count; k++)
                    {
                        KernelPrimitives.MultiplyTransposedVector(w, rows, columns, inputs.AsSpan(k * rows, rows), single);
                        for (int j = 0; j < columns; j++)
                        {
                            double sum = 0, magnitude = 0;
                            for (int i = 0; i < rows; i++)
                            {
                                sum += (double)w[i * columns + j] * inputs[k * rows + i];
                                magnitude += Math.Abs((double)w[i * columns + j] * inputs[k * rows + i]);
                            }
                            Close(sum, block[k * columns + j], magnitude);
                            Assert.Equal(single[j], block[k * columns + j]); // the same sums in the same order
                        }
                    }
                }
            }
        }
        Assert.Throws<ArgumentException>(() => KernelPrimitives.MultiplyTransposedBlock(new float[6], 2, 3, new float[4], 3, new float[9]));
    }

    [Fact]
    public void MultiplyTransposedVector_skips_rows_whose_coefficient_is_zero()
    {
        const int rows = 8, columns = 20;
        float[] w = RandomVector(rows * columns, 3);
        for (int j = 0; j < columns; j++) w[2 * columns + j] = float.PositiveInfinity; // row 2, in a four-row block
        for (int j = 0; j < columns; j++) w[5 * columns + j] = float.NaN;              // row 5
        float[] v = RandomVector(rows, 4);
        v[2] = 0f;
        v[5] = 0f;
        var t = new float[columns];
        KernelPrimitives.MultiplyTransposedVector(w, rows, columns, v, t);
        Assert.True(KernelPrimitives.AllFinite(t));
    }

    [Fact]
    public void Row_updates_match_double_loops()
    {
        foreach (int n in Lengths)
        {
            float[] row = RandomVector(n, 5), x = RandomVector(n, 6), y = RandomVector(n, 7);
            float[] added = (float[])row.Clone(), scaled = (float[])row.Clone(), product = (float[])row.Clone();
            KernelPrimitives.AddScaled(added, 0.37f, x);
            KernelPrimitives.Scale(scaled, -1.5f);
            KernelPrimitives.AddScaledProduct(product, 0.8f, x, y);
            for (int j = 0; j < n; j++)
            {
                Close(row[j] + 0.37 * x[j], added[j], Math.Abs(row[j]) + Math.Abs(0.37 * x[j]));
                Close(-1.5 * row[j], scaled[j], Math.Abs(1.5 * row[j]));
                Close(row[j] + 0.8 * x[j] * y[j], product[j], Math.Abs(row[j]) + Math.Abs(0.8 * x[j] * y[j]));
            }
        }
    }

    [Fact]
    public void Fused_row_updates_equal_the_terms_applied_one_by_one()
    {
        foreach (int n in Lengths)
        {
            float[] row = RandomVector(n, 9), x = RandomVector(n, 10), y = RandomVector(n, 11), z = RandomVector(n, 12);
            float[][] fused = Enumerable.Range(0, 5).Select(_ => (float[])row.Clone()).ToArray();
            KernelPrimitives.AddScaled(fused[0], 0.3f, x, -0.2f, y);
            KernelPrimitives.AddScaled(fused[1], 0.3f, x, -0.2f, y, 0.7f, z);
            KernelPrimitives.ScaleAddScaled(fused[2], 0.9f, 0.3f, x);
            KernelPrimitives.ScaleAddScaled(fused[3], 0.9f, 0.3f, x, -0.2f, y);
            KernelPrimitives.ScaleAddScaled(fused[4], 0.9f, 0.3f, x, -0.2f, y, 0.7f, z);
            for (int j = 0; j < n; j++)
            {
                double r = row[j], two = r + 0.3 * x[j] - 0.2 * y[j], scaled = 0.9 * r + 0.3 * x[j];
                double magnitude = Math.Abs(r) + Math.Abs(x[j]) + Math.Abs(y[j]) + Math.Abs(z[j]);
                Close(two, fused[0][j], magnitude);
                Close(two + 0.7 * z[j], fused[1][j], magnitude);
                Close(scaled, fused[2][j], magnitude);
                Close(scaled - 0.2 * y[j], fused[3][j], magnitude);
                Close(scaled - 0.2 * y[j] + 0.7 * z[j], fused[4][j], magnitude);
            }
        }
        Assert.Throws<ArgumentException>(() => KernelPrimitives.AddScaled(new float[8], 1f, new float[8], 1f, new float[7]));
        Assert.Throws<ArgumentException>(() => KernelPrimitives.ScaleAddScaled(new float[8], 1f, 1f, new float[8], 1f, new float[8], 1f, new float[9]));
    }

    [Fact]
    public void Row_updates_are_right_at_every_alignment_of_the_row()
    {
        // The 512-bit path aligns its stores to 64 bytes: exercise every start offset of the row within a cache line.
        foreach (int n in new[] { 32, 33, 47, 70, 100, 784 })
        {
            for (int offset = 0; offset < 16; offset++)
            {
                float[] buffer = RandomVector(n + 16, n + offset), x = RandomVector(n, 13), y = RandomVector(n, 14);
                float[] original = buffer.AsSpan(offset, n).ToArray();
                KernelPrimitives.ScaleAddScaled(buffer.AsSpan(offset, n), 0.5f, 0.3f, x, -0.2f, y);
                for (int j = 0; j < n; j++)
                {
                    Close(0.5 * original[j] + 0.3 * x[j] - 0.2 * y[j], buffer[offset + j], Math.Abs(original[j]) + Math.Abs(x[j]) + Math.Abs(y[j]));
                }
                Assert.Equal(RandomVector(n + 16, n + offset).AsSpan(0, offset).ToArray(), buffer.AsSpan(0, offset).ToArray());
                Assert.Equal(RandomVector(n + 16, n + offset).AsSpan(offset + n).ToArray(), buffer.AsSpan(offset + n).ToArray());
            }
        }
    }

    [Fact]
    public void A_zero_scale_leaves_the_row_alone_and_a_length_mismatch_is_an_error()
    {
        float[] row = RandomVector(33, 8);
        float[] copy = (float[])row.Clone();
        float[] poisoned = Enumerable.Repeat(float.NaN, 33).ToArray();
        KernelPrimitives.AddScaled(row, 0f, poisoned);
        KernelPrimitives.AddScaledProduct(row, 0f, poisoned, poisoned);
        Assert.Equal(copy, row);
        Assert.Throws<ArgumentException>(() => KernelPrimitives.AddScaled(row, 1f, new float[32]));
        Assert.Throws<ArgumentException>(() => KernelPrimitives.AddScaledProduct(row, 1f, new float[33], new float[32]));
    }
}
