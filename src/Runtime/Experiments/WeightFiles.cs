using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.Recurrent;

namespace PlasticityDsl.Runtime.Experiments;

/// <summary>
/// Network weights as numpy .npz archives: arrays W1…WL and, for a network with separate feedback, B1…BL; float32,
/// shape n_l × n_(l-1); and, when the rule that trains it keeps per-layer state, S1…SL, the state of each layer as one
/// column (the rule's <c>state</c> variables one after another, in declaration order). A recurrent network's file holds
/// Wh (n_h × n_h), Wx (n_h × n_x) and Wo (n_o × n_h).
/// </summary>
public static class WeightFiles
{
    public static void Write(string path, Mlp network)
    {
        var arrays = new List<(string, float[], int, int)>();
        for (int l = 0; l < network.LayerCount; l++)
        {
            arrays.Add(("W" + (l + 1), network.Weights[l], network.LayerSizes[l + 1], network.LayerSizes[l]));
        }
        for (int l = 0; l < network.Feedback.Length; l++)
        {
            arrays.Add(("B" + (l + 1), network.Feedback[l], network.LayerSizes[l + 1], network.LayerSizes[l]));
        }
        for (int l = 0; l < network.LayerCount && network.State[l].Length > 0; l++)
        {
            arrays.Add(("S" + (l + 1), network.State[l], network.State[l].Length, 1));
        }

        Npz.Write(path, arrays);
    }

    /// <summary>Writes a recurrent network's Wh, Wx and Wo.</summary>
    public static void Write(string path, RecurrentNetwork network) =>
        Npz.Write(path, [.. RecurrentArrays(network).Select(a => (a.Name, a.Weights, a.Rows, a.Columns))]);

    /// <summary>Loads Wh, Wx and Wo into <paramref name="network"/>; a missing array, a wrong shape or a non-finite value is a
    /// <see cref="DataFileException"/> naming the array.</summary>
    public static void Load(string path, RecurrentNetwork network)
    {
        var shapes = RecurrentArrays(network).ToDictionary(a => a.Name);
        var arrays = Npz.Read(path, name => shapes.TryGetValue(name, out var a) ? (long)a.Rows * a.Columns * sizeof(double) + Npz.MaxHeaderBytes + 12 : 0);
        foreach (var (name, weights, rows, columns) in shapes.Values)
        {
            Matrix(path, arrays, name, rows, columns, $"the recurrent network {network.Inputs}-{network.Hidden}-{network.Outputs}").CopyTo(weights, 0);
        }
    }

    private static IEnumerable<(string Name, float[] Weights, int Rows, int Columns)> RecurrentArrays(RecurrentNetwork network) =>
    [
        ("Wh", network.RecurrentWeights, network.Hidden, network.Hidden),
        ("Wx", network.InputWeights, network.Hidden, network.Inputs),
        ("Wo", network.ReadoutWeights, network.Outputs, network.Hidden),
    ];

    /// <summary>
    /// Loads W1…WL into <paramref name="network"/> and, if it has separate feedback and the file holds B1…BL, those too.
    /// Returns whether B was loaded. A missing W, a partial set of B arrays or a wrong shape is a
    /// <see cref="DataFileException"/> naming the array. New weights start the rule's state afresh (<c>--init</c>), unless
    /// <paramref name="withState"/> (a checkpoint resumed) and the file holds S1…SL.
    /// </summary>
    public static bool Load(string path, Mlp network, bool withState = false)
    {
        // Only the arrays this network has are read, each at most as large as its shape in float64 plus a header.
        IReadOnlyDictionary<string, (float[] Data, int Rows, int Cols)> arrays = Npz.Read(path, name => MaxBytes(network, name, withState));
        network.LoadWeights(Matrices(path, arrays, network, "W"));
        if (withState && arrays.ContainsKey("S1"))
        {
            network.LoadState(Enumerable.Range(1, network.LayerCount).Select(l => arrays.TryGetValue("S" + l, out var s) && s.Cols == 1
                ? s.Data : throw new DataFileException(path, $"has S1 but no column S{l}: the state of every layer is saved together")).ToList());
        }

        if (!network.HasSeparateFeedback || !arrays.Keys.Any(k => k.StartsWith('B')))
        {
            return false;
        }

        network.LoadFeedback(Matrices(path, arrays, network, "B"));
        return true;
    }

    /// <summary>The most bytes array <paramref name="name"/> (W1…WL, B1…BL, and S1…SL <paramref name="withState"/>) may take in
    /// a file for <paramref name="network"/>; 0 for any other. A layer's state is at most a few vectors of its sizes.</summary>
    private static long MaxBytes(Mlp network, string name, bool withState)
    {
        if (name.Length < 2 || (name[0] != 'W' && name[0] != 'B' && !(withState && name[0] == 'S'))) return 0;
        if (!int.TryParse(name.AsSpan(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int l)) return 0;
        if (l < 1 || l > network.LayerCount) return 0;
        long floats = name[0] == 'S' ? MaxStateVectors * (network.LayerSizes[l] + network.LayerSizes[l - 1] + 1L) : (long)network.LayerSizes[l] * network.LayerSizes[l - 1];
        return floats * sizeof(double) + Npz.MaxHeaderBytes + 12;
    }

    /// <summary>The most state variables of each shape a saved layer state may hold.</summary>
    private const int MaxStateVectors = 64;

    private static List<float[]> Matrices(string path, IReadOnlyDictionary<string, (float[] Data, int Rows, int Cols)> arrays, Mlp shape, string symbol)
    {
        var matrices = new List<float[]>();
        for (int l = 0; l < shape.LayerCount; l++)
        {
            string name = symbol + (l + 1);
            if (!arrays.ContainsKey(name))
            {
                throw new DataFileException(path, $"has no array {name} (expected {symbol}1…{symbol}{shape.LayerCount} for layers {string.Join(",", shape.LayerSizes)})");
            }

            matrices.Add(Matrix(path, arrays, name, shape.LayerSizes[l + 1], shape.LayerSizes[l], $"layer {l + 1}"));
        }

        return matrices;
    }

    /// <summary>Array <paramref name="name"/>, checked to be present, <paramref name="rows"/> × <paramref name="columns"/> and finite.</summary>
    private static float[] Matrix(string path, IReadOnlyDictionary<string, (float[] Data, int Rows, int Cols)> arrays, string name, int rows, int columns, string owner)
    {
        if (!arrays.TryGetValue(name, out var array)) throw new DataFileException(path, $"has no array {name} (needed by {owner})");
        if (array.Rows != rows || array.Cols != columns)
        {
            throw new DataFileException(path, $"array {name} has shape ({array.Rows}, {array.Cols}) but {owner} needs ({rows}, {columns})");
        }

        int bad = Array.FindIndex(array.Data, v => !float.IsFinite(v));
        if (bad >= 0)
        {
            throw new DataFileException(path, $"array {name} holds a non-finite value ({array.Data[bad]}) at ({bad / columns}, {bad % columns}); the weights cannot be used");
        }

        return array.Data;
    }
}
