using PlasticityDsl.Runtime.Data;

namespace PlasticityDsl.Runtime.Experiments;

/// <summary>Network weights as numpy .npz archives: arrays W1…WL, float32, shape n_l × n_(l-1).</summary>
public static class WeightFiles
{
    public static void Write(string path, Mlp network)
    {
        var arrays = new List<(string, float[], int, int)>();
        for (int l = 0; l < network.LayerCount; l++)
        {
            arrays.Add(("W" + (l + 1), network.Weights[l], network.LayerSizes[l + 1], network.LayerSizes[l]));
        }

        Npz.Write(path, arrays);
    }

    /// <summary>Reads W1…WL for <paramref name="shape"/>'s layer sizes; a missing array or a wrong shape is a
    /// <see cref="DataFileException"/> naming the array.</summary>
    public static IReadOnlyList<float[]> Read(string path, Mlp shape)
    {
        IReadOnlyDictionary<string, (float[] Data, int Rows, int Cols)> arrays = Npz.Read(path);
        var weights = new List<float[]>();
        for (int l = 0; l < shape.LayerCount; l++)
        {
            string name = "W" + (l + 1);
            int rows = shape.LayerSizes[l + 1], columns = shape.LayerSizes[l];
            if (!arrays.TryGetValue(name, out var array))
            {
                throw new DataFileException(path, $"has no array {name} (expected W1…W{shape.LayerCount} for layers {string.Join(",", shape.LayerSizes)})");
            }

            if (array.Rows != rows || array.Cols != columns)
            {
                throw new DataFileException(path, $"array {name} has shape ({array.Rows}, {array.Cols}) but layer {l + 1} needs ({rows}, {columns})");
            }

            weights.Add(array.Data);
        }

        return weights;
    }
}
