using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PlasticityDsl.Runtime;

/// <summary>
/// outputs[n] = W inputs[n] for many inputs at once (evaluation on a test set): a register-blocked SGEMM over packed
/// panels. W (rows × columns) is packed by <see cref="PackWeights"/> into panels of 32 rows, the last one 16 rows high
/// when at most 16 rows remain, each column's rows side by side; the inputs are read in place, 12 at a time. The
/// micro-kernel keeps a tile's 12 × 32 outputs in 24 Vector512 accumulators for the whole row of W, so each value of W
/// it loads serves 12 FMAs and each input value 2; on a 16-row panel it keeps 12 × 16 in 12, so that a layer of 10 or
/// 170 rows does not pay for 22 rows of zeros.
/// </summary>
/// <remarks>
/// Summation order, the same for every output, shape, block and machine (tests check it bit for bit against a scalar
/// reference): each output is one FMA chain over the columns in ascending order from 0,
/// s ← fma(W[i, k], x[k], s). This is not the order of the per-sample forward pass
/// (<see cref="KernelPrimitives.MultiplyVector"/>: 8 chains, added pairwise), so an evaluation's logits can differ from
/// <see cref="OnlineLearner.Predict"/>'s in the last bits, and with them a prediction where two logits are nearly equal
/// (docs/performance.md, "Evaluation in one chain per output"). Without AVX-512 a portable
/// <c>Vector&lt;float&gt;</c> kernel computes the same chains on the same packed panels.
/// </remarks>
internal static class PackedGemm
{
    private const int PanelRows = 32; // rows of W per packed panel: two Vector512 of outputs
    private const int HalfPanelRows = 16; // rows of the last panel when at most 16 remain: one Vector512
    private const int TileInputs = 12; // inputs per tile: the micro-kernel's 12 × 32 outputs are 24 accumulators
    private const int PortableTileInputs = 4; // inputs per tile of the portable kernel, each against two vectors of rows

    /// <summary>Inputs per block that callers pass through all layers together: whole tiles, and their activations
    /// stay in L2.</summary>
    public const int BlockInputs = 10 * TileInputs;

    /// <summary>Values of W packed by <see cref="PackWeights"/>: rows rounded up to whole panels (padded with zeros).</summary>
    public static int PackedWeightsLength(int rows, int columns) => PaddedRows(rows) * columns;

    // Full panels of 32 while more than 16 rows remain, then one of 16: the rows rounded up to a multiple of 16.
    private static int PaddedRows(int rows) => (rows + HalfPanelRows - 1) / HalfPanelRows * HalfPanelRows;

    // Rows of the packed panel that starts at row `first` (a multiple of 32): 32, or 16 for a last half panel.
    private static int PanelHeight(int rows, int first) => Math.Min(PanelRows, PaddedRows(rows) - first);

    private const int TileOutputsLength = TileInputs * PanelRows;

    /// <summary>Values of the scratch that <see cref="Multiply"/> needs for inputs of up to <paramref name="columns"/>
    /// values: a tile's outputs where they do not all belong in the output, and a copy of a partial last tile.</summary>
    public static int ScratchLength(int columns) => TileOutputsLength + TileInputs * columns;

    /// <summary>
    /// Packs W (rows × columns, row-major) into <paramref name="packed"/>: per panel of 32 (or 16) rows, column after
    /// column, each column's 32 (or 16) values consecutive.
    /// </summary>
    public static void PackWeights(ReadOnlySpan<float> weights, int rows, int columns, Span<float> packed)
    {
        if (weights.Length != rows * columns || packed.Length < PackedWeightsLength(rows, columns))
        {
            throw new ArgumentException($"Shape mismatch: W is {rows}×{columns} ({weights.Length} values), packed space {packed.Length} (needs {PackedWeightsLength(rows, columns)}).");
        }
        packed.Slice(0, PaddedRows(rows) * columns).Clear(); // the rows past the last are zeros
        for (int i = 0; i < rows; i++)
        {
            int first = i / PanelRows * PanelRows, height = PanelHeight(rows, first);
            ReadOnlySpan<float> row = weights.Slice(i * columns, columns);
            Span<float> panel = packed.Slice(first * columns);
            for (int k = 0; k < columns; k++) panel[k * height + i - first] = row[k];
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
        if (Vector512.IsHardwareAccelerated)
        {
            MultiplyTiles(packedWeights, rows, columns, inputs, count, outputs, scratch);
        }
        else
        {
            MultiplyPortable(packedWeights, rows, columns, inputs, count, outputs);
        }
    }

    // The AVX-512 path: panel by panel, tile by tile.
    private static void MultiplyTiles(ReadOnlySpan<float> packedWeights, int rows, int columns, ReadOnlySpan<float> inputs, int count,
        Span<float> outputs, Span<float> scratch)
    {
        Span<float> tileOutputs = scratch.Slice(0, TileOutputsLength);
        // The micro-kernel reads whole tiles: a last tile of fewer inputs is copied, the missing ones repeating its first
        // (their outputs are not stored).
        int lastFirst = (count - 1) / TileInputs * TileInputs, lastValid = count - lastFirst;
        ReadOnlySpan<float> lastTile = inputs.Slice(lastFirst * columns);
        if (lastValid < TileInputs)
        {
            Span<float> padded = scratch.Slice(TileOutputsLength, TileInputs * columns);
            lastTile.CopyTo(padded);
            for (int r = lastValid; r < TileInputs; r++) lastTile.Slice(0, columns).CopyTo(padded.Slice(r * columns));
            lastTile = padded;
        }
        for (int firstRow = 0; firstRow < rows; firstRow += PanelRows)
        {
            int height = PanelHeight(rows, firstRow), validRows = Math.Min(height, rows - firstRow);
            ReadOnlySpan<float> panel = packedWeights.Slice(firstRow * columns, height * columns);
            for (int first = 0; first < count; first += TileInputs)
            {
                int valid = Math.Min(TileInputs, count - first);
                ReadOnlySpan<float> tile = first == lastFirst ? lastTile : inputs.Slice(first * columns, TileInputs * columns);
                int nextFirst = first + TileInputs;
                ReadOnlySpan<float> next = nextFirst < count ? inputs.Slice(nextFirst * columns, Math.Min(TileInputs, count - nextFirst) * columns) : tile;
                if (valid == TileInputs && validRows == height)
                {
                    // Straight into the outputs: row `first + r` of the tile's block starts at (first + r)·rows.
                    Tile(panel, height, tile, columns, next, outputs.Slice(first * rows + firstRow), rows);
                }
                else
                {
                    Tile(panel, height, tile, columns, next, tileOutputs, height);
                    for (int r = 0; r < valid; r++)
                    {
                        tileOutputs.Slice(r * height, validRows).CopyTo(outputs.Slice((first + r) * rows + firstRow, validRows));
                    }
                }
            }
        }
    }

    // Writes the tile's 12 inputs × the panel's rows (height 32 or 16): input r's outputs at destination[r·stride …],
    // each one FMA chain over all columns. The inputs are read where they are: row r of the tile at one of four bases
    // (rows 0, 3, 6, 9) plus 1, 2, 4 or 8 row strides, which x64 addressing scales for free, so the loop keeps 4 pointers
    // instead of 12 (with 12 the JIT spilled half of them).
    // Meanwhile it asks for the next tile's images (`next`, contiguous), one cache line's worth every step, so that the
    // first panel's pass does not wait for them to come from memory (prefetches change no result).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimized from the first call: no slow first evaluation
    private static unsafe void Tile(ReadOnlySpan<float> panel, int height, ReadOnlySpan<float> tile, int columns,
        ReadOnlySpan<float> next, Span<float> destination, int stride)
    {
        int nextRows = next.Length / columns;
        ref float wk = ref MemoryMarshal.GetReference(panel);
        ref float d = ref MemoryMarshal.GetReference(destination);
        ref float x0 = ref MemoryMarshal.GetReference(tile);
        ref float x3 = ref Unsafe.Add(ref x0, 3 * columns);
        ref float x6 = ref Unsafe.Add(ref x0, 6 * columns);
        ref float x9 = ref Unsafe.Add(ref x0, 9 * columns);
        ref float ahead = ref MemoryMarshal.GetReference(next);
        nint rowBytes = (nint)columns * sizeof(float);
        if (height == PanelRows)
        {
            Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default,
                a2 = default, b2 = default, a3 = default, b3 = default,
                a4 = default, b4 = default, a5 = default, b5 = default,
                a6 = default, b6 = default, a7 = default, b7 = default,
                a8 = default, b8 = default, a9 = default, b9 = default,
                a10 = default, b10 = default, a11 = default, b11 = default;
            for (int k = 0; k < columns; k++)
            {
                Vector512<float> w0 = Vector512.LoadUnsafe(ref wk);
                Vector512<float> w1 = Vector512.LoadUnsafe(ref wk, 16);
                wk = ref Unsafe.Add(ref wk, PanelRows);
                Sse.Prefetch1(Unsafe.AsPointer(ref ahead));
                ahead = ref Unsafe.Add(ref ahead, nextRows); // columns steps of nextRows values: the whole next tile
                Vector512<float> v = Vector512.Create(x0);
                a0 = Vector512.FusedMultiplyAdd(w0, v, a0);
                b0 = Vector512.FusedMultiplyAdd(w1, v, b0);
                v = Vector512.Create(Unsafe.AddByteOffset(ref x0, rowBytes));
                a1 = Vector512.FusedMultiplyAdd(w0, v, a1);
                b1 = Vector512.FusedMultiplyAdd(w1, v, b1);
                v = Vector512.Create(Unsafe.AddByteOffset(ref x0, rowBytes * 2));
                a2 = Vector512.FusedMultiplyAdd(w0, v, a2);
                b2 = Vector512.FusedMultiplyAdd(w1, v, b2);
                v = Vector512.Create(x3);
                a3 = Vector512.FusedMultiplyAdd(w0, v, a3);
                b3 = Vector512.FusedMultiplyAdd(w1, v, b3);
                v = Vector512.Create(Unsafe.AddByteOffset(ref x0, rowBytes * 4));
                a4 = Vector512.FusedMultiplyAdd(w0, v, a4);
                b4 = Vector512.FusedMultiplyAdd(w1, v, b4);
                v = Vector512.Create(Unsafe.AddByteOffset(ref x3, rowBytes * 2));
                a5 = Vector512.FusedMultiplyAdd(w0, v, a5);
                b5 = Vector512.FusedMultiplyAdd(w1, v, b5);
                v = Vector512.Create(x6);
                a6 = Vector512.FusedMultiplyAdd(w0, v, a6);
                b6 = Vector512.FusedMultiplyAdd(w1, v, b6);
                v = Vector512.Create(Unsafe.AddByteOffset(ref x3, rowBytes * 4));
                a7 = Vector512.FusedMultiplyAdd(w0, v, a7);
                b7 = Vector512.FusedMultiplyAdd(w1, v, b7);
                v = Vector512.Create(Unsafe.AddByteOffset(ref x0, rowBytes * 8));
                a8 = Vector512.FusedMultiplyAdd(w0, v, a8);
                b8 = Vector512.FusedMultiplyAdd(w1, v, b8);
                v = Vector512.Create(x9);
                a9 = Vector512.FusedMultiplyAdd(w0, v, a9);
                b9 = Vector512.FusedMultiplyAdd(w1, v, b9);
                v = Vector512.Create(Unsafe.AddByteOffset(ref x6, rowBytes * 4));
                a10 = Vector512.FusedMultiplyAdd(w0, v, a10);
                b10 = Vector512.FusedMultiplyAdd(w1, v, b10);
                v = Vector512.Create(Unsafe.AddByteOffset(ref x3, rowBytes * 8));
                a11 = Vector512.FusedMultiplyAdd(w0, v, a11);
                b11 = Vector512.FusedMultiplyAdd(w1, v, b11);
                x0 = ref Unsafe.Add(ref x0, 1);
                x3 = ref Unsafe.Add(ref x3, 1);
                x6 = ref Unsafe.Add(ref x6, 1);
                x9 = ref Unsafe.Add(ref x9, 1);
            }

            nuint s = (nuint)stride;
            a0.StoreUnsafe(ref d, 0); b0.StoreUnsafe(ref d, 16);
            a1.StoreUnsafe(ref d, s); b1.StoreUnsafe(ref d, s + 16);
            a2.StoreUnsafe(ref d, 2 * s); b2.StoreUnsafe(ref d, 2 * s + 16);
            a3.StoreUnsafe(ref d, 3 * s); b3.StoreUnsafe(ref d, 3 * s + 16);
            a4.StoreUnsafe(ref d, 4 * s); b4.StoreUnsafe(ref d, 4 * s + 16);
            a5.StoreUnsafe(ref d, 5 * s); b5.StoreUnsafe(ref d, 5 * s + 16);
            a6.StoreUnsafe(ref d, 6 * s); b6.StoreUnsafe(ref d, 6 * s + 16);
            a7.StoreUnsafe(ref d, 7 * s); b7.StoreUnsafe(ref d, 7 * s + 16);
            a8.StoreUnsafe(ref d, 8 * s); b8.StoreUnsafe(ref d, 8 * s + 16);
            a9.StoreUnsafe(ref d, 9 * s); b9.StoreUnsafe(ref d, 9 * s + 16);
            a10.StoreUnsafe(ref d, 10 * s); b10.StoreUnsafe(ref d, 10 * s + 16);
            a11.StoreUnsafe(ref d, 11 * s); b11.StoreUnsafe(ref d, 11 * s + 16);
        }
        else
        {
            // A 16-row panel: 12 chains.
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default,
                a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default;
            for (int k = 0; k < columns; k++)
            {
                Vector512<float> w0 = Vector512.LoadUnsafe(ref wk);
                wk = ref Unsafe.Add(ref wk, HalfPanelRows);
                Sse.Prefetch1(Unsafe.AsPointer(ref ahead));
                ahead = ref Unsafe.Add(ref ahead, nextRows);
                a0 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(x0), a0);
                a1 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.AddByteOffset(ref x0, rowBytes)), a1);
                a2 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.AddByteOffset(ref x0, rowBytes * 2)), a2);
                a3 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(x3), a3);
                a4 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.AddByteOffset(ref x0, rowBytes * 4)), a4);
                a5 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.AddByteOffset(ref x3, rowBytes * 2)), a5);
                a6 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(x6), a6);
                a7 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.AddByteOffset(ref x3, rowBytes * 4)), a7);
                a8 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.AddByteOffset(ref x0, rowBytes * 8)), a8);
                a9 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(x9), a9);
                a10 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.AddByteOffset(ref x6, rowBytes * 4)), a10);
                a11 = Vector512.FusedMultiplyAdd(w0, Vector512.Create(Unsafe.AddByteOffset(ref x3, rowBytes * 8)), a11);
                x0 = ref Unsafe.Add(ref x0, 1);
                x3 = ref Unsafe.Add(ref x3, 1);
                x6 = ref Unsafe.Add(ref x6, 1);
                x9 = ref Unsafe.Add(ref x9, 1);
            }

            nuint s = (nuint)stride;
            a0.StoreUnsafe(ref d, 0);
            a1.StoreUnsafe(ref d, s);
            a2.StoreUnsafe(ref d, 2 * s);
            a3.StoreUnsafe(ref d, 3 * s);
            a4.StoreUnsafe(ref d, 4 * s);
            a5.StoreUnsafe(ref d, 5 * s);
            a6.StoreUnsafe(ref d, 6 * s);
            a7.StoreUnsafe(ref d, 7 * s);
            a8.StoreUnsafe(ref d, 8 * s);
            a9.StoreUnsafe(ref d, 9 * s);
            a10.StoreUnsafe(ref d, 10 * s);
            a11.StoreUnsafe(ref d, 11 * s);
        }
    }

    /// <summary>
    /// The same product on the same packed panels with <c>Vector&lt;float&gt;</c> (any width that divides 16: AVX2,
    /// SSE, Arm's 128-bit vectors) and the same chains: for machines without AVX-512, and for tests on any machine.
    /// Two vectors of rows × four inputs: 8 independent chains, enough to keep two FMA units busy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MultiplyPortable(ReadOnlySpan<float> packedWeights, int rows, int columns, ReadOnlySpan<float> inputs,
        int count, Span<float> outputs)
    {
        int width = Vector<float>.Count;
        Span<float> sums = stackalloc float[PortableTileInputs * PanelRows];
        ref float x = ref MemoryMarshal.GetReference(inputs);
        for (int firstRow = 0; firstRow < rows; firstRow += PanelRows)
        {
            int height = PanelHeight(rows, firstRow);
            ref float panel = ref Unsafe.Add(ref MemoryMarshal.GetReference(packedWeights), firstRow * columns);
            for (int at = 0; at < height && firstRow + at < rows; at += 2 * width)
            {
                // Rows at … at + 2·width − 1 of the panel; where only one vector of rows is left, the second repeats it.
                int second = height - at >= 2 * width ? width : 0;
                int validRows = Math.Min(width + second, rows - firstRow - at);
                for (int first = 0; first < count; first += PortableTileInputs)
                {
                    // Up to four inputs; a missing one repeats the first (its sums are not stored).
                    int valid = Math.Min(PortableTileInputs, count - first);
                    ref float x0 = ref Unsafe.Add(ref x, first * columns);
                    ref float x1 = ref valid > 1 ? ref Unsafe.Add(ref x0, columns) : ref x0;
                    ref float x2 = ref valid > 2 ? ref Unsafe.Add(ref x0, 2 * columns) : ref x0;
                    ref float x3 = ref valid > 3 ? ref Unsafe.Add(ref x0, 3 * columns) : ref x0;
                    ref float wk = ref Unsafe.Add(ref panel, at);
                    Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
                    Vector<float> b0 = default, b1 = default, b2 = default, b3 = default;
                    for (int k = 0; k < columns; k++)
                    {
                        Vector<float> w0 = Vector.LoadUnsafe(ref wk);
                        Vector<float> w1 = Vector.LoadUnsafe(ref wk, (nuint)second);
                        wk = ref Unsafe.Add(ref wk, height);
                        var v = new Vector<float>(Unsafe.Add(ref x0, k));
                        a0 = Vector.FusedMultiplyAdd(w0, v, a0);
                        b0 = Vector.FusedMultiplyAdd(w1, v, b0);
                        v = new Vector<float>(Unsafe.Add(ref x1, k));
                        a1 = Vector.FusedMultiplyAdd(w0, v, a1);
                        b1 = Vector.FusedMultiplyAdd(w1, v, b1);
                        v = new Vector<float>(Unsafe.Add(ref x2, k));
                        a2 = Vector.FusedMultiplyAdd(w0, v, a2);
                        b2 = Vector.FusedMultiplyAdd(w1, v, b2);
                        v = new Vector<float>(Unsafe.Add(ref x3, k));
                        a3 = Vector.FusedMultiplyAdd(w0, v, a3);
                        b3 = Vector.FusedMultiplyAdd(w1, v, b3);
                    }

                    // Input r's rows at sums[r·2·width …]: the first vector, then the second (the first again when repeated).
                    a0.CopyTo(sums); b0.CopyTo(sums.Slice(second));
                    a1.CopyTo(sums.Slice(2 * width)); b1.CopyTo(sums.Slice(2 * width + second));
                    a2.CopyTo(sums.Slice(4 * width)); b2.CopyTo(sums.Slice(4 * width + second));
                    a3.CopyTo(sums.Slice(6 * width)); b3.CopyTo(sums.Slice(6 * width + second));
                    for (int r = 0; r < valid; r++)
                    {
                        sums.Slice(r * 2 * width, validRows).CopyTo(outputs.Slice((first + r) * rows + firstRow + at, validRows));
                    }
                }
            }
        }
    }
}
