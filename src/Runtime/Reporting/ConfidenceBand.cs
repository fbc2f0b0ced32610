namespace PlasticityDsl.Runtime.Reporting;

/// <summary>
/// A curve's pointwise mean with the lower and upper edges of its confidence interval; all three arrays have the same length.
/// </summary>
public sealed record ConfidenceBand(double[] Mean, double[] Lower, double[] Upper);
