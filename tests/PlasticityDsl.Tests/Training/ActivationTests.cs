using System.Numerics;
using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.Training;

public class ActivationTests
{
    private static double Reference(string name, double z) => name switch
    {
        "softplus" => z > 0 ? z + Math.Log(1 + Math.Exp(-10 * z)) / 10 : Math.Log(1 + Math.Exp(10 * z)) / 10,
        "relu" => Math.Max(z, 0),
        "tanh" => Math.Tanh(z),
        _ => z > 0 ? z : Math.Exp(z) - 1,
    };

    private static double ReferenceDerivative(string name, double z) => name switch
    {
        "softplus" => 1 / (1 + Math.Exp(-10 * z)),
        "relu" => z > 0 ? 1 : 0,
        "tanh" => 1 - Math.Tanh(z) * Math.Tanh(z),
        _ => z > 0 ? 1 : Math.Exp(z),
    };

    // 37 values: exercises both the SIMD body and the scalar tail, and extreme arguments.
    private static float[] Arguments()
    {
        var z = new float[37];
        for (int i = 0; i < z.Length; i++)
        {
            z[i] = -3f + 6f * i / (z.Length - 1);
        }
        z[0] = -200f;
        z[1] = 200f;
        z[2] = -1e30f;
        z[3] = 1e30f;
        z[35] = 150f;
        z[36] = -90f;
        return z;
    }

    [Theory]
    [InlineData("softplus")]
    [InlineData("relu")]
    [InlineData("tanh")]
    [InlineData("elu")]
    public void SpanAndScalarMatchTheDoublePrecisionDefinition(string name)
    {
        var activation = Activation.Parse(name);
        float[] z = Arguments();
        var y = new float[z.Length];
        var d = new float[z.Length];
        activation.Apply(z, y);
        activation.Derivative(z, d);
        for (int i = 0; i < z.Length; i++)
        {
            double expected = Reference(name, z[i]);
            double expectedDerivative = ReferenceDerivative(name, z[i]);
            Assert.True(float.IsFinite(y[i]), $"{name}({z[i]}) = {y[i]}");
            Assert.True(Math.Abs(y[i] - expected) <= 2e-6 * Math.Max(1, Math.Abs(expected)), $"{name}({z[i]}): expected {expected}, got {y[i]}");
            Assert.True(Math.Abs(d[i] - expectedDerivative) <= 2e-6, $"{name}'({z[i]}): expected {expectedDerivative}, got {d[i]}");
            Assert.True(Math.Abs(activation.Apply(z[i]) - expected) <= 2e-6 * Math.Max(1, Math.Abs(expected)), $"scalar {name}({z[i]})");
            Assert.True(Math.Abs(activation.Derivative(z[i]) - expectedDerivative) <= 2e-6, $"scalar {name}'({z[i]})");
        }
    }

    [Fact]
    public void SoftplusUsesBetaTenAndItsDerivativeIsSigmoidOfBetaZ()
    {
        Assert.Equal(10f, Activation.Softplus.Beta);
        Assert.Equal(Math.Log(2) / 10, Activation.Softplus.Apply(0f), 1e-7);
        Assert.Equal(0.5f, Activation.Softplus.Derivative(0f));
        var soft = Activation.SoftplusWithBeta(1f);
        Assert.Equal(Math.Log(1 + Math.E), soft.Apply(1f), 1e-6);
        Assert.Equal("softplus(β=1)", soft.ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() => Activation.SoftplusWithBeta(0f));
    }

    [Fact]
    public void ApplyInPlaceAndPropagatesNaN()
    {
        foreach (var name in Activation.Names)
        {
            var activation = Activation.Parse(name);
            float[] z = Arguments();
            z[20] = float.NaN;
            float[] expected = new float[z.Length];
            activation.Apply(z, expected);
            activation.Apply(z, z);
            Assert.Equal(expected, z);
            Assert.True(float.IsNaN(z[20]), $"{name} hides NaN");
            float[] d = Arguments();
            d[20] = float.NaN;
            activation.Derivative(d, d);
            Assert.True(float.IsNaN(d[20]), $"{name}' hides NaN");
        }
    }

    // Softplus over a span runs 16 values at a time in Vector512 where the machine has it. Training, evaluation and the
    // figures computed each element with Vector<float>'s Exp and Log (and the scalar form for the last n mod
    // Vector<float>.Count): every element must keep those bits. A sweep of all 2^32 float bit patterns (NaN and ±∞
    // among them) in spans whose lengths leave a Vector<float> remainder and a scalar tail.
    [Theory]
    [InlineData(10f)]
    [InlineData(0.7f)]
    public void SoftplusSpanGivesEveryElementTheBitsOfTheVectorForm(float beta)
    {
        const long Stride = 4099; // ≈ 1 million bit patterns (run with 1 once: all 2^32 agreed for both β)
        const int Span = 4096 + 8 + 5;
        var activation = Activation.SoftplusWithBeta(beta);
        var z = new float[Span];
        var y = new float[Span];
        var expected = new float[Span];
        for (long first = 0; first < 1L << 32; first += Span * Stride)
        {
            for (int i = 0; i < Span; i++) z[i] = BitConverter.UInt32BitsToSingle((uint)((first + i * Stride) & uint.MaxValue));
            activation.Apply(z, y);
            VectorForm(z, expected, beta);
            for (int i = 0; i < Span; i++)
            {
                if (BitConverter.SingleToUInt32Bits(y[i]) != BitConverter.SingleToUInt32Bits(expected[i]))
                {
                    Assert.Fail($"softplus(β={beta}) of {z[i]:R} (bits {BitConverter.SingleToUInt32Bits(z[i]):X8}) at {i}: {y[i]:R}, the Vector<float> form gives {expected[i]:R}");
                }
            }
        }
    }

    // Where 1 + exp(−β|z|) lies just above 1, SoftplusSpan takes the log from a table instead of Log (whose slow path is
    // there). Every z whose log argument is 1 + k·2⁻²³ for k up to 300 (past the table's end), with its neighbours, of both
    // signs; in a span alone, mixed lane by lane with z whose argument is far from 1 (so that vectors hold both kinds), and
    // in pieces too short for Vector512 (Vector<float> and the scalar form only).
    [Theory]
    [InlineData(10f)]
    [InlineData(0.7f)]
    [InlineData(3f)]
    public void SoftplusSpanKeepsTheBitsWhereTheLogIsTabulated(float beta)
    {
        var nearOne = new List<float>();
        for (int k = 1; k <= 300; k++)
        {
            float z = (float)(-Math.Log(k * Math.Pow(2, -23)) / beta);
            for (int step = -3; step <= 3; step++)
            {
                float neighbour = z;
                for (int s = 0; s < Math.Abs(step); s++) neighbour = step > 0 ? MathF.BitIncrement(neighbour) : MathF.BitDecrement(neighbour);
                nearOne.Add(neighbour);
                nearOne.Add(-neighbour);
            }
        }
        var mixed = new float[2 * nearOne.Count];
        for (int i = 0; i < nearOne.Count; i++)
        {
            mixed[2 * i] = nearOne[i];
            mixed[2 * i + 1] = (i % 7 - 3) * 0.01f / beta; // log argument in [1.9, 2]
        }
        var activation = Activation.SoftplusWithBeta(beta);
        int shortPiece = Vector<float>.Count + 5;
        var spans = new List<float[]> { nearOne.ToArray(), mixed };
        for (int first = 0; first + shortPiece <= nearOne.Count; first += shortPiece) spans.Add(nearOne.GetRange(first, shortPiece).ToArray());
        foreach (float[] z in spans)
        {
            var y = new float[z.Length];
            var expected = new float[z.Length];
            activation.Apply(z, y);
            VectorForm(z, expected, beta);
            for (int i = 0; i < z.Length; i++)
            {
                Assert.True(BitConverter.SingleToUInt32Bits(y[i]) == BitConverter.SingleToUInt32Bits(expected[i]),
                    $"softplus(β={beta}) of {z[i]:R} at {i} of {z.Length}: {y[i]:R}, the Vector<float> form gives {expected[i]:R}");
            }
        }
    }

    // Softplus as Activation computed it before Vector512: Vector<float> over the whole vectors, then the scalar form.
    private static void VectorForm(float[] z, float[] y, float beta)
    {
        int whole = z.Length - z.Length % Vector<float>.Count;
        for (int i = 0; i < whole; i += Vector<float>.Count)
        {
            var v = new Vector<float>(z, i);
            var t = Vector.Exp(new Vector<float>(-beta) * Vector.Abs(v));
            (Vector.Max(v, Vector<float>.Zero)
                + Vector.Log(Vector<float>.One + t) * new Vector<float>(1f / beta)).CopyTo(y, i);
        }
        for (int i = whole; i < z.Length; i++) y[i] = MathF.Max(z[i], 0f) + MathF.Log(1f + MathF.Exp(-beta * MathF.Abs(z[i]))) / beta;
    }

    [Fact]
    public void ParsesNamesAndListsValidOnesOnError()
    {
        Assert.Same(Activation.Relu, Activation.Parse("relu"));
        Assert.Same(Activation.Tanh, Activation.Parse(" TANH "));
        Assert.Same(Activation.Elu, Activation.Parse("elu"));
        Assert.Equal(Activation.Softplus, Activation.Parse("softplus"));
        var error = Assert.Throws<FormatException>(() => Activation.Parse("sigmoid"));
        Assert.Contains("'sigmoid'", error.Message);
        Assert.Contains("softplus, relu, tanh, elu", error.Message);
        Assert.False(Activation.TryParse(null, out _));
        Assert.Throws<ArgumentException>(() => Activation.Relu.Apply(new float[3], new float[2]));
        var buffer = new float[4];
        Assert.Throws<ArgumentException>(() => Activation.Relu.Apply(buffer.AsSpan(0, 3), buffer.AsSpan(1, 3)));
    }
}
