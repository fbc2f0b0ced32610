using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PlasticityDsl.Runtime;

public static partial class KernelPrimitives
{
    /// <summary>Several products with one matrix in one pass over its rows: start with <see cref="Pass"/>, add the products
    /// (<see cref="MatrixPass.Times"/>, <see cref="MatrixPass.TransposedTimes"/>, <see cref="MatrixPass.RowDots"/>), then
    /// <see cref="MatrixPass.Run"/>.</summary>
    public static MatrixPass Pass(ReadOnlySpan<float> matrix, int rows, int columns) => new(matrix, rows, columns);

    // How many products of a kind MatrixPass.FusedFourRows computes, as a type.
    private interface IProductCount
    {
        static abstract int Count { get; }
    }

    private readonly struct NoProduct : IProductCount { public static int Count => 0; }

    private readonly struct OneProduct : IProductCount { public static int Count => 1; }

    private readonly struct TwoProducts : IProductCount { public static int Count => 2; }

    /// <summary>
    /// Up to <see cref="Capacity"/> products of each kind with a matrix M (rows × columns, row-major), computed in one pass
    /// over its rows instead of one pass each: M x, Mᵀ v, and the row dots ⟨M_i, N_i⟩ with a matrix N of the same shape.
    /// Generated adjoint kernels group the products of a matrix whose operands are ready into one pass.
    /// </summary>
    /// <remarks>Every result is bit for bit what the separate primitive gives: M x as <see cref="MultiplyVector"/> (four
    /// rows at a time, the remaining rows one by one), Mᵀ v as <see cref="MultiplyTransposedVector"/> (the same groups of
    /// four rows added in order, rows with v_i = 0 skipped), a row dot as <see cref="Dot"/> of the two rows. An operand must
    /// not be a destination of the same pass. No allocation: the products are held in fields. With AVX-512 and at most two
    /// products of each kind, each group of four rows is swept once for all its M x and Mᵀ v products.</remarks>
    public ref struct MatrixPass
    {
        /// <summary>The most products of each kind one pass holds.</summary>
        public const int Capacity = 4;

        private readonly ReadOnlySpan<float> _matrix;
        private readonly int _rows;
        private readonly int _columns;
        private int _times, _transposed, _rowDots;
        private ReadOnlySpan<float> _x0, _x1, _x2, _x3, _v0, _v1, _v2, _v3, _n0, _n1, _n2, _n3;
        private Span<float> _mx0, _mx1, _mx2, _mx3, _mv0, _mv1, _mv2, _mv3, _dots0, _dots1, _dots2, _dots3;

        internal MatrixPass(ReadOnlySpan<float> matrix, int rows, int columns)
        {
            if (rows < 0 || columns < 0 || matrix.Length != rows * columns)
            {
                throw new ArgumentException($"Shape mismatch: M is {rows}×{columns} but holds {matrix.Length} values.", nameof(matrix));
            }
            _matrix = matrix;
            _rows = rows;
            _columns = columns;
        }

        /// <summary>destination = M x.</summary>
        public MatrixPass Times(ReadOnlySpan<float> x, Span<float> destination)
        {
            Check(x.Length, _columns, destination.Length, _rows, _times, "M x");
            switch (_times++)
            {
                case 0: _x0 = x; _mx0 = destination; break;
                case 1: _x1 = x; _mx1 = destination; break;
                case 2: _x2 = x; _mx2 = destination; break;
                default: _x3 = x; _mx3 = destination; break;
            }
            return this;
        }

        /// <summary>destination = Mᵀ v.</summary>
        public MatrixPass TransposedTimes(ReadOnlySpan<float> v, Span<float> destination)
        {
            Check(v.Length, _rows, destination.Length, _columns, _transposed, "Mᵀ v");
            switch (_transposed++)
            {
                case 0: _v0 = v; _mv0 = destination; break;
                case 1: _v1 = v; _mv1 = destination; break;
                case 2: _v2 = v; _mv2 = destination; break;
                default: _v3 = v; _mv3 = destination; break;
            }
            return this;
        }

        /// <summary>destination[i] = ⟨M_i, N_i⟩, row by row, for <paramref name="other"/> = N of M's shape.</summary>
        public MatrixPass RowDots(ReadOnlySpan<float> other, Span<float> destination)
        {
            Check(other.Length, _matrix.Length, destination.Length, _rows, _rowDots, "⟨M_i, N_i⟩");
            switch (_rowDots++)
            {
                case 0: _n0 = other; _dots0 = destination; break;
                case 1: _n1 = other; _dots1 = destination; break;
                case 2: _n2 = other; _dots2 = destination; break;
                default: _n3 = other; _dots3 = destination; break;
            }
            return this;
        }

        /// <summary>Computes every product added, streaming M once.</summary>
        public readonly void Run()
        {
            for (int k = 0; k < _transposed; k++) TransposedOutput(k).Clear();
            int columns = _columns;
            ref float m = ref MemoryMarshal.GetReference(_matrix);
            int i = 0;
            bool fused = Vector512.IsHardwareAccelerated && _times <= 2 && _transposed <= 2;
            for (; i + 4 <= _rows; i += 4)
            {
                ref float r0 = ref Unsafe.Add(ref m, (nint)i * columns);
                if (fused && FusedFourRows(ref r0, i))
                {
                    for (int j = i; j < i + 4; j++) RowDotsAt(j);
                    continue;
                }

                for (int k = 0; k < _times; k++)
                {
                    Span<float> d = TimesOutput(k);
                    DotFourRows(ref r0, ref Unsafe.Add(ref r0, columns), ref Unsafe.Add(ref r0, 2 * columns), ref Unsafe.Add(ref r0, 3 * columns),
                        ref MemoryMarshal.GetReference(TimesInput(k)), columns, out d[i], out d[i + 1], out d[i + 2], out d[i + 3]);
                }

                for (int k = 0; k < _transposed; k++)
                {
                    AddFourRowsTransposed(ref MemoryMarshal.GetReference(TransposedOutput(k)), ref Unsafe.Add(ref MemoryMarshal.GetReference(TransposedInput(k)), i), ref r0, columns);
                }

                for (int j = i; j < i + 4; j++) RowDotsAt(j);
            }

            for (; i < _rows; i++)
            {
                ReadOnlySpan<float> row = _matrix.Slice(i * columns, columns);
                for (int k = 0; k < _times; k++) TimesOutput(k)[i] = TensorPrimitives.Dot(row, TimesInput(k));
                for (int k = 0; k < _transposed; k++)
                {
                    float a = TransposedInput(k)[i];
                    if (a != 0f) AddScaledCore(ref MemoryMarshal.GetReference(TransposedOutput(k)), a, ref MemoryMarshal.GetReference(row), columns);
                }

                RowDotsAt(i);
            }
        }

        // The Times and TransposedTimes products of rows i…i + 3 in one sweep over their columns, each row vector loaded
        // once for all of them (separately, each product re-reads the four rows, and that, not the memory, bounded the
        // pass). The same arithmetic in the same order per value as DotFourRows and AddFourRowsTransposed, so the same
        // bits. False, and nothing done, where a coefficient of a transposed product is 0: those rows are skipped there.
        private readonly bool FusedFourRows(ref float r0, int i)
        {
            if (_transposed >= 1 && !NoZero(_v0, i)) return false;
            if (_transposed >= 2 && !NoZero(_v1, i)) return false;
            switch (_times * 3 + _transposed)
            {
                case 1: FusedFourRows<NoProduct, OneProduct>(ref r0, i); break;
                case 2: FusedFourRows<NoProduct, TwoProducts>(ref r0, i); break;
                case 3: FusedFourRows<OneProduct, NoProduct>(ref r0, i); break;
                case 4: FusedFourRows<OneProduct, OneProduct>(ref r0, i); break;
                case 5: FusedFourRows<OneProduct, TwoProducts>(ref r0, i); break;
                case 6: FusedFourRows<TwoProducts, NoProduct>(ref r0, i); break;
                case 7: FusedFourRows<TwoProducts, OneProduct>(ref r0, i); break;
                case 8: FusedFourRows<TwoProducts, TwoProducts>(ref r0, i); break;
                default: return false; // row dots only
            }
            return true;
        }

        private static bool NoZero(ReadOnlySpan<float> v, int i) => v[i] != 0f && v[i + 1] != 0f && v[i + 2] != 0f && v[i + 3] != 0f;

        // The product counts are type arguments so that the JIT specializes the loop and keeps every accumulator in a
        // register (with run-time counts it spilled them to the stack each iteration).
        private readonly void FusedFourRows<TTimes, TTransposed>(ref float r0, int i)
            where TTimes : struct, IProductCount where TTransposed : struct, IProductCount
        {
            int n = _columns;
            ref float r1 = ref Unsafe.Add(ref r0, n);
            ref float r2 = ref Unsafe.Add(ref r0, 2 * n);
            ref float r3 = ref Unsafe.Add(ref r0, 3 * n);
            ref float x0 = ref MemoryMarshal.GetReference(_x0), x1 = ref MemoryMarshal.GetReference(_x1);
            ref float o0 = ref MemoryMarshal.GetReference(_mv0), o1 = ref MemoryMarshal.GetReference(_mv1);
            float a00 = 0f, a01 = 0f, a02 = 0f, a03 = 0f, a10 = 0f, a11 = 0f, a12 = 0f, a13 = 0f;
            if (TTransposed.Count >= 1) (a00, a01, a02, a03) = (_v0[i], _v0[i + 1], _v0[i + 2], _v0[i + 3]);
            if (TTransposed.Count >= 2) (a10, a11, a12, a13) = (_v1[i], _v1[i + 1], _v1[i + 2], _v1[i + 3]);
            Vector512<float> c00 = Vector512.Create(a00), c01 = Vector512.Create(a01), c02 = Vector512.Create(a02), c03 = Vector512.Create(a03);
            Vector512<float> c10 = Vector512.Create(a10), c11 = Vector512.Create(a11), c12 = Vector512.Create(a12), c13 = Vector512.Create(a13);
            FourSums sums0 = default, sums1 = default;
            int j = 0;
            for (; j <= n - Vector512<float>.Count; j += Vector512<float>.Count)
            {
                Vector512<float> m0 = Vector512.LoadUnsafe(ref r0, (nuint)j), m1 = Vector512.LoadUnsafe(ref r1, (nuint)j);
                Vector512<float> m2 = Vector512.LoadUnsafe(ref r2, (nuint)j), m3 = Vector512.LoadUnsafe(ref r3, (nuint)j);
                if (TTimes.Count >= 1) sums0 = sums0.Add(m0, m1, m2, m3, Vector512.LoadUnsafe(ref x0, (nuint)j));
                if (TTimes.Count >= 2) sums1 = sums1.Add(m0, m1, m2, m3, Vector512.LoadUnsafe(ref x1, (nuint)j));
                if (TTransposed.Count >= 1) AddFourScaled512(ref o0, j, m0, c00, m1, c01, m2, c02, m3, c03);
                if (TTransposed.Count >= 2) AddFourScaled512(ref o1, j, m0, c10, m1, c11, m2, c12, m3, c13);
            }

            if (TTimes.Count >= 1) DotsFrom(j, sums0, ref r0, ref x0, _mx0, i);
            if (TTimes.Count >= 2) DotsFrom(j, sums1, ref r0, ref x1, _mx1, i);
            for (; TTransposed.Count >= 1 && j < n; j++)
            {
                float v0 = Unsafe.Add(ref r0, j), v1 = Unsafe.Add(ref r1, j), v2 = Unsafe.Add(ref r2, j), v3 = Unsafe.Add(ref r3, j);
                if (TTransposed.Count >= 1) Unsafe.Add(ref o0, j) = AddFourScaled(Unsafe.Add(ref o0, j), v0, a00, v1, a01, v2, a02, v3, a03);
                if (TTransposed.Count >= 2) Unsafe.Add(ref o1, j) = AddFourScaled(Unsafe.Add(ref o1, j), v0, a10, v1, a11, v2, a12, v3, a13);
            }
        }

        // The four rows' dot products with one vector, one 512-bit accumulator per row (DotFourRows').
        private readonly struct FourSums(Vector512<float> s0, Vector512<float> s1, Vector512<float> s2, Vector512<float> s3)
        {
            public readonly Vector512<float> S0 = s0, S1 = s1, S2 = s2, S3 = s3;

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public FourSums Add(Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3, Vector512<float> x) =>
                new(Vector512.FusedMultiplyAdd(m0, x, S0), Vector512.FusedMultiplyAdd(m1, x, S1),
                    Vector512.FusedMultiplyAdd(m2, x, S2), Vector512.FusedMultiplyAdd(m3, x, S3));
        }

        // d[j…j + 15] += m0 a0 + m1 a1 + m2 a2 + m3 a3, one fused multiply-add at a time in that order (UpdateRowCore's).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void AddFourScaled512(ref float d, int j, Vector512<float> m0, Vector512<float> a0, Vector512<float> m1, Vector512<float> a1,
            Vector512<float> m2, Vector512<float> a2, Vector512<float> m3, Vector512<float> a3)
        {
            Vector512<float> v = Vector512.LoadUnsafe(ref d, (nuint)j);
            v = Vector512.FusedMultiplyAdd(m0, a0, v);
            v = Vector512.FusedMultiplyAdd(m1, a1, v);
            v = Vector512.FusedMultiplyAdd(m2, a2, v);
            v = Vector512.FusedMultiplyAdd(m3, a3, v);
            v.StoreUnsafe(ref d, (nuint)j);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static float AddFourScaled(float v, float m0, float a0, float m1, float a1, float m2, float a2, float m3, float a3) =>
            MathF.FusedMultiplyAdd(m3, a3, MathF.FusedMultiplyAdd(m2, a2, MathF.FusedMultiplyAdd(m1, a1, MathF.FusedMultiplyAdd(m0, a0, v))));

        // The four dots' vector sums so far, finished from value j as DotFourRows finishes them, into destination[i…i + 3].
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly void DotsFrom(int j, FourSums sums, ref float r0, ref float x, Span<float> destination, int i)
        {
            int n = _columns;
            float d0 = Vector512.Sum(sums.S0), d1 = Vector512.Sum(sums.S1), d2 = Vector512.Sum(sums.S2), d3 = Vector512.Sum(sums.S3);
            DotFourRowsFrom(j, ref r0, ref Unsafe.Add(ref r0, n), ref Unsafe.Add(ref r0, 2 * n), ref Unsafe.Add(ref r0, 3 * n), ref x, n,
                ref d0, ref d1, ref d2, ref d3);
            destination[i] = d0;
            destination[i + 1] = d1;
            destination[i + 2] = d2;
            destination[i + 3] = d3;
        }

        private readonly void RowDotsAt(int i)
        {
            ReadOnlySpan<float> row = _matrix.Slice(i * _columns, _columns);
            for (int k = 0; k < _rowDots; k++) RowDotsOutput(k)[i] = TensorPrimitives.Dot(row, RowDotsOther(k).Slice(i * _columns, _columns));
        }

        private readonly ReadOnlySpan<float> TimesInput(int k) => k switch { 0 => _x0, 1 => _x1, 2 => _x2, _ => _x3 };

        private readonly Span<float> TimesOutput(int k) => k switch { 0 => _mx0, 1 => _mx1, 2 => _mx2, _ => _mx3 };

        private readonly ReadOnlySpan<float> TransposedInput(int k) => k switch { 0 => _v0, 1 => _v1, 2 => _v2, _ => _v3 };

        private readonly Span<float> TransposedOutput(int k) => k switch { 0 => _mv0, 1 => _mv1, 2 => _mv2, _ => _mv3 };

        private readonly ReadOnlySpan<float> RowDotsOther(int k) => k switch { 0 => _n0, 1 => _n1, 2 => _n2, _ => _n3 };

        private readonly Span<float> RowDotsOutput(int k) => k switch { 0 => _dots0, 1 => _dots1, 2 => _dots2, _ => _dots3 };

        private readonly void Check(int inputLength, int expectedInput, int outputLength, int expectedOutput, int count, string product)
        {
            if (count == Capacity) throw new InvalidOperationException($"a pass holds at most {Capacity} products {product}.");
            if (inputLength != expectedInput || outputLength != expectedOutput)
            {
                throw new ArgumentException($"Shape mismatch for {product}: M is {_rows}×{_columns}, input {inputLength} (expected {expectedInput}), output {outputLength} (expected {expectedOutput}).");
            }
        }
    }
}
