using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PlasticityDsl.Runtime;

/// <summary>
/// The dense building blocks that generated kernels and the network call: spans in, spans out, SIMD (via
/// <see cref="TensorPrimitives"/>, or explicit 512/256-bit loops for the calls made once per row of W, where a library
/// call's fixed cost is a large share of a short row), no allocation. Matrices are row-major.
/// </summary>
public static partial class KernelPrimitives
{
    /// <summary>destination = W x, with W of shape rows × columns.</summary>
    /// <remarks>Four rows at a time: each load of x serves four rows, and the per-row call overhead is gone (the rows of
    /// the paper's networks are short, 70…784 values).</remarks>
    public static void MultiplyVector(ReadOnlySpan<float> weights, int rows, int columns, ReadOnlySpan<float> x, Span<float> destination)
    {
        CheckShape(weights, rows, columns, x.Length, columns, destination.Length, rows);
        ref float w = ref MemoryMarshal.GetReference(weights);
        ref float xs = ref MemoryMarshal.GetReference(x);
        int i = 0;
        for (; i + 4 <= rows; i += 4)
        {
            ref float r0 = ref Unsafe.Add(ref w, (nint)i * columns);
            DotFourRows(ref r0, ref Unsafe.Add(ref r0, columns), ref Unsafe.Add(ref r0, 2 * columns), ref Unsafe.Add(ref r0, 3 * columns),
                ref xs, columns, out destination[i], out destination[i + 1], out destination[i + 2], out destination[i + 3]);
        }

        for (; i < rows; i++)
        {
            destination[i] = TensorPrimitives.Dot(weights.Slice(i * columns, columns), x);
        }
    }

    /// <summary>
    /// The part of <see cref="MultiplyVector"/>(W, x, destination) that row <paramref name="row"/> completes, for an update
    /// pass that has just written rows 0 … <paramref name="row"/> in order: the four rows ending at it when they are a
    /// group of <see cref="MultiplyVector"/>'s, else nothing yet, and a row past the last group alone; so once every row
    /// has passed, destination holds W x bit for bit as <see cref="MultiplyVector"/> computes it. Does nothing when
    /// <paramref name="x"/> is empty (no product wanted).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called once per row: never run unoptimized (docs/performance.md, "The first seconds of a process")
    public static void MultiplyUpdatedRow(ReadOnlySpan<float> weights, int rows, int columns, int row, ReadOnlySpan<float> x, Span<float> destination)
    {
        if (x.IsEmpty) return;
        CheckShape(weights, rows, columns, x.Length, columns, destination.Length, rows);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)row, (uint)rows, nameof(row));
        if (row >= (rows & ~3))
        {
            destination[row] = TensorPrimitives.Dot(weights.Slice(row * columns, columns), x);
        }
        else if ((row & 3) == 3)
        {
            int first = row - 3;
            ref float r0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(weights), (nint)first * columns);
            DotFourRows(ref r0, ref Unsafe.Add(ref r0, columns), ref Unsafe.Add(ref r0, 2 * columns), ref Unsafe.Add(ref r0, 3 * columns),
                ref MemoryMarshal.GetReference(x), columns, out destination[first], out destination[first + 1], out destination[first + 2], out destination[row]);
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
    /// <remarks>Rows with v[i] = 0 are skipped. Four rows at a time otherwise: one load and store of destination per
    /// four rows instead of per row.</remarks>
    public static void MultiplyTransposedVector(ReadOnlySpan<float> weights, int rows, int columns, ReadOnlySpan<float> v, Span<float> destination) =>
        MultiplyTransposedBlock(weights, rows, columns, v, 1, destination);

    /// <summary>
    /// outputs[k] = Wᵀ inputs[k] for a block of <paramref name="count"/> inputs stored one after another (count × rows in,
    /// count × columns out). W is streamed once: each group of four rows is applied to every input while it is in cache,
    /// instead of W being read once per input.
    /// </summary>
    public static void MultiplyTransposedBlock(ReadOnlySpan<float> weights, int rows, int columns, ReadOnlySpan<float> inputs, int count, Span<float> outputs)
    {
        CheckShape(weights, rows, columns, inputs.Length, count * rows, outputs.Length, count * columns);
        outputs.Clear();
        ref float w = ref MemoryMarshal.GetReference(weights);
        ref float input = ref MemoryMarshal.GetReference(inputs);
        ref float output = ref MemoryMarshal.GetReference(outputs);
        int i = 0;
        for (; i + 4 <= rows; i += 4)
        {
            ref float r0 = ref Unsafe.Add(ref w, (nint)i * columns);
            for (int k = 0; k < count; k++)
            {
                // the four coefficients of rows i … i + 3
                AddFourRowsTransposed(ref Unsafe.Add(ref output, (nint)k * columns), ref Unsafe.Add(ref input, (nint)k * rows + i), ref r0, columns);
            }
        }

        for (; i < rows; i++)
        {
            ref float row = ref Unsafe.Add(ref w, (nint)i * columns);
            for (int k = 0; k < count; k++)
            {
                float a = Unsafe.Add(ref input, (nint)k * rows + i);
                if (a != 0f) AddScaledCore(ref Unsafe.Add(ref output, (nint)k * columns), a, ref row, columns);
            }
        }
    }

    // d += Σ_(j < 4) v[j]·row_j over the n values of the four consecutive rows from r0, rows with v[j] = 0 skipped: one
    // group of MultiplyTransposedBlock, also run by MatrixPass, so both add in this order.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddFourRowsTransposed(ref float d, ref float v, ref float r0, int n)
    {
        float a0 = v, a1 = Unsafe.Add(ref v, 1), a2 = Unsafe.Add(ref v, 2), a3 = Unsafe.Add(ref v, 3);
        if (a0 != 0f && a1 != 0f && a2 != 0f && a3 != 0f)
        {
            AddFourScaled(ref d, a0, ref r0, a1, ref Unsafe.Add(ref r0, n), a2, ref Unsafe.Add(ref r0, 2 * n), a3, ref Unsafe.Add(ref r0, 3 * n), n);
            return;
        }
        for (int j = 0; j < 4; j++)
        {
            float a = Unsafe.Add(ref v, j);
            if (a != 0f) AddScaledCore(ref d, a, ref Unsafe.Add(ref r0, j * n), n);
        }
    }

    /// <summary>aᵀ b.</summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => TensorPrimitives.Dot(a, b);

    /// <summary>row += scale · x (nothing when scale is 0). Called once per row by generated kernels whose rows get one
    /// term, so it is a bare SIMD loop: no per-call dispatch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called once per row: never run unoptimized (docs/performance.md, "The first seconds of a process")
    public static void AddScaled(Span<float> row, float scale, ReadOnlySpan<float> x)
    {
        if (scale != 0f)
        {
            CheckSameLength(row.Length, x.Length);
            AddScaledCore(ref MemoryMarshal.GetReference(row), scale, ref MemoryMarshal.GetReference(x), row.Length);
        }
    }

    /// <summary>row += a·x + b·y in one pass over the row (one load and store of it instead of two).</summary>
    /// <remarks>For kernels that add several terms to a row: generated kernels make one call of these overloads per row,
    /// the row's scale and up to three terms in one load and store of it (docs/performance.md measures the gain over one
    /// call per term). The fused overloads skip the row only when every coefficient is 0 (and keep is 1); a zero
    /// coefficient among others still multiplies its vector. The terms are added in order, each rounded once (FMA), as
    /// successive single-term calls would add them.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called once per row: never run unoptimized (docs/performance.md, "The first seconds of a process")
    public static void AddScaled(Span<float> row, float a, ReadOnlySpan<float> x, float b, ReadOnlySpan<float> y)
    {
        CheckSameLength(row.Length, x.Length);
        CheckSameLength(row.Length, y.Length);
        if (a == 0f && b == 0f) return;
        UpdateRowCore(ref MemoryMarshal.GetReference(row), row.Length, 1f, scale: false, 2,
            a, ref MemoryMarshal.GetReference(x), b, ref MemoryMarshal.GetReference(y), 0f, ref MemoryMarshal.GetReference(y), 0f, ref MemoryMarshal.GetReference(y));
    }

    /// <summary>row += a·x + b·y + c·z in one pass over the row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called once per row: never run unoptimized (docs/performance.md, "The first seconds of a process")
    public static void AddScaled(Span<float> row, float a, ReadOnlySpan<float> x, float b, ReadOnlySpan<float> y, float c, ReadOnlySpan<float> z)
    {
        CheckSameLength(row.Length, x.Length);
        CheckSameLength(row.Length, y.Length);
        CheckSameLength(row.Length, z.Length);
        if (a == 0f && b == 0f && c == 0f) return;
        UpdateRowCore(ref MemoryMarshal.GetReference(row), row.Length, 1f, scale: false, 3,
            a, ref MemoryMarshal.GetReference(x), b, ref MemoryMarshal.GetReference(y), c, ref MemoryMarshal.GetReference(z), 0f, ref MemoryMarshal.GetReference(z));
    }

    /// <summary>row = keep·row + a·x in one pass over the row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called once per row: never run unoptimized (docs/performance.md, "The first seconds of a process")
    public static void ScaleAddScaled(Span<float> row, float keep, float a, ReadOnlySpan<float> x)
    {
        CheckSameLength(row.Length, x.Length);
        if (keep == 1f && a == 0f) return;
        UpdateRowCore(ref MemoryMarshal.GetReference(row), row.Length, keep, scale: true, 1,
            a, ref MemoryMarshal.GetReference(x), 0f, ref MemoryMarshal.GetReference(x), 0f, ref MemoryMarshal.GetReference(x), 0f, ref MemoryMarshal.GetReference(x));
    }

    /// <summary>row = keep·row + a·x + b·y in one pass over the row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called once per row: never run unoptimized (docs/performance.md, "The first seconds of a process")
    public static void ScaleAddScaled(Span<float> row, float keep, float a, ReadOnlySpan<float> x, float b, ReadOnlySpan<float> y)
    {
        CheckSameLength(row.Length, x.Length);
        CheckSameLength(row.Length, y.Length);
        if (keep == 1f && a == 0f && b == 0f) return;
        UpdateRowCore(ref MemoryMarshal.GetReference(row), row.Length, keep, scale: true, 2,
            a, ref MemoryMarshal.GetReference(x), b, ref MemoryMarshal.GetReference(y), 0f, ref MemoryMarshal.GetReference(y), 0f, ref MemoryMarshal.GetReference(y));
    }

    /// <summary>row = keep·row + a·x + b·y + c·z in one pass over the row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called once per row: never run unoptimized (docs/performance.md, "The first seconds of a process")
    public static void ScaleAddScaled(Span<float> row, float keep, float a, ReadOnlySpan<float> x, float b, ReadOnlySpan<float> y, float c, ReadOnlySpan<float> z)
    {
        CheckSameLength(row.Length, x.Length);
        CheckSameLength(row.Length, y.Length);
        CheckSameLength(row.Length, z.Length);
        if (keep == 1f && a == 0f && b == 0f && c == 0f) return;
        UpdateRowCore(ref MemoryMarshal.GetReference(row), row.Length, keep, scale: true, 3,
            a, ref MemoryMarshal.GetReference(x), b, ref MemoryMarshal.GetReference(y), c, ref MemoryMarshal.GetReference(z), 0f, ref MemoryMarshal.GetReference(z));
    }

    // r = (scale ? keep·r : r) + a·x (+ b·y (+ c·z (+ d·u))) over n values. terms (0…4) and scale are constants at every
    // call site, so the JIT keeps only the arithmetic each caller needs. Rows of 32 values or more are stored 64-byte
    // aligned: the first and last 16 values are computed up front from the original row, the loop in between runs on
    // aligned addresses (a misaligned 512-bit store touches two cache lines), and the two end vectors are stored last;
    // values both cover come out identical, since both were computed from the original row.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void UpdateRowCore(ref float r, int n, float keep, bool scale, int terms,
        float a, ref float x, float b, ref float y, float c, ref float z, float d, ref float u)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated && n >= 2 * Vector512<float>.Count)
        {
            const int V = 16; // Vector512<float>.Count
            Vector512<float> vk = Vector512.Create(keep), va = Vector512.Create(a), vb = Vector512.Create(b), vc = Vector512.Create(c), vd = Vector512.Create(d);
            Vector512<float> first = Row512(ref r, 0, vk, scale, terms, va, ref x, vb, ref y, vc, ref z, vd, ref u);
            Vector512<float> last = Row512(ref r, n - V, vk, scale, terms, va, ref x, vb, ref y, vc, ref z, vd, ref u);
            int misaligned = (int)(((nuint)Unsafe.AsPointer(ref r) & 63) / sizeof(float)); // floats are 4-byte aligned
            for (j = misaligned == 0 ? V : V - misaligned; j < n - V; j += V)
            {
                Row512(ref r, j, vk, scale, terms, va, ref x, vb, ref y, vc, ref z, vd, ref u).StoreUnsafe(ref r, (nuint)j);
            }
            first.StoreUnsafe(ref r);
            last.StoreUnsafe(ref r, (nuint)(n - V));
            return;
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vk = Vector256.Create(keep), va = Vector256.Create(a), vb = Vector256.Create(b), vc = Vector256.Create(c), vd = Vector256.Create(d);
            for (; j <= n - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                Vector256<float> v = Vector256.LoadUnsafe(ref r, (nuint)j);
                if (scale) v *= vk;
                if (terms >= 1) v = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref x, (nuint)j), va, v);
                if (terms >= 2) v = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref y, (nuint)j), vb, v);
                if (terms >= 3) v = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref z, (nuint)j), vc, v);
                if (terms >= 4) v = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref u, (nuint)j), vd, v);
                v.StoreUnsafe(ref r, (nuint)j);
            }
        }
        for (; j < n; j++)
        {
            float v = Unsafe.Add(ref r, j);
            if (scale) v *= keep;
            if (terms >= 1) v = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, j), a, v);
            if (terms >= 2) v = MathF.FusedMultiplyAdd(Unsafe.Add(ref y, j), b, v);
            if (terms >= 3) v = MathF.FusedMultiplyAdd(Unsafe.Add(ref z, j), c, v);
            if (terms >= 4) v = MathF.FusedMultiplyAdd(Unsafe.Add(ref u, j), d, v);
            Unsafe.Add(ref r, j) = v;
        }
    }

    // The 16 values of UpdateRowCore at j.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Row512(ref float r, int j, Vector512<float> vk, bool scale, int terms,
        Vector512<float> va, ref float x, Vector512<float> vb, ref float y, Vector512<float> vc, ref float z, Vector512<float> vd, ref float u)
    {
        Vector512<float> v = Vector512.LoadUnsafe(ref r, (nuint)j);
        if (scale) v *= vk;
        if (terms >= 1) v = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x, (nuint)j), va, v);
        if (terms >= 2) v = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref y, (nuint)j), vb, v);
        if (terms >= 3) v = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref z, (nuint)j), vc, v);
        if (terms >= 4) v = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref u, (nuint)j), vd, v);
        return v;
    }

    /// <summary>row *= scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called once per row: never run unoptimized (docs/performance.md, "The first seconds of a process")
    public static void Scale(Span<float> row, float scale)
    {
        ref float r = ref MemoryMarshal.GetReference(row);
        UpdateRowCore(ref r, row.Length, scale, scale: true, 0, 0f, ref r, 0f, ref r, 0f, ref r, 0f, ref r);
    }

    // y += a x over n values.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaledCore(ref float y, float a, ref float x, int n) =>
        UpdateRowCore(ref y, n, 1f, scale: false, 1, a, ref x, 0f, ref x, 0f, ref x, 0f, ref x);

    // y += a0 x0 + a1 x1 + a2 x2 + a3 x3 over n values.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddFourScaled(ref float y, float a0, ref float x0, float a1, ref float x1, float a2, ref float x2, float a3, ref float x3, int n) =>
        UpdateRowCore(ref y, n, 1f, scale: false, 4, a0, ref x0, a1, ref x1, a2, ref x2, a3, ref x3);

    // The dot products of four rows of n values with x.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotFourRows(ref float r0, ref float r1, ref float r2, ref float r3, ref float x, int n, out float d0, out float d1, out float d2, out float d3)
    {
        int j = 0;
        d0 = d1 = d2 = d3 = 0f;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> s0 = Vector512<float>.Zero, s1 = Vector512<float>.Zero, s2 = Vector512<float>.Zero, s3 = Vector512<float>.Zero;
            for (; j <= n - Vector512<float>.Count; j += Vector512<float>.Count)
            {
                Vector512<float> xv = Vector512.LoadUnsafe(ref x, (nuint)j);
                s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r0, (nuint)j), xv, s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r1, (nuint)j), xv, s1);
                s2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r2, (nuint)j), xv, s2);
                s3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r3, (nuint)j), xv, s3);
            }
            d0 = Vector512.Sum(s0);
            d1 = Vector512.Sum(s1);
            d2 = Vector512.Sum(s2);
            d3 = Vector512.Sum(s3);
        }
        DotFourRowsFrom(j, ref r0, ref r1, ref r2, ref r3, ref x, n, ref d0, ref d1, ref d2, ref d3);
    }

    // DotFourRows from value j on, where its 512-bit loop stopped (or 0 without one), adding to d0…d3 what they hold.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotFourRowsFrom(int j, ref float r0, ref float r1, ref float r2, ref float r3, ref float x, int n,
        ref float d0, ref float d1, ref float d2, ref float d3)
    {
        if (Vector256.IsHardwareAccelerated && j <= n - Vector256<float>.Count)
        {
            Vector256<float> s0 = Vector256<float>.Zero, s1 = Vector256<float>.Zero, s2 = Vector256<float>.Zero, s3 = Vector256<float>.Zero;
            for (; j <= n - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                Vector256<float> xv = Vector256.LoadUnsafe(ref x, (nuint)j);
                s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref r0, (nuint)j), xv, s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref r1, (nuint)j), xv, s1);
                s2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref r2, (nuint)j), xv, s2);
                s3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref r3, (nuint)j), xv, s3);
            }
            d0 += Vector256.Sum(s0);
            d1 += Vector256.Sum(s1);
            d2 += Vector256.Sum(s2);
            d3 += Vector256.Sum(s3);
        }
        for (; j < n; j++)
        {
            float xj = Unsafe.Add(ref x, j);
            d0 = MathF.FusedMultiplyAdd(Unsafe.Add(ref r0, j), xj, d0);
            d1 = MathF.FusedMultiplyAdd(Unsafe.Add(ref r1, j), xj, d1);
            d2 = MathF.FusedMultiplyAdd(Unsafe.Add(ref r2, j), xj, d2);
            d3 = MathF.FusedMultiplyAdd(Unsafe.Add(ref r3, j), xj, d3);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CheckSameLength(int rowLength, int xLength)
    {
        if (rowLength != xLength) ThrowLengthMismatch(rowLength, xLength);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowLengthMismatch(int rowLength, int xLength) =>
        throw new ArgumentException($"the row has {rowLength} values but the vector {xLength}.");

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
    /// <remarks>x · 0 is ±0 for every finite x and NaN for NaN and ±∞, and NaN survives addition: so the sum of x · 0
    /// over the span is 0 exactly when every entry is finite. Four independent sums keep the pass at memory speed.</remarks>
    public static bool AllFinite(ReadOnlySpan<float> values)
    {
        ref float v = ref MemoryMarshal.GetReference(values);
        int n = values.Length, j = 0;
        float sum = 0f;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> s0 = Vector512<float>.Zero, s1 = Vector512<float>.Zero, s2 = Vector512<float>.Zero, s3 = Vector512<float>.Zero;
            for (; j <= n - 4 * Vector512<float>.Count; j += 4 * Vector512<float>.Count)
            {
                s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref v, (nuint)j), Vector512<float>.Zero, s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref v, (nuint)(j + 16)), Vector512<float>.Zero, s1);
                s2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref v, (nuint)(j + 32)), Vector512<float>.Zero, s2);
                s3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref v, (nuint)(j + 48)), Vector512<float>.Zero, s3);
            }
            sum = Vector512.Sum((s0 + s1) + (s2 + s3));
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> s0 = Vector256<float>.Zero, s1 = Vector256<float>.Zero, s2 = Vector256<float>.Zero, s3 = Vector256<float>.Zero;
            for (; j <= n - 4 * Vector256<float>.Count; j += 4 * Vector256<float>.Count)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref v, (nuint)j), Vector256<float>.Zero, s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref v, (nuint)(j + 8)), Vector256<float>.Zero, s1);
                s2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref v, (nuint)(j + 16)), Vector256<float>.Zero, s2);
                s3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref v, (nuint)(j + 24)), Vector256<float>.Zero, s3);
            }
            sum = Vector256.Sum((s0 + s1) + (s2 + s3));
        }
        for (; j < n; j++) sum += Unsafe.Add(ref v, j) * 0f;
        return sum == 0f;
    }

    /// <summary>row += scale · (x ⊙ y).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called once per row: never run unoptimized (docs/performance.md, "The first seconds of a process")
    public static void AddScaledProduct(Span<float> row, float scale, ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (scale == 0f) return;
        if (x.Length < row.Length || y.Length < row.Length)
        {
            throw new ArgumentException($"the row has {row.Length} values but the vectors {x.Length} and {y.Length}.");
        }
        ref float r = ref MemoryMarshal.GetReference(row);
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float ys = ref MemoryMarshal.GetReference(y);
        int n = row.Length, j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> s = Vector512.Create(scale);
            for (; j <= n - Vector512<float>.Count; j += Vector512<float>.Count)
            {
                Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xs, (nuint)j) * s, Vector512.LoadUnsafe(ref ys, (nuint)j), Vector512.LoadUnsafe(ref r, (nuint)j)).StoreUnsafe(ref r, (nuint)j);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> s = Vector256.Create(scale);
            for (; j <= n - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref xs, (nuint)j) * s, Vector256.LoadUnsafe(ref ys, (nuint)j), Vector256.LoadUnsafe(ref r, (nuint)j)).StoreUnsafe(ref r, (nuint)j);
            }
        }
        for (; j < n; j++) Unsafe.Add(ref r, j) = MathF.FusedMultiplyAdd(scale * Unsafe.Add(ref xs, j), Unsafe.Add(ref ys, j), Unsafe.Add(ref r, j));
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

    // Inlined into its callers, the message built only to throw: MultiplyUpdatedRow runs it once per row, and a separate
    // method would run unoptimized there until tiering recompiles it (docs/performance.md, "The first seconds of a process").
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CheckShape(ReadOnlySpan<float> weights, int rows, int columns, int inputLength, int expectedInput, int outputLength, int expectedOutput)
    {
        if (weights.Length != rows * columns || inputLength != expectedInput || outputLength != expectedOutput)
        {
            ThrowShapeMismatch(weights.Length, rows, columns, inputLength, expectedInput, outputLength, expectedOutput);
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowShapeMismatch(int values, int rows, int columns, int inputLength, int expectedInput, int outputLength, int expectedOutput) =>
        throw new ArgumentException($"Shape mismatch: W is {rows}×{columns} ({values} values), input {inputLength} (expected {expectedInput}), output {outputLength} (expected {expectedOutput}).");
}
