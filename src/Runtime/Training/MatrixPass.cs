using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PlasticityDsl.Runtime;

public static partial class KernelPrimitives
{
    /// <summary>Several products with one matrix in one pass over its rows: start with <see cref="Pass"/>, add the products
    /// (<see cref="MatrixPass.Times"/>, <see cref="MatrixPass.TransposedTimes"/>, <see cref="MatrixPass.RowDots"/>), then
    /// <see cref="MatrixPass.Run"/>.</summary>
    public static MatrixPass Pass(ReadOnlySpan<float> matrix, int rows, int columns) => new(matrix, rows, columns);

    /// <summary>
    /// Up to <see cref="Capacity"/> products of each kind with a matrix M (rows × columns, row-major), computed in one pass
    /// over its rows instead of one pass each: M x, Mᵀ v, and the row dots ⟨M_i, N_i⟩ with a matrix N of the same shape.
    /// Generated adjoint kernels group the products of a matrix whose operands are ready into one pass.
    /// </summary>
    /// <remarks>Every result is bit for bit what the separate primitive gives: M x as <see cref="MultiplyVector"/> (four
    /// rows at a time, the remaining rows one by one), Mᵀ v as <see cref="MultiplyTransposedVector"/> (the same groups of
    /// four rows added in order, rows with v_i = 0 skipped), a row dot as <see cref="Dot"/> of the two rows. An operand must
    /// not be a destination of the same pass. No allocation: the products are held in fields.</remarks>
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
            for (; i + 4 <= _rows; i += 4)
            {
                ref float r0 = ref Unsafe.Add(ref m, (nint)i * columns);
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
