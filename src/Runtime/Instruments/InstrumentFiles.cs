using PlasticityDsl.Runtime.Reporting;

namespace PlasticityDsl.Runtime.Instruments;

/// <summary>
/// CSV files of instrument results, written through <see cref="ResultsWriter"/> (invariant culture, atomic). For JSON,
/// pass the records themselves to <see cref="ResultsWriter.WriteJson{T}"/>: their properties come out in snake_case.
/// </summary>
internal static class InstrumentFiles
{
    /// <summary>The columns of <see cref="WriteCsv(string, IEnumerable{LayerMeasurement})"/>.</summary>
    public static IReadOnlyList<string> MeasurementHeader { get; } = ["samples", "layer", "quantity", "value"];

    /// <summary>The columns of <see cref="WriteCsv(string, IEnumerable{ExplainedVarianceCurve})"/>.</summary>
    public static IReadOnlyList<string> ExplainedVarianceHeader { get; } = ["layer", "components", "variance", "cumulative_fraction"];

    /// <summary>One row per measurement: samples, layer, quantity, value.</summary>
    public static void WriteCsv(string path, IEnumerable<LayerMeasurement> measurements)
    {
        ArgumentNullException.ThrowIfNull(measurements);
        ResultsWriter.WriteCsv(path, MeasurementHeader,
            measurements.Select(m => (IReadOnlyList<object>)[m.Samples, m.Layer, m.Quantity, m.Value]));
    }

    /// <summary>One row per layer and number of components k: layer, k, the k-th variance, the fraction the first k explain.</summary>
    public static void WriteCsv(string path, IEnumerable<ExplainedVarianceCurve> curves)
    {
        ArgumentNullException.ThrowIfNull(curves);
        ResultsWriter.WriteCsv(path, ExplainedVarianceHeader,
            curves.SelectMany(c => c.Variances.Select((variance, k) => (IReadOnlyList<object>)[c.Layer, k + 1, variance, c.CumulativeFraction[k]])));
    }
}
