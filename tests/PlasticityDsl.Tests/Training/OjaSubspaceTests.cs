using MathNet.Numerics.LinearAlgebra;
using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.Training;

public class OjaSubspaceTests
{
    /// <summary>
    /// Oja's setting: linear neurons y = W x on zero-mean Gaussian x with covariance C. The subspace rule should turn
    /// the rows of W into an orthonormal basis of the span of C's top eigenvectors.
    /// </summary>
    /// <remarks>
    /// Oja's rule is stochastic: at a constant rate η its rows fluctuate around the subspace with an amplitude of order
    /// √(η λ_i λ_j / (λ_i − λ_j)), about 0.1 in angle for λ_2 = 4, λ_3 = 3 and η = 0.002. A decaying rate
    /// η_s = η_0 / (1 + s/τ) (stochastic approximation) gets well below the tolerance in 60,000 cheap samples.
    /// </remarks>
    [Theory]
    [InlineData(17UL)]
    [InlineData(18UL)]
    [InlineData(19UL)]
    public void OjaRuleOnLinearNeuronsConvergesToThePrincipalSubspace(ulong seed)
    {
        const int dimension = 10, outputs = 2, samples = 60_000;
        double[] eigenvalues = [5, 4, 3, 1, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05];
        var random = new DeterministicRandom(seed);

        // A random orthonormal basis Q (QR of a Gaussian matrix) and covariance C = Q diag(λ) Qᵀ.
        var gaussian = Matrix<double>.Build.Dense(dimension, dimension, (_, _) => random.NextNormal());
        var q = gaussian.QR().Q;
        var covariance = q * Matrix<double>.Build.DenseOfDiagonalArray(eigenvalues) * q.Transpose();

        // The principal subspace from an independent eigen-decomposition of C.
        var evd = covariance.Evd(Symmetricity.Symmetric);
        int[] order = Enumerable.Range(0, dimension).OrderByDescending(i => evd.EigenValues[i].Real).ToArray();
        Assert.Equal(5, evd.EigenValues[order[0]].Real, 9);
        Assert.Equal(4, evd.EigenValues[order[1]].Real, 9);
        var top = Matrix<double>.Build.DenseOfColumnVectors(evd.EigenVectors.Column(order[0]), evd.EigenVectors.Column(order[1]));
        var trueProjection = top * top.Transpose();

        // x = Q diag(√λ) g with g ~ N(0, I) has covariance C; row-major float copy of the factor for a fast loop.
        var factor = q * Matrix<double>.Build.DenseOfDiagonalArray(eigenvalues.Select(Math.Sqrt).ToArray());
        var factorRows = new float[dimension * dimension];
        for (int i = 0; i < dimension; i++)
        {
            for (int j = 0; j < dimension; j++)
            {
                factorRows[i * dimension + j] = (float)factor[i, j];
            }
        }

        var w = new float[outputs * dimension];
        Initialization.Normal(w, 0.1, random);
        var g = new float[dimension];
        var x = new float[dimension];
        var y = new float[outputs];
        var scratch = new float[HandWrittenRules.Oja.ScratchLength(outputs, dimension)];
        var theta = new float[10];
        for (int s = 0; s < samples; s++)
        {
            for (int i = 0; i < dimension; i++)
            {
                g[i] = (float)random.NextNormal();
            }
            KernelPrimitives.MultiplyVector(factorRows, dimension, dimension, g, x);
            KernelPrimitives.MultiplyVector(w, outputs, dimension, x, y); // linear neurons: y = W x
            theta[2] = (float)(0.01 / (1 + s / 200.0));
            HandWrittenRules.Oja.Apply(new LayerSignals(w, outputs, dimension, y, x, y, default, default), theta, scratch);
        }

        var wm = Matrix<double>.Build.Dense(outputs, dimension, (i, j) => w[i * dimension + j]);
        double orthonormality = (wm * wm.Transpose() - Matrix<double>.Build.DenseIdentity(outputs)).FrobeniusNorm();
        Assert.True(orthonormality < 0.05, $"‖W Wᵀ − I‖_F = {orthonormality}");
        // The part of W's rows outside the principal subspace, relative to W: √(Σ sin² θ_k / 2) over the principal angles.
        double residual = (wm - wm * trueProjection).FrobeniusNorm() / wm.FrobeniusNorm();
        Assert.True(residual < 0.05, $"‖W (I − P_top2)‖_F / ‖W‖_F = {residual}");
    }
}
