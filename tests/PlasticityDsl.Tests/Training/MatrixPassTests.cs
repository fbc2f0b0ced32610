using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.Training;

/// <summary>
/// KernelPrimitives.MatrixPass, which adjoint kernels use to compute several products of one matrix in one pass over
/// it, against the separate primitives it replaces, bit for bit: the meta-gradients must not change by a single rounding.
/// </summary>
public class MatrixPassTests
{
    private static readonly int[] Rows = [1, 2, 3, 4, 5, 7, 8, 9, 13, 20, 70];
    private static readonly int[] Columns = [1, 3, 8, 15, 16, 17, 31, 33, 47, 70, 100, 130, 784];

    private static float[] RandomVector(int n, int seed)
    {
        var random = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(random.NextDouble() * 2 - 1);
        return v;
    }

    private static void SameBits(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R}");
        }
    }

    [Fact]
    public void Every_product_of_a_full_pass_equals_its_separate_primitive_bit_for_bit()
    {
        foreach (int rows in Rows)
        {
            foreach (int columns in Columns)
            {
                int seed = rows * 1000 + columns;
                float[] m = RandomVector(rows * columns, seed), n0 = RandomVector(rows * columns, seed + 1), n1 = RandomVector(rows * columns, seed + 2);
                float[][] x = Enumerable.Range(0, 4).Select(k => RandomVector(columns, seed + 10 + k)).ToArray();
                float[][] v = Enumerable.Range(0, 4).Select(k => RandomVector(rows, seed + 20 + k)).ToArray();
                // Zero coefficients take MultiplyTransposedVector's skipping branches: a whole group, one row of a group, the tail.
                Array.Clear(v[1]);
                v[2][0] = 0f;
                v[3][rows - 1] = 0f;

                float[][] times = x.Select(_ => new float[rows]).ToArray();
                float[][] transposed = v.Select(_ => Enumerable.Repeat(float.NaN, columns).ToArray()).ToArray(); // the pass clears them
                float[] dots0 = new float[rows], dots1 = new float[rows];
                KernelPrimitives.Pass(m, rows, columns)
                    .Times(x[0], times[0]).TransposedTimes(v[0], transposed[0]).RowDots(n0, dots0)
                    .Times(x[1], times[1]).TransposedTimes(v[1], transposed[1]).RowDots(n1, dots1)
                    .Times(x[2], times[2]).TransposedTimes(v[2], transposed[2])
                    .Times(x[3], times[3]).TransposedTimes(v[3], transposed[3])
                    .Run();

                string at = $"{rows}×{columns}";
                for (int k = 0; k < 4; k++)
                {
                    var expected = new float[rows];
                    KernelPrimitives.MultiplyVector(m, rows, columns, x[k], expected);
                    SameBits(expected, times[k], $"M x{k} at {at}");
                    var expectedTransposed = new float[columns];
                    KernelPrimitives.MultiplyTransposedVector(m, rows, columns, v[k], expectedTransposed);
                    SameBits(expectedTransposed, transposed[k], $"Mᵀ v{k} at {at}");
                }

                // The kernels printed ⟨N_i, M_i⟩ with either matrix first: both orders give the pass's bits.
                foreach ((float[] other, float[] dots) in new[] { (n0, dots0), (n1, dots1) })
                {
                    float[] mFirst = Enumerable.Range(0, rows).Select(i => KernelPrimitives.Dot(m.AsSpan(i * columns, columns), other.AsSpan(i * columns, columns))).ToArray();
                    float[] otherFirst = Enumerable.Range(0, rows).Select(i => KernelPrimitives.Dot(other.AsSpan(i * columns, columns), m.AsSpan(i * columns, columns))).ToArray();
                    SameBits(mFirst, dots, $"⟨M_i, N_i⟩ at {at}");
                    SameBits(otherFirst, dots, $"⟨N_i, M_i⟩ at {at}");
                }
            }
        }
    }

    // Passes of up to two products of each kind sweep each group of four rows once for all of them: every mix of
    // counts, with and without row dots, and groups with a zero coefficient (which take the separate path), against
    // the separate primitives.
    [Theory]
    [InlineData(1, 0, 0)]
    [InlineData(0, 1, 0)]
    [InlineData(1, 1, 0)]
    [InlineData(1, 1, 1)]
    [InlineData(2, 0, 0)]
    [InlineData(0, 2, 1)]
    [InlineData(2, 1, 0)]
    [InlineData(1, 2, 1)]
    [InlineData(2, 2, 1)]
    [InlineData(2, 2, 0)]
    public void A_pass_of_few_products_equals_the_separate_primitives_bit_for_bit(int timesCount, int transposedCount, int dotsCount)
    {
        foreach (int rows in Rows)
        {
            foreach (int columns in Columns)
            {
                int seed = rows * 7919 + columns * 31 + timesCount * 3 + transposedCount;
                float[] m = RandomVector(rows * columns, seed), other = RandomVector(rows * columns, seed + 1);
                float[][] x = Enumerable.Range(0, timesCount).Select(k => RandomVector(columns, seed + 10 + k)).ToArray();
                float[][] v = Enumerable.Range(0, transposedCount).Select(k => RandomVector(rows, seed + 20 + k)).ToArray();
                if (transposedCount == 2 && rows > 5) v[1][5] = 0f; // the second group of four rows is not swept fused
                float[][] times = x.Select(_ => new float[rows]).ToArray();
                float[][] transposed = v.Select(_ => Enumerable.Repeat(float.NaN, columns).ToArray()).ToArray();
                float[] dots = new float[rows];
                KernelPrimitives.MatrixPass pass = KernelPrimitives.Pass(m, rows, columns);
                for (int k = 0; k < timesCount; k++) pass = pass.Times(x[k], times[k]);
                for (int k = 0; k < transposedCount; k++) pass = pass.TransposedTimes(v[k], transposed[k]);
                if (dotsCount == 1) pass = pass.RowDots(other, dots);
                pass.Run();

                string at = $"{rows}×{columns}";
                for (int k = 0; k < timesCount; k++)
                {
                    var expected = new float[rows];
                    KernelPrimitives.MultiplyVector(m, rows, columns, x[k], expected);
                    SameBits(expected, times[k], $"M x{k} at {at}");
                }
                for (int k = 0; k < transposedCount; k++)
                {
                    var expected = new float[columns];
                    KernelPrimitives.MultiplyTransposedVector(m, rows, columns, v[k], expected);
                    SameBits(expected, transposed[k], $"Mᵀ v{k} at {at}");
                }
                if (dotsCount == 1)
                {
                    SameBits(Enumerable.Range(0, rows).Select(i => KernelPrimitives.Dot(m.AsSpan(i * columns, columns), other.AsSpan(i * columns, columns))).ToArray(),
                        dots, $"⟨M_i, N_i⟩ at {at}");
                }
            }
        }
    }

    [Fact]
    public void A_pass_with_one_product_computes_only_that_product()
    {
        float[] m = RandomVector(5 * 17, 1), x = RandomVector(17, 2);
        var expected = new float[5];
        var actual = new float[5];
        KernelPrimitives.MultiplyVector(m, 5, 17, x, expected);
        KernelPrimitives.Pass(m, 5, 17).Times(x, actual).Run();
        SameBits(expected, actual, "M x");
    }

    [Fact]
    public void Wrong_shapes_and_a_fifth_product_of_a_kind_are_refused_naming_the_product()
    {
        float[] m = new float[6];
        Assert.Contains("M is 2×4", Assert.Throws<ArgumentException>(() => { KernelPrimitives.Pass(m, 2, 4); }).Message);
        Assert.Contains("Mᵀ v", Assert.Throws<ArgumentException>(() => { KernelPrimitives.Pass(m, 2, 3).TransposedTimes(new float[3], new float[3]); }).Message);
        Assert.Contains("M x", Assert.Throws<ArgumentException>(() => { KernelPrimitives.Pass(m, 2, 3).Times(new float[3], new float[3]); }).Message);
        Assert.Contains("⟨M_i, N_i⟩", Assert.Throws<ArgumentException>(() => { KernelPrimitives.Pass(m, 2, 3).RowDots(new float[5], new float[2]); }).Message);
        float[] x = new float[3], d = new float[2];
        KernelPrimitives.Pass(m, 2, 3).Times(x, d).Times(x, d).Times(x, d).Times(x, d).Run(); // four fit
        Assert.Contains("at most 4", Assert.Throws<InvalidOperationException>(() => { KernelPrimitives.Pass(m, 2, 3).Times(x, d).Times(x, d).Times(x, d).Times(x, d).Times(x, d); }).Message);
    }

    [Fact]
    public void A_pass_allocates_nothing()
    {
        float[] m = RandomVector(9 * 33, 3), x = RandomVector(33, 4), v = RandomVector(9, 5);
        float[] mx = new float[9], mv = new float[33], dots = new float[9];
        void Run() => KernelPrimitives.Pass(m, 9, 33).Times(x, mx).TransposedTimes(v, mv).RowDots(m, dots).Run();
        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int k = 0; k < 100; k++) Run();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
