using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PlasticityDsl.Runtime;

/// <summary>
/// outputs[n] = W inputs[n] for many inputs at once (evaluation on a test set): a register-blocked SGEMM over packed
/// panels. W (rows × columns) is packed by <see cref="PackWeights"/> into panels of 32 rows, the last one 16 rows high
/// when at most 16 rows remain; the inputs are read in place, 12 at a time. The micro-kernel keeps a tile's 12 × 32
/// outputs in 24 Vector512 accumulators, so each value of W it loads serves 12 FMAs and each input value 2; on a 16-row
/// panel it keeps 12 × 16 in 12, so that a layer of 10 or 170 rows does not pay for 22 rows of zeros.
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
    private const int TileInputs = 12; // inputs per tile: the micro-kernel's 12 × 32 outputs are 24 accumulators
    private const int Lanes = 8; // the partial sums per output (k mod 8)

    /// <summary>Inputs per block that callers pass through all layers together: whole tiles, and their activations
    /// stay in L2.</summary>
    public const int BlockInputs = 10 * TileInputs;

    /// <summary>Whether this machine runs the packed kernel (AVX-512); otherwise the "packed" weights are W as it is
    /// and <see cref="Multiply"/> hands them to <see cref="KernelPrimitives.MultiplyBlock"/>.</summary>
    public static bool IsPacked => Vector512.IsHardwareAccelerated;

    /// <summary>Values of W packed by <see cref="PackWeights"/>: rows rounded up to whole panels (padded with zeros).</summary>
    public static int PackedWeightsLength(int rows, int columns) => IsPacked ? PaddedRows(rows) * columns : rows * columns;

    // Full panels of 32 while more than 16 rows remain, then one of 16: the rows rounded up to a multiple of 16.
    private static int PaddedRows(int rows) => (rows + HalfPanelRows - 1) / HalfPanelRows * HalfPanelRows;

    // Rows of the packed panel that starts at row `first` (a multiple of 32): 32, or 16 for a last half panel.
    private static int PanelHeight(int rows, int first) => Math.Min(PanelRows, PaddedRows(rows) - first);

    private const int PartialsLength = Lanes * TileInputs * PanelRows;

    /// <summary>Values of the scratch that <see cref="Multiply"/> needs for inputs of up to <paramref name="columns"/>
    /// values: the partial sums and a copy of a partial last tile.</summary>
    public static int ScratchLength(int columns) => PartialsLength + TileInputs * columns;

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
    /// <see cref="PackWeights"/>. Allocates nothing: the caller passes the scratch (<see cref="ScratchLength"/> values).
    /// </summary>
    public static void Multiply(ReadOnlySpan<float> packedWeights, int rows, int columns, ReadOnlySpan<float> inputs, int count,
        Span<float> outputs, Span<float> scratch)
    {
        if (inputs.Length != count * columns || outputs.Length != count * rows
            || packedWeights.Length < PackedWeightsLength(rows, columns) || scratch.Length < ScratchLength(columns))
        {
            throw new ArgumentException($"Shape mismatch: W is {rows}×{columns} ({packedWeights.Length} packed values), input {inputs.Length} (expected {count * columns}), output {outputs.Length} (expected {count * rows}), scratch {scratch.Length} (needs {ScratchLength(columns)}).");
        }
        if (!IsPacked)
        {
            KernelPrimitives.MultiplyBlock(packedWeights.Slice(0, rows * columns), rows, columns, inputs, count, outputs);
            return;
        }

        Span<float> partials = scratch.Slice(0, PartialsLength);
        // The micro-kernel reads whole tiles: a last tile of fewer inputs is copied, the missing ones repeating its first
        // (their outputs are not stored).
        int lastFirst = (count - 1) / TileInputs * TileInputs, lastValid = count - lastFirst;
        ReadOnlySpan<float> lastTile = inputs.Slice(lastFirst * columns);
        if (lastValid < TileInputs)
        {
            Span<float> padded = scratch.Slice(PartialsLength, TileInputs * columns);
            lastTile.CopyTo(padded);
            for (int r = lastValid; r < TileInputs; r++) lastTile.Slice(0, columns).CopyTo(padded.Slice(r * columns));
            lastTile = padded;
        }
        for (int firstRow = 0; firstRow < rows; firstRow += PanelRows)
        {
            int height = PanelHeight(rows, firstRow);
            ReadOnlySpan<float> panel = packedWeights.Slice(firstRow * columns, height * columns);
            for (int first = 0; first < count; first += TileInputs)
            {
                int valid = Math.Min(TileInputs, count - first);
                ReadOnlySpan<float> tile = first == lastFirst ? lastTile : inputs.Slice(first * columns, TileInputs * columns);
                int nextFirst = first + TileInputs;
                ReadOnlySpan<float> next = nextFirst < count ? inputs.Slice(nextFirst * columns, Math.Min(TileInputs, count - nextFirst) * columns) : tile;
                Tile(panel, height, tile, columns, next, partials);
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

    // The 8 partial sums of a tile's 12 inputs × the panel's rows (height 32 or 16): partials[(L·12 + r)·height + j].
    // The inputs are read where they are: row r of the tile at one of four bases (rows 0, 3, 6, 9) plus 1, 2, 4 or 8 row
    // strides, which x64 addressing scales for free, so the loop keeps 4 pointers instead of 12 (with 12 the JIT spilled
    // half of them). One lane at a time, so a pass touches one lane's slice of the panel (12.5 KiB for 784 columns) and
    // of the tile's rows.
    // Meanwhile lane r asks for rows r and r + 8 of the next tile (`next`), one step ahead per step, so that the first
    // panel's pass does not wait for the images to come from memory (prefetches change no result).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimized from the first call: no slow first evaluation
    private static unsafe void Tile(ReadOnlySpan<float> panel, int height, ReadOnlySpan<float> tile, int columns,
        ReadOnlySpan<float> next, Span<float> partials)
    {
        int nextRows = next.Length / columns;
        int groups = columns / Lanes;
        ref float w = ref MemoryMarshal.GetReference(panel);
        ref float p = ref MemoryMarshal.GetReference(partials);
        ref float x = ref MemoryMarshal.GetReference(tile);
        nint stride = (nint)columns * sizeof(float);
        for (int lane = 0; lane < Lanes; lane++)
        {
            ref float wl = ref Unsafe.Add(ref w, lane * groups * height);
            ref float pl = ref Unsafe.Add(ref p, lane * TileInputs * height);
            ref float x0 = ref Unsafe.Add(ref x, lane);
            ref float x3 = ref Unsafe.Add(ref x0, 3 * columns);
            ref float x6 = ref Unsafe.Add(ref x0, 6 * columns);
            ref float x9 = ref Unsafe.Add(ref x0, 9 * columns);
            ref float ahead = ref Unsafe.Add(ref MemoryMarshal.GetReference(next), Math.Min(lane, nextRows - 1) * columns);
            ref float aheadHigh = ref Unsafe.Add(ref MemoryMarshal.GetReference(next), Math.Min(lane + Lanes, nextRows - 1) * columns);
            if (height == PanelRows)
            {
                Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default,
                    a2 = default, b2 = default, a3 = default, b3 = default,
                    a4 = default, b4 = default, a5 = default, b5 = default,
                    a6 = default, b6 = default, a7 = default, b7 = default,
                    a8 = default, b8 = default, a9 = default, b9 = default,
                    a10 = default, b10 = default, a11 = default, b11 = default;
                for (int g = 0; g < groups; g++)
                {
                    Vector512<float> w0 = Vector512.LoadUnsafe(ref wl);
                    Vector512<float> w1 = Vector512.LoadUnsafe(ref wl, 16);
                    wl = ref Unsafe.Add(ref wl, PanelRows);
                    Sse.Prefetch1(Unsafe.AsPointer(ref ahead));
                    Sse.Prefetch1(Unsafe.AsPointer(ref aheadHigh));
                    ahead = ref Unsafe.Add(ref ahead, Lanes);
                    aheadHigh = ref Unsafe.Add(ref aheadHigh, Lanes);
                    Vector512<float> v = Vector512.Create(x0);
                    a0 = Vector512.FusedMultiplyAdd(w0, v, a0);
                    b0 = Vector512.FusedMultiplyAdd(w1, v, b0);
                    v = Vector512.Create(Unsafe.AddByteOffset(ref x0, stride));
                    a1 = Vector512.FusedMultiplyAdd(w0, v, a1);
                    b1 = Vector512.FusedMultiplyAdd(w1, v, b1);
                    v = Vector512.Create(Unsafe.AddByteOffset(ref x0, stride * 2));
                    a2 = Vector512.FusedMultiplyAdd(w0, v, a2);
                    b2 = Vector512.FusedMultiplyAdd(w1, v, b2);
                    v = Vector512.Create(x3);
                    a3 = Vector512.FusedMultiplyAdd(w0, v, a3);
                    b3 = Vector512.FusedMultiplyAdd(w1, v, b3);
                    v = Vector512.Create(Unsafe.AddByteOffset(ref x0, stride * 4));
                    a4 = Vector512.FusedMultiplyAdd(w0, v, a4);
                    b4 = Vector512.FusedMultiplyAdd(w1, v, b4);
                    v = Vector512.Create(Unsafe.AddByteOffset(ref x3, stride * 2));
                    a5 = Vector512.FusedMultiplyAdd(w0, v, a5);
                    b5 = Vector512.FusedMultiplyAdd(w1, v, b5);
                    v = Vector512.Create(x6);
                    a6 = Vector512.FusedMultiplyAdd(w0, v, a6);
                    b6 = Vector512.FusedMultiplyAdd(w1, v, b6);
                    v = Vector512.Create(Unsafe.AddByteOffset(ref x3, stride * 4));
                    a7 = Vector512.FusedMultiplyAdd(w0, v, a7);
                    b7 = Vector512.FusedMultiplyAdd(w1, v, b7);
                    v = Vector512.Create(Unsafe.AddByteOffset(ref x0, stride * 8));
                    a8 = Vector512.FusedMultiplyAdd(w0, v, a8);
                    b8 = Vector512.FusedMultiplyAdd(w1, v, b8);
                    v = Vector512.Create(x9);
                    a9 = Vector512.FusedMultiplyAdd(w0, v, a9);
                    b9 = Vector512.FusedMultiplyAdd(w1, v, b9);
                    v = Vector512.Create(Unsafe.AddByteOffset(ref x6, stride * 4));
                    a10 = Vector512.FusedMultiplyAdd(w0, v, a10);
                    b10 = Vector512.FusedMultiplyAdd(w1, v, b10);
                    v = Vector512.Create(Unsafe.AddByteOffset(ref x3, stride * 8));
                    a11 = Vector512.FusedMultiplyAdd(w0, v, a11);
                    b11 = Vector512.FusedMultiplyAdd(w1, v, b11);
                    x0 = ref Unsafe.Add(ref x0, Lanes);
                    x3 = ref Unsafe.Add(ref x3, Lanes);
                    x6 = ref Unsafe.Add(ref x6, Lanes);
                    x9 = ref Unsafe.Add(ref x9, Lanes);
                }

                a0.StoreUnsafe(ref pl, 0); b0.StoreUnsafe(ref pl, 16);
                a1.StoreUnsafe(ref pl, 32); b1.StoreUnsafe(ref pl, 48);
                a2.StoreUnsafe(ref pl, 64); b2.StoreUnsafe(ref pl, 80);
                a3.StoreUnsafe(ref pl, 96); b3.StoreUnsafe(ref pl, 112);
                a4.StoreUnsafe(ref pl, 128); b4.StoreUnsafe(ref pl, 144);
                a5.StoreUnsafe(ref pl, 160); b5.StoreUnsafe(ref pl, 176);
                a6.StoreUnsafe(ref pl, 192); b6.StoreUnsafe(ref pl, 208);
                a7.StoreUnsafe(ref pl, 224); b7.StoreUnsafe(ref pl, 240);
                a8.StoreUnsafe(ref pl, 256); b8.StoreUnsafe(ref pl, 272);
                a9.StoreUnsafe(ref pl, 288); b9.StoreUnsafe(ref pl, 304);
                a10.StoreUnsafe(ref pl, 320); b10.StoreUnsafe(ref pl, 336);
                a11.StoreUnsafe(ref pl, 352); b11.StoreUnsafe(ref pl, 368);
            }
            else
            {
                // A 16-row panel: 12 chains.
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default,
                    a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default;
                for (int g = 0; g < groups; g++)
                {
                    Vector512<float> w0 = Vector512.LoadUnsafe(ref wl);
                    wl = ref Unsafe.Add(ref wl, HalfPanelRows);
                    Sse.Prefetch1(Unsafe.AsPointer(ref ahead));
                    Sse.Prefetch1(Unsafe.AsPointer(ref aheadHigh));
                    ahead = ref Unsafe.Add(ref ahead, Lanes);
                    aheadHigh = ref Unsafe.Add(ref aheadHigh, Lanes);
                    a0 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(x0), a0);
                    a1 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.AddByteOffset(ref x0, stride)), a1);
                    a2 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.AddByteOffset(ref x0, stride * 2)), a2);
                    a3 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(x3), a3);
                    a4 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.AddByteOffset(ref x0, stride * 4)), a4);
                    a5 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.AddByteOffset(ref x3, stride * 2)), a5);
                    a6 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(x6), a6);
                    a7 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.AddByteOffset(ref x3, stride * 4)), a7);
                    a8 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.AddByteOffset(ref x0, stride * 8)), a8);
                    a9 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(x9), a9);
                    a10 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.AddByteOffset(ref x6, stride * 4)), a10);
                    a11 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.AddByteOffset(ref x3, stride * 8)), a11);
                    x0 = ref Unsafe.Add(ref x0, Lanes);
                    x3 = ref Unsafe.Add(ref x3, Lanes);
                    x6 = ref Unsafe.Add(ref x6, Lanes);
                    x9 = ref Unsafe.Add(ref x9, Lanes);
                }

                a0.StoreUnsafe(ref pl, 0);
                a1.StoreUnsafe(ref pl, 16);
                a2.StoreUnsafe(ref pl, 32);
                a3.StoreUnsafe(ref pl, 48);
                a4.StoreUnsafe(ref pl, 64);
                a5.StoreUnsafe(ref pl, 80);
                a6.StoreUnsafe(ref pl, 96);
                a7.StoreUnsafe(ref pl, 112);
                a8.StoreUnsafe(ref pl, 128);
                a9.StoreUnsafe(ref pl, 144);
                a10.StoreUnsafe(ref pl, 160);
                a11.StoreUnsafe(ref pl, 176);
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
