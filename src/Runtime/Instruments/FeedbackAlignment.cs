using System.Numerics;
using PlasticityDsl.Runtime.Data;

namespace PlasticityDsl.Runtime.Instruments;

/// <summary>
/// Angles in degrees between the errors carried down through feedback B and the true backprop errors, per layer.
/// </summary>
/// <param name="MeanAngle">The angle between e_l (through B) and e_l (through W) of each sample, averaged over the
/// samples where both are non-zero (NaN if there are none).</param>
/// <param name="AngleOfMeanErrors">The angle between the two errors averaged over the samples: what the predecessor's
/// code logged (the angle of batch-mean error vectors), for comparison with its plots.</param>
public sealed record FeedbackAlignmentProfile(LayerProfile MeanAngle, LayerProfile AngleOfMeanErrors)
{
    /// <summary>Both profiles as rows of a training log, taken after <paramref name="samples"/> training samples.</summary>
    public IEnumerable<LayerMeasurement> At(long samples) => MeanAngle.At(samples).Concat(AngleOfMeanErrors.At(samples));
}

/// <summary>
/// How well feedback alignment approximates backprop: per layer l = 0 … L − 1, the angle between the error propagated
/// with the feedback matrices, e_l = (B_(l+1)ᵀ e_(l+1)) ⊙ σ'(z_l), and the one backprop computes with W_(l+1)ᵀ, both
/// from the same output error e_L = softmax(z_L) − onehot(label) (hence no angle for layer L).
/// </summary>
/// <remarks>
/// Each error is carried down its own path all the way (the feedback error of layer l comes from the feedback error of
/// layer l + 1), so the angle at layer l shows the misalignment accumulated from the output down. e_0 = B_1ᵀ e_1 is
/// the error the rules' e_(l−1) terms see at the first layer (the input has no σ').
/// </remarks>
public static class FeedbackAlignment
{
    public const string MeanAngleQuantity = "feedback_angle";
    public const string AngleOfMeanErrorsQuantity = "feedback_angle_of_mean_errors";

    /// <summary>Angles for the probe samples in <paramref name="inputs"/> (n_0 values each) and their labels.</summary>
    /// <param name="feedback">B_1 … B_L, each of W_l's shape.</param>
    public static FeedbackAlignmentProfile Measure(Mlp network, IReadOnlyList<float[]> feedback, ReadOnlySpan<float> inputs, ReadOnlySpan<byte> labels)
    {
        ArgumentNullException.ThrowIfNull(feedback);
        int count = ProbeSignals.SampleCount(network, inputs, labels);
        if (feedback.Count == 0)
        {
            throw new ArgumentException("feedback alignment needs the feedback matrices B_1 … B_L.", nameof(feedback));
        }
        IReadOnlyList<float[]> backward = ProbeSignals.BackwardMatrices(network, feedback);

        int layers = network.LayerCount;
        var probe = new ProbeSignals(network);
        float[][] viaFeedback = probe.NewErrors(), viaWeights = probe.NewErrors();
        double[][] sumFeedback = viaFeedback.Select(e => new double[e.Length]).ToArray();
        double[][] sumWeights = viaWeights.Select(e => new double[e.Length]).ToArray();
        var angleSums = new double[layers];
        var angleCounts = new int[layers];
        for (int i = 0; i < count; i++)
        {
            probe.Forward(inputs.Slice(i * network.InputSize, network.InputSize));
            probe.ComputeErrors(labels[i], backward, viaFeedback);
            probe.ComputeErrors(labels[i], network.Weights, viaWeights);
            for (int l = 0; l < layers; l++)
            {
                double angle = AngleDegrees<float>(viaFeedback[l], viaWeights[l]);
                if (!double.IsNaN(angle))
                {
                    angleSums[l] += angle;
                    angleCounts[l]++;
                }
                for (int j = 0; j < viaFeedback[l].Length; j++)
                {
                    sumFeedback[l][j] += viaFeedback[l][j];
                    sumWeights[l][j] += viaWeights[l][j];
                }
            }
        }

        int[] layerNumbers = Enumerable.Range(0, layers).ToArray();
        return new FeedbackAlignmentProfile(
            new LayerProfile(MeanAngleQuantity, layerNumbers, layerNumbers.Select(l => angleCounts[l] > 0 ? angleSums[l] / angleCounts[l] : double.NaN).ToArray()),
            new LayerProfile(AngleOfMeanErrorsQuantity, layerNumbers, layerNumbers.Select(l => AngleDegrees<double>(sumFeedback[l], sumWeights[l])).ToArray()));
    }

    /// <summary>Angles for the images and labels of <paramref name="probe"/>.</summary>
    public static FeedbackAlignmentProfile Measure(Mlp network, IReadOnlyList<float[]> feedback, Dataset probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        return Measure(network, feedback, probe.Images, probe.Labels);
    }

    /// <summary>The angle between <paramref name="a"/> and <paramref name="b"/> in degrees, 0 … 180; NaN if either is zero.</summary>
    private static double AngleDegrees<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : INumberBase<T>
    {
        double dot = 0, aa = 0, bb = 0;
        for (int j = 0; j < a.Length; j++)
        {
            double x = double.CreateTruncating(a[j]), y = double.CreateTruncating(b[j]);
            dot += x * y;
            aa += x * x;
            bb += y * y;
        }
        if (aa == 0 || bb == 0)
        {
            return double.NaN;
        }
        // Round-off can push the cosine of (anti)parallel vectors just past ±1.
        return Math.Acos(Math.Clamp(dot / Math.Sqrt(aa * bb), -1, 1)) * (180 / Math.PI);
    }
}
