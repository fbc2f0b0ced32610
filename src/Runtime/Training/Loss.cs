using System.Numerics.Tensors;

namespace PlasticityDsl.Runtime;

/// <summary>The training loss of every network: softmax cross-entropy of the logits.</summary>
internal static class Loss
{
    /// <summary>−log softmax(logits)[label] = log Σ exp(z_i − max) + max − z[label], stable for any finite logits.</summary>
    public static float CrossEntropy(ReadOnlySpan<float> logits, int label)
    {
        float max = TensorPrimitives.Max(logits);
        double sum = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            sum += Math.Exp(logits[i] - max);
        }
        return (float)(Math.Log(sum) + max - logits[label]);
    }
}
