using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PlasticityDsl.Runtime;

/// <summary>
/// outputs[n] = W inputs[n] for many inputs at once (evaluation on a test set): a register-blocked SGEMM over packed
/// panels. W (rows × columns) is packed once per call of <see cref="PackWeights"/> into panels of
/// <see cref="PanelRows"/> rows; each block of inputs into tiles of <see cref="TileInputs"/> inputs. The micro-kernel
/// keeps a tile's 8 × 32 outputs in 16 Vector512 accumulators, so each value it loads serves 8 or 16 FMAs.
/// </summary>
/// <remarks>
/// Summation order, the same for every output, shape and block (tests check it bit for bit against a scalar
/// reference): the products w_k·x_k with k &lt; 8⌊columns/8⌋ go to 8 partial sums by k mod 8, each an FMA chain in
/// ascending k from 0; the partials are added pairwise, ((p0+p1)+(p2+p3))+((p4+p5)+(p6+p7)); then the remaining
/// columns are added in ascending order, each product rounded before the addition. This is the order of
/// <see cref="KernelPrimitives.MultiplyBlock"/> (8-wide <c>Vector&lt;float&gt;</c>, its sum, its scalar tail) for
/// inputs in groups of four, so evaluation gives the results it gave before (docs/performance.md). Without AVX-512 the
/// block goes through <see cref="KernelPrimitives.MultiplyBlock"/>, which computes the same sums.
/// </remarks>
public static class PackedGemm
{
    /// <summary>Rows of W per packed panel: two Vector512 of outputs.</summary>
    public const int PanelRows = 32;

    /// <summary>Inputs per packed tile: the micro-kernel's 8 × 32 outputs are 16 accumulators.</summary>
    public const int TileInputs = 8;

    private const int Lanes = 8; // the partial sums per output (k mod 8)

    /// <summary>Whether this machine runs the packed kernel (AVX-512); otherwise the "packed" weights are W as it is
    /// and <see cref="Multiply"/> hands them to <see cref="KernelPrimitives.MultiplyBlock"/>.</summary>
    public static bool IsPacked => Vector512.IsHardwareAccelerated;

    /// <summary>Values of W packed by <see cref="PackWeights"/>: rows rounded up to whole panels (padded with zeros).</summary>
    public static int PackedWeightsLength(int rows, int columns) =>
        IsPacked ? (rows + PanelRows - 1) / PanelRows * PanelRows * columns : rows * columns;

    /// <summary>Values of the input scratch that <see cref="Multiply"/> needs for <paramref name="count"/> inputs.</summary>
    public static int PackedInputsLength(int columns, int count) =>
        IsPacked ? (count + TileInputs - 1) / TileInputs * TileInputs * columns : 0;

    /// <summary>Values of the partial-sum scratch that <see cref="Multiply"/> needs.</summary>
    public const int PartialsLength = Lanes * TileInputs * PanelRows;

    /// <summary>
    /// Packs W (rows × columns, row-major) into <paramref name="packed"/>: per panel of 32 rows, for each lane L the
    /// columns L, L+8, … as 32 consecutive values each, then the tail columns likewise.
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
        int panels = (rows + PanelRows - 1) / PanelRows;
        for (int p = 0; p < panels; p++)
        {
            Span<float> panel = packed.Slice(p * PanelRows * columns, PanelRows * columns);
            for (int j = 0; j < PanelRows; j++)
            {
                int row = p * PanelRows + j;
                PackLine(row < rows ? weights.Slice(row * columns, columns) : default, columns, panel, j, PanelRows);
            }
        }
    }

    /// <summary>
    /// outputs[n·rows + i] = Σ_k W[i, k] inputs[n·columns + k] for n &lt; <paramref name="count"/>, with W packed by
    /// <see cref="PackWeights"/>. Allocates nothing: the caller
    /// passes scratch of <see cref="PackedInputsLength"/> and <see cref="PartialsLength"/> values.
    /// </summary>
    public static void Multiply(ReadOnlySpan<float> packedWeights, int rows, int columns, ReadOnlySpan<float> inputs, int count,
        Span<float> outputs, Span<float> packedInputs, Span<float> partials)
    {
        if (inputs.Length != count * columns || outputs.Length != count * rows
            || packedWeights.Length < PackedWeightsLength(rows, columns)
            || packedInputs.Length < PackedInputsLength(columns, count) || partials.Length < PartialsLength)
        {
            throw new ArgumentException($"Shape mismatch: W is {rows}×{columns} ({packedWeights.Length} packed values), input {inputs.Length} (expected {count * columns}), output {outputs.Length} (expected {count * rows}), scratch {packedInputs.Length} and {partials.Length}.");
        }
        if (!IsPacked)
        {
            KernelPrimitives.MultiplyBlock(packedWeights.Slice(0, rows * columns), rows, columns, inputs, count, outputs);
            return;
        }

        int tiles = (count + TileInputs - 1) / TileInputs;
        for (int t = 0; t < tiles; t++)
        {
            PackInputs(inputs, columns, t * TileInputs, Math.Min(TileInputs, count - t * TileInputs), packedInputs.Slice(t * TileInputs * columns, TileInputs * columns));
        }
        int panels = (rows + PanelRows - 1) / PanelRows;
        for (int p = 0; p < panels; p++)
        {
            ReadOnlySpan<float> panel = packedWeights.Slice(p * PanelRows * columns, PanelRows * columns);
            int panelRows = Math.Min(PanelRows, rows - p * PanelRows);
            for (int t = 0; t < tiles; t++)
            {
                Tile(panel, packedInputs.Slice(t * TileInputs * columns, TileInputs * columns), columns, partials);
                Finish(panel, packedInputs.Slice(t * TileInputs * columns, TileInputs * columns), columns, partials,
                    outputs, rows, p * PanelRows, panelRows, t * TileInputs, Math.Min(TileInputs, count - t * TileInputs));
            }
        }
    }

    // Inputs first … first + valid − 1 into one tile; missing inputs of the last tile are zeros.
    private static void PackInputs(ReadOnlySpan<float> inputs, int columns, int first, int valid, Span<float> tile)
    {
        for (int r = 0; r < TileInputs; r++)
        {
            PackLine(r < valid ? inputs.Slice((first + r) * columns, columns) : default, columns, tile, r, TileInputs);
        }
    }

    // One row of W (or one input; zeros when `source` is empty) into position `at` of a panel (or tile) `width` wide:
    // lane-major for the columns k < 8⌊columns/8⌋ (lane k mod 8, group k / 8), then the tail columns in order.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimized from the first call: no slow first evaluation
    private static void PackLine(ReadOnlySpan<float> source, int columns, Span<float> packed, int at, int width)
    {
        int groups = columns / Lanes;
        for (int g = 0; g < groups; g++)
        {
            for (int lane = 0; lane < Lanes; lane++)
            {
                packed[((lane * groups) + g) * width + at] = source.IsEmpty ? 0f : source[g * Lanes + lane];
            }
        }
        for (int k = groups * Lanes; k < columns; k++) packed[k * width + at] = source.IsEmpty ? 0f : source[k];
    }

    // The 8 partial sums of a tile's 8 inputs × 32 rows: partials[(L·8 + r)·32 + j]. One lane at a time, so a pass
    // touches one lane's slice of the panel and the tile (≤ 16 KiB for 784 columns): they stay in L1.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimized from the first call: no slow first evaluation
    private static void Tile(ReadOnlySpan<float> panel, ReadOnlySpan<float> tile, int columns, Span<float> partials)
    {
        int groups = columns / Lanes;
        ref float w = ref MemoryMarshal.GetReference(panel);
        ref float x = ref MemoryMarshal.GetReference(tile);
        ref float p = ref MemoryMarshal.GetReference(partials);
        for (int lane = 0; lane < Lanes; lane++)
        {
            ref float wl = ref Unsafe.Add(ref w, lane * groups * PanelRows);
            ref float xl = ref Unsafe.Add(ref x, lane * groups * TileInputs);
            Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
            Vector512<float> a4 = default, b4 = default, a5 = default, b5 = default, a6 = default, b6 = default, a7 = default, b7 = default;
            for (int g = 0; g < groups; g++)
            {
                Vector512<float> w0 = Vector512.LoadUnsafe(ref wl);
                Vector512<float> w1 = Vector512.LoadUnsafe(ref wl, 16);
                ref float xg = ref xl;
                wl = ref Unsafe.Add(ref wl, PanelRows);
                xl = ref Unsafe.Add(ref xl, TileInputs);
                Vector512<float> x0 = Vector512.Create(xg);
                a0 = Vector512.FusedMultiplyAdd(w0, x0, a0);
                b0 = Vector512.FusedMultiplyAdd(w1, x0, b0);
                Vector512<float> x1 = Vector512.Create(Unsafe.Add(ref xg, 1));
                a1 = Vector512.FusedMultiplyAdd(w0, x1, a1);
                b1 = Vector512.FusedMultiplyAdd(w1, x1, b1);
                Vector512<float> x2 = Vector512.Create(Unsafe.Add(ref xg, 2));
                a2 = Vector512.FusedMultiplyAdd(w0, x2, a2);
                b2 = Vector512.FusedMultiplyAdd(w1, x2, b2);
                Vector512<float> x3 = Vector512.Create(Unsafe.Add(ref xg, 3));
                a3 = Vector512.FusedMultiplyAdd(w0, x3, a3);
                b3 = Vector512.FusedMultiplyAdd(w1, x3, b3);
                Vector512<float> x4 = Vector512.Create(Unsafe.Add(ref xg, 4));
                a4 = Vector512.FusedMultiplyAdd(w0, x4, a4);
                b4 = Vector512.FusedMultiplyAdd(w1, x4, b4);
                Vector512<float> x5 = Vector512.Create(Unsafe.Add(ref xg, 5));
                a5 = Vector512.FusedMultiplyAdd(w0, x5, a5);
                b5 = Vector512.FusedMultiplyAdd(w1, x5, b5);
                Vector512<float> x6 = Vector512.Create(Unsafe.Add(ref xg, 6));
                a6 = Vector512.FusedMultiplyAdd(w0, x6, a6);
                b6 = Vector512.FusedMultiplyAdd(w1, x6, b6);
                Vector512<float> x7 = Vector512.Create(Unsafe.Add(ref xg, 7));
                a7 = Vector512.FusedMultiplyAdd(w0, x7, a7);
                b7 = Vector512.FusedMultiplyAdd(w1, x7, b7);
            }

            ref float pl = ref Unsafe.Add(ref p, lane * TileInputs * PanelRows);
            a0.StoreUnsafe(ref pl, 0); b0.StoreUnsafe(ref pl, 16);
            a1.StoreUnsafe(ref pl, 32); b1.StoreUnsafe(ref pl, 48);
            a2.StoreUnsafe(ref pl, 64); b2.StoreUnsafe(ref pl, 80);
            a3.StoreUnsafe(ref pl, 96); b3.StoreUnsafe(ref pl, 112);
            a4.StoreUnsafe(ref pl, 128); b4.StoreUnsafe(ref pl, 144);
            a5.StoreUnsafe(ref pl, 160); b5.StoreUnsafe(ref pl, 176);
            a6.StoreUnsafe(ref pl, 192); b6.StoreUnsafe(ref pl, 208);
            a7.StoreUnsafe(ref pl, 224); b7.StoreUnsafe(ref pl, 240);
        }
    }

    // Adds the partials pairwise, then the tail columns (product rounded, then added), and stores the valid rows and
    // inputs of the tile.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimized from the first call: no slow first evaluation
    private static void Finish(ReadOnlySpan<float> panel, ReadOnlySpan<float> tile, int columns, ReadOnlySpan<float> partials,
        Span<float> outputs, int rows, int firstRow, int panelRows, int firstInput, int validInputs)
    {
        const int LaneStride = TileInputs * PanelRows;
        int tailStart = columns / Lanes * Lanes;
        ref float w = ref MemoryMarshal.GetReference(panel);
        ref float x = ref MemoryMarshal.GetReference(tile);
        ref float p = ref MemoryMarshal.GetReference(partials);
        Span<float> edge = stackalloc float[PanelRows];
        for (int r = 0; r < validInputs; r++)
        {
            for (int half = 0; half < 2; half++)
            {
                nuint at = (nuint)(r * PanelRows + half * 16);
                Vector512<float> s = ((Vector512.LoadUnsafe(ref p, at) + Vector512.LoadUnsafe(ref p, at + LaneStride))
                        + (Vector512.LoadUnsafe(ref p, at + 2 * LaneStride) + Vector512.LoadUnsafe(ref p, at + 3 * LaneStride)))
                    + ((Vector512.LoadUnsafe(ref p, at + 4 * LaneStride) + Vector512.LoadUnsafe(ref p, at + 5 * LaneStride))
                        + (Vector512.LoadUnsafe(ref p, at + 6 * LaneStride) + Vector512.LoadUnsafe(ref p, at + 7 * LaneStride)));
                for (int k = tailStart; k < columns; k++)
                {
                    Vector512<float> product = Vector512.LoadUnsafe(ref w, (nuint)(k * PanelRows + half * 16)) * Vector512.Create(Unsafe.Add(ref x, k * TileInputs + r));
                    s += product;
                }
                s.StoreUnsafe(ref MemoryMarshal.GetReference(edge), (nuint)(half * 16));
            }
            edge.Slice(0, panelRows).CopyTo(outputs.Slice((firstInput + r) * rows + firstRow, panelRows));
        }
    }
}
