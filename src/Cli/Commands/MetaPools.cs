using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.MetaLearning;

namespace PlasticityDsl.Cli.Commands;

/// <summary>The MNIST + FashionMNIST class pools meta-learning draws episodes from (docs/metalearning.md, "Data").</summary>
internal sealed record MetaPools(ClassPool TrainingPool, ClassPool TestPool)
{
    public static MetaPools Load(string? mnistDirectory, string? fashionDirectory, Action<string> log)
    {
        (Dataset mnistTrain, Dataset mnistTest) = MnistData.Load(DataLocator.EnsureMnist(mnistDirectory, log, "--data"));
        (Dataset fashionTrain, Dataset fashionHeldOut) = FashionMnistData.Load(DataLocator.EnsureFashionMnist(fashionDirectory, log, "--fashion-data"));
        return new MetaPools(ClassPool.MetaTraining(mnistTrain, fashionTrain), ClassPool.MetaTest(mnistTest, fashionHeldOut));
    }

    /// <summary>Meta-test episodes are the same for every run and seed, so that runs are compared on the same held-out tasks.</summary>
    public const ulong MetaTestSeed = 0x7E57_0000_0000_0001UL;

    /// <summary>Runs one meta-training of <paramref name="rule"/> with its episodes drawn from <paramref name="seed"/>.</summary>
    public MetaTrainingResult Train(IDifferentiableRule rule, IReadOnlyList<int> layers, FeedbackMode feedback, MetaTrainerOptions options, ulong seed, Action<string>? progress)
    {
        var shape = new EpisodeShape();
        if (layers[^1] != TrainingPool.ClassCount)
        {
            throw new UsageException($"--layers: the output layer must have one unit per class of the pool ({TrainingPool.ClassCount}), not {layers[^1]}");
        }
        var objective = new MetaGradientObjective(rule, layers, Activation.Softplus, feedback, shape.QueryCount);
        var trainer = new MetaTrainer(objective, new EpisodeSampler(TrainingPool, shape, seed), new EpisodeSampler(TestPool, shape, MetaTestSeed), options);
        return trainer.Run(progress);
    }
}
