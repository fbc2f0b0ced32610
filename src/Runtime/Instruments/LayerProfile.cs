namespace PlasticityDsl.Runtime.Instruments;

/// <summary>
/// One per-layer quantity measured on a network: <c>Values[i]</c> belongs to layer <c>Layers[i]</c>
/// (layer l is y_l for activations, W_l for weights and their updates).
/// </summary>
/// <param name="Quantity">A snake_case name, e.g. <c>reconstruction_error</c>; it names the rows in exported files.</param>
public sealed record LayerProfile(string Quantity, int[] Layers, double[] Values)
{
    /// <summary>The value of layer <paramref name="layer"/>.</summary>
    public double this[int layer]
    {
        get
        {
            int index = Array.IndexOf(Layers, layer);
            if (index < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(layer), layer, $"{Quantity} has layers {string.Join(", ", Layers)}.");
            }
            return Values[index];
        }
    }

    /// <summary>The profile as rows of a training log, taken after <paramref name="samples"/> training samples.</summary>
    public IEnumerable<LayerMeasurement> At(long samples)
    {
        for (int i = 0; i < Layers.Length; i++)
        {
            yield return new LayerMeasurement(samples, Layers[i], Quantity, Values[i]);
        }
    }
}

/// <summary>
/// One row of an instrument log: the value of <paramref name="Quantity"/> at <paramref name="Layer"/> after
/// <paramref name="Samples"/> training samples. The common shape of every per-layer instrument, so that a run
/// tracked over training writes one CSV (<see cref="InstrumentFiles.WriteCsv(string, IEnumerable{LayerMeasurement})"/>)
/// or JSON file (<see cref="Reporting.ResultsWriter.WriteJson{T}"/> of a list of them) per figure.
/// </summary>
public sealed record LayerMeasurement(long Samples, int Layer, string Quantity, double Value);
