using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PlasticityDsl.Runtime;

/// <summary>
/// outputs[n] = W inputs[n] for many inputs at once (evaluation on a test set): a register-blocked SGEMM over packed
/// panels. W (rows × columns) is packed by <see cref="PackWeights"/> into panels of 32 rows, the last one 16 rows high
/// when at most 16 rows remain; the inputs are read in place, 8 at a time. The micro-kernel keeps a tile's 8 × 32
/// outputs in 16 Vector512 accumulators, so each value it loads serves 8 or 16 FMAs; on a 16-row panel it keeps 8 × 16
/// in 8, so that a layer of 10 or 170 rows does not pay for 22 rows of zeros.
/// </summary>
/// <remarks>
/// Summation order, the same for every output, shape and block (tests check it bit for bit against a scalar
/// reference): the products w_k·x_k with k &lt; 8⌊columns/8⌋ go to 8 partial sums by k mod 8, each an FMA chain in
/// ascending k from 0; the partials are added pairwise, ((p0+p1)+(p2+p3))+((p4+p5)+(p6+p7)); then the remaining
/// columns are added in ascending order, each product rounded before the addition. This is the order of
/// <see cref="KernelPrimitives.MultiplyBlock"/> (8-wide <c>Vector&lt;float&gt;</c>, its sum, its scalar tail) for
/// inputs in groups of four, so evaluation gives the results it gave before (docs/performance.md). Without AVX-512 the
/// block goes through <see cref="KernelPrimitives.MultiplyBlock"/>: the same sums where <c>Vector&lt;float&gt;</c> is 8
/// wide (AVX2), except for the last count mod 4 inputs.
/// </remarks>
internal static class PackedGemm
{
    private const int PanelRows = 32; // rows of W per packed panel: two Vector512 of outputs
    private const int HalfPanelRows = 16; // rows of the last panel when at most 16 remain: one Vector512
    private const int TileInputs = 8; // inputs per tile: the micro-kernel's 8 × 32 outputs are 16 accumulators

    private const int Lanes = 8; // the partial sums per output (k mod 8)

    /// <summary>Whether this machine runs the packed kernel (AVX-512); otherwise the "packed" weights are W as it is
    /// and <see cref="Multiply"/> hands them to <see cref="KernelPrimitives.MultiplyBlock"/>.</summary>
    public static bool IsPacked => Vector512.IsHardwareAccelerated;

    /// <summary>Values of W packed by <see cref="PackWeights"/>: rows rounded up to whole panels (padded with zeros).</summary>
    public static int PackedWeightsLength(int rows, int columns) => IsPacked ? PaddedRows(rows) * columns : rows * columns;

    // Full panels of 32 while more than 16 rows remain, then one of 16: the rows rounded up to a multiple of 16.
    private static int PaddedRows(int rows) => (rows + HalfPanelRows - 1) / HalfPanelRows * HalfPanelRows;

    // Rows of the packed panel that starts at row `first` (a multiple of 32): 32, or 16 for a last half panel.
    private static int PanelHeight(int rows, int first) => Math.Min(PanelRows, PaddedRows(rows) - first);

    /// <summary>Values of the partial-sum scratch that <see cref="Multiply"/> needs.</summary>
    public const int PartialsLength = Lanes * TileInputs * PanelRows;

    /// <summary>
    /// Packs W (rows × columns, row-major) into <paramref name="packed"/>: per panel of 32 (or 16) rows, for each lane L
    /// the columns L, L+8, … as 32 (or 16) consecutive values each, then the tail columns likewise.
    /// </summary>
    public static void PackWeights(ReadOnlySpan<float> weights, int rows, int columns, Span<float> packed)
    {
        if (weights.Length != rows * columns || packed.Length < PackedWeightsLength(rows, columns))
        {
            throw new ArgumentException($"Shape mismatch: W is {rows}×{columns} ({weights.Length} values), packed space {packed.Length} (needs {PackedWeightsLength(rows, columns)}).");
        }
        if (!IsPacked)
        {
            weights.CopyTo(packed);
            return;
        }
        packed.Slice(0, PaddedRows(rows) * columns).Clear(); // the rows past the last are zeros
        for (int i = 0; i < rows; i++)
        {
            int first = i / PanelRows * PanelRows;
            PackRow(weights.Slice(i * columns, columns), packed.Slice(first * columns), i - first, PanelHeight(rows, first));
        }
    }

    /// <summary>
    /// outputs[n·rows + i] = Σ_k W[i, k] inputs[n·columns + k] for n &lt; <paramref name="count"/>, with W packed by
    /// <see cref="PackWeights"/>. Allocates nothing: the caller passes the scratch for the partial sums
    /// (<see cref="PartialsLength"/> values).
    /// </summary>
    public static void Multiply(ReadOnlySpan<float> packedWeights, int rows, int columns, ReadOnlySpan<float> inputs, int count,
        Span<float> outputs, Span<float> partials)
    {
        if (inputs.Length != count * columns || outputs.Length != count * rows
            || packedWeights.Length < PackedWeightsLength(rows, columns) || partials.Length < PartialsLength)
        {
            throw new ArgumentException($"Shape mismatch: W is {rows}×{columns} ({packedWeights.Length} packed values), input {inputs.Length} (expected {count * columns}), output {outputs.Length} (expected {count * rows}), scratch {partials.Length}.");
        }
        if (!IsPacked)
        {
            KernelPrimitives.MultiplyBlock(packedWeights.Slice(0, rows * columns), rows, columns, inputs, count, outputs);
            return;
        }

        for (int firstRow = 0; firstRow < rows; firstRow += PanelRows)
        {
            int height = PanelHeight(rows, firstRow);
            ReadOnlySpan<float> panel = packedWeights.Slice(firstRow * columns, height * columns);
            for (int first = 0; first < count; first += TileInputs)
            {
                int valid = Math.Min(TileInputs, count - first);
                ReadOnlySpan<float> tile = inputs.Slice(first * columns, valid * columns);
                int nextFirst = first + TileInputs, nextValid = Math.Min(TileInputs, count - nextFirst);
                ReadOnlySpan<float> next = nextValid > 0 ? inputs.Slice(nextFirst * columns, nextValid * columns) : tile;
                Tile(panel, height, tile, columns, valid, next, partials);
                Finish(panel, height, tile, columns, valid, partials, outputs.Slice(first * rows, valid * rows), rows, firstRow);
            }
        }
    }

    // Row `at` of a panel `height` rows high: lane-major for the columns k < 8⌊columns/8⌋ (lane k mod 8, group k / 8),
    // then the tail columns in order, each column's rows side by side.
    private static void PackRow(ReadOnlySpan<float> row, Span<float> panel, int at, int height)
    {
        int columns = row.Length, groups = columns / Lanes;
        for (int g = 0; g < groups; g++)
        {
            for (int lane = 0; lane < Lanes; lane++) panel[((lane * groups) + g) * height + at] = row[g * Lanes + lane];
        }
        for (int k = groups * Lanes; k < columns; k++) panel[k * height + at] = row[k];
    }

    // The 8 partial sums of a tile's 8 inputs × the panel's rows (height 32 or 16): partials[(L·8 + r)·height + j].
    // The inputs are read where they are (row r of the tile at x_r, the broadcasts from 8 rows with one shared index);
    // missing inputs of the last tile repeat the first, and their outputs are not stored. One lane at a time, so a pass
    // touches one lane's slice of the panel (12.5 KiB for 784 columns) and the tile's 8 rows (25 KiB): they stay in L1.
    // Meanwhile lane r asks for row r of the next tile (`next`), one step ahead per step, so that the first panel's pass
    // does not wait for the images to come from memory (prefetches change no result).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimized from the first call: no slow first evaluation
    private static unsafe void Tile(ReadOnlySpan<float> panel, int height, ReadOnlySpan<float> tile, int columns, int valid,
        ReadOnlySpan<float> next, Span<float> partials)
    {
        int nextRows = next.Length / columns;
        int groups = columns / Lanes;
        ref float w = ref MemoryMarshal.GetReference(panel);
        ref float x0 = ref MemoryMarshal.GetReference(tile);
        ref float x1 = ref Unsafe.Add(ref x0, valid > 1 ? columns : 0);
        ref float x2 = ref Unsafe.Add(ref x0, valid > 2 ? 2 * columns : 0);
        ref float x3 = ref Unsafe.Add(ref x0, valid > 3 ? 3 * columns : 0);
        ref float x4 = ref Unsafe.Add(ref x0, valid > 4 ? 4 * columns : 0);
        ref float x5 = ref Unsafe.Add(ref x0, valid > 5 ? 5 * columns : 0);
        ref float x6 = ref Unsafe.Add(ref x0, valid > 6 ? 6 * columns : 0);
        ref float x7 = ref Unsafe.Add(ref x0, valid > 7 ? 7 * columns : 0);
        ref float p = ref MemoryMarshal.GetReference(partials);
        // Unrolled by hand: named accumulators (and 8 named input rows) are what the JIT keeps in registers.
        for (int lane = 0; lane < Lanes; lane++)
        {
            ref float wl = ref Unsafe.Add(ref w, lane * groups * height);
            ref float pl = ref Unsafe.Add(ref p, lane * TileInputs * height);
            // Step k prefetches value k − lane of the lane's row of the next tile: 32 bytes a step, the row once per pass.
            ref float ahead = ref Unsafe.Add(ref MemoryMarshal.GetReference(next), Math.Min(lane, nextRows - 1) * columns);
            if (height == PanelRows)
            {
                Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
                Vector512<float> a4 = default, b4 = default, a5 = default, b5 = default, a6 = default, b6 = default, a7 = default, b7 = default;
                for (nint k = lane, end = groups * Lanes; k < end; k += Lanes)
                {
                    Vector512<float> w0 = Vector512.LoadUnsafe(ref wl);
                    Vector512<float> w1 = Vector512.LoadUnsafe(ref wl, 16);
                    wl = ref Unsafe.Add(ref wl, PanelRows);
                    Sse.Prefetch1(Unsafe.AsPointer(ref Unsafe.Add(ref ahead, k - lane)));
                    Vector512<float> v = Vector512.Create(Unsafe.Add(ref x0, k));
                    a0 = Vector512.FusedMultiplyAdd(w0, v, a0);
                    b0 = Vector512.FusedMultiplyAdd(w1, v, b0);
                    v = Vector512.Create(Unsafe.Add(ref x1, k));
                    a1 = Vector512.FusedMultiplyAdd(w0, v, a1);
                    b1 = Vector512.FusedMultiplyAdd(w1, v, b1);
                    v = Vector512.Create(Unsafe.Add(ref x2, k));
                    a2 = Vector512.FusedMultiplyAdd(w0, v, a2);
                    b2 = Vector512.FusedMultiplyAdd(w1, v, b2);
                    v = Vector512.Create(Unsafe.Add(ref x3, k));
                    a3 = Vector512.FusedMultiplyAdd(w0, v, a3);
                    b3 = Vector512.FusedMultiplyAdd(w1, v, b3);
                    v = Vector512.Create(Unsafe.Add(ref x4, k));
                    a4 = Vector512.FusedMultiplyAdd(w0, v, a4);
                    b4 = Vector512.FusedMultiplyAdd(w1, v, b4);
                    v = Vector512.Create(Unsafe.Add(ref x5, k));
                    a5 = Vector512.FusedMultiplyAdd(w0, v, a5);
                    b5 = Vector512.FusedMultiplyAdd(w1, v, b5);
                    v = Vector512.Create(Unsafe.Add(ref x6, k));
                    a6 = Vector512.FusedMultiplyAdd(w0, v, a6);
                    b6 = Vector512.FusedMultiplyAdd(w1, v, b6);
                    v = Vector512.Create(Unsafe.Add(ref x7, k));
                    a7 = Vector512.FusedMultiplyAdd(w0, v, a7);
                    b7 = Vector512.FusedMultiplyAdd(w1, v, b7);
                }

                a0.StoreUnsafe(ref pl, 0); b0.StoreUnsafe(ref pl, 16);
                a1.StoreUnsafe(ref pl, 32); b1.StoreUnsafe(ref pl, 48);
                a2.StoreUnsafe(ref pl, 64); b2.StoreUnsafe(ref pl, 80);
                a3.StoreUnsafe(ref pl, 96); b3.StoreUnsafe(ref pl, 112);
                a4.StoreUnsafe(ref pl, 128); b4.StoreUnsafe(ref pl, 144);
                a5.StoreUnsafe(ref pl, 160); b5.StoreUnsafe(ref pl, 176);
                a6.StoreUnsafe(ref pl, 192); b6.StoreUnsafe(ref pl, 208);
                a7.StoreUnsafe(ref pl, 224); b7.StoreUnsafe(ref pl, 240);
            }
            else
            {
                // A 16-row panel: 8 chains, as many as two FMA units of latency 4 keep busy.
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                for (nint k = lane, end = groups * Lanes; k < end; k += Lanes)
                {
                    Vector512<float> w0 = Vector512.LoadUnsafe(ref wl);
                    wl = ref Unsafe.Add(ref wl, HalfPanelRows);
                    Sse.Prefetch1(Unsafe.AsPointer(ref Unsafe.Add(ref ahead, k - lane)));
                    a0 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref x0, k)), a0);
                    a1 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref x1, k)), a1);
                    a2 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref x2, k)), a2);
                    a3 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref x3, k)), a3);
                    a4 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref x4, k)), a4);
                    a5 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref x5, k)), a5);
                    a6 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref x6, k)), a6);
                    a7 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref x7, k)), a7);
                }

                a0.StoreUnsafe(ref pl, 0); a1.StoreUnsafe(ref pl, 16);
                a2.StoreUnsafe(ref pl, 32); a3.StoreUnsafe(ref pl, 48);
                a4.StoreUnsafe(ref pl, 64); a5.StoreUnsafe(ref pl, 80);
                a6.StoreUnsafe(ref pl, 96); a7.StoreUnsafe(ref pl, 112);
            }
        }
    }

    // Adds the partials pairwise, then the tail columns (product rounded, then added), and stores the panel's rows of
    // the tile's valid inputs (outputs: the tile's inputs × all rows): 16 at a time straight into the outputs, the
    // last few of a layer through a small buffer.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Finish(ReadOnlySpan<float> panel, int height, ReadOnlySpan<float> tile, int columns, int valid,
        ReadOnlySpan<float> partials, Span<float> outputs, int rows, int firstRow)
    {
        int laneStride = TileInputs * height, tailStart = columns / Lanes * Lanes;
        ref float w = ref MemoryMarshal.GetReference(panel);
        ref float p = ref MemoryMarshal.GetReference(partials);
        ref float o = ref MemoryMarshal.GetReference(outputs);
        Span<float> last = stackalloc float[HalfPanelRows];
        for (int r = 0; r < valid; r++)
        {
            ref float x = ref MemoryMarshal.GetReference(tile.Slice(r * columns, columns));
            for (int half = 0; half < height; half += HalfPanelRows)
            {
                nuint at = (nuint)(r * height + half);
                Vector512<float> s = ((Vector512.LoadUnsafe(ref p, at) + Vector512.LoadUnsafe(ref p, at + (nuint)laneStride))
                        + (Vector512.LoadUnsafe(ref p, at + (nuint)(2 * laneStride)) + Vector512.LoadUnsafe(ref p, at + (nuint)(3 * laneStride))))
                    + ((Vector512.LoadUnsafe(ref p, at + (nuint)(4 * laneStride)) + Vector512.LoadUnsafe(ref p, at + (nuint)(5 * laneStride)))
                        + (Vector512.LoadUnsafe(ref p, at + (nuint)(6 * laneStride)) + Vector512.LoadUnsafe(ref p, at + (nuint)(7 * laneStride))));
                for (int k = tailStart; k < columns; k++)
                {
                    s += Vector512.LoadUnsafe(ref w, (nuint)(k * height + half)) * Vector512.Create(Unsafe.Add(ref x, k));
                }
                int row = firstRow + half, left = rows - row;
                if (left >= HalfPanelRows)
                {
                    s.StoreUnsafe(ref o, (nuint)(r * rows + row));
                }
                else // the layer's last rows (left ≥ 1: the padding is under 16 rows)
                {
                    s.CopyTo(last);
                    last.Slice(0, left).CopyTo(outputs.Slice(r * rows + row, left));
                }
            }
        }
    }
}
