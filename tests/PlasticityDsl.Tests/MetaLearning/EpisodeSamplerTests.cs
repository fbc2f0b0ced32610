using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.MetaLearning;
using Xunit;

namespace PlasticityDsl.Tests.MetaLearning;

public sealed class EpisodeSamplerTests
{
    /// <summary>A 10-class data set whose image i of class c has every pixel equal to the tag source·1000 + c·100 + i (so images are identifiable).</summary>
    internal static Dataset Tagged(int source, int perClass)
    {
        var labels = new byte[10 * perClass];
        var pixels = new float[labels.Length * 784];
        for (int c = 0; c < 10; c++)
        {
            for (int i = 0; i < perClass; i++)
            {
                int at = i * 10 + c; // interleaved, as real data sets are
                labels[at] = (byte)c;
                pixels.AsSpan(at * 784, 784).Fill(source * 1000 + c * 100 + i);
            }
        }

        return new Dataset(pixels, labels);
    }

    internal static ClassPool Pool(int perClass = 30) => new([("a", Tagged(0, perClass)), ("b", Tagged(1, perClass))]);

    private static int ClassOf(float tag) => (int)tag / 1000 * 10 + (int)tag % 1000 / 100;

    [Fact]
    public void Pool_numbers_the_second_data_set_after_the_first()
    {
        ClassPool pool = Pool();
        Assert.Equal(20, pool.ClassCount);
        Assert.Equal("b:3", pool.ClassName(13));
        Assert.Equal(30, pool.ImageCount(13));
        Assert.Equal(1000 + 300 + 7, pool.Image(13, 7)[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.ImageCount(20));
    }

    [Fact]
    public void An_episode_has_M_distinct_classes_K_shuffled_training_and_Q_disjoint_query_images_each()
    {
        var sampler = new EpisodeSampler(Pool(), new EpisodeShape(Classes: 5, TrainPerClass: 4, QueryPerClass: 2), seed: 7);
        Episode episode = sampler.Sample(3);

        Assert.Equal(20, episode.OutputWidth);
        Assert.Equal(5, episode.Classes.Distinct().Count());
        Assert.Equal(20, episode.TrainCount);
        Assert.Equal(10, episode.QueryCount);
        var trainTags = Enumerable.Range(0, episode.TrainCount).Select(i => episode.TrainImage(i)[0]).ToList();
        var queryTags = Enumerable.Range(0, episode.QueryCount).Select(i => episode.QueryImage(i)[0]).ToList();
        // Labels are the pool's class ids and agree with the images.
        Assert.Equal(trainTags.Select(ClassOf), episode.TrainLabels);
        Assert.Equal(queryTags.Select(ClassOf), episode.QueryLabels);
        foreach (int c in episode.Classes)
        {
            Assert.Equal(4, episode.TrainLabels.Count(l => l == c));
            Assert.Equal(2, episode.QueryLabels.Count(l => l == c));
        }

        Assert.Equal(30, trainTags.Concat(queryTags).Distinct().Count());
        // Shuffled: the training images are not grouped by class.
        Assert.NotEqual(episode.TrainLabels.Order(), episode.TrainLabels);
    }

    [Fact]
    public void Episodes_depend_only_on_seed_and_index()
    {
        var shape = new EpisodeShape(Classes: 3, TrainPerClass: 5, QueryPerClass: 2);
        var a = new EpisodeSampler(Pool(), shape, seed: 11);
        var b = new EpisodeSampler(Pool(), shape, seed: 11);
        Episode later = a.Sample(9);
        Episode first = b.Sample(9); // drawn without episodes 0..8 before it

        Assert.Equal(first.InitSeed, later.InitSeed);
        Assert.Equal(first.TrainImages, later.TrainImages);
        Assert.Equal(first.QueryLabels, later.QueryLabels);
        Assert.NotEqual(a.Sample(10).InitSeed, later.InitSeed);
        Assert.NotEqual(new EpisodeSampler(Pool(), shape, seed: 12).Sample(9).TrainImages, later.TrainImages);
    }

    [Fact]
    public void With_replacement_a_repeated_class_still_gets_distinct_images()
    {
        var sampler = new EpisodeSampler(Pool(perClass: 60), new EpisodeShape(Classes: 5, TrainPerClass: 8, QueryPerClass: 2, ClassesWithReplacement: true), seed: 1);
        Episode? repeated = Enumerable.Range(0, 200).Select(sampler.Sample).FirstOrDefault(e => e.Classes.Distinct().Count() < 5);
        Assert.NotNull(repeated);
        var tags = Enumerable.Range(0, repeated.TrainCount).Select(i => repeated.TrainImage(i)[0])
            .Concat(Enumerable.Range(0, repeated.QueryCount).Select(i => repeated.QueryImage(i)[0]));
        Assert.Equal(50, tags.Distinct().Count());
    }

    [Fact]
    public void Impossible_shapes_are_refused_up_front()
    {
        Assert.Throws<ArgumentException>(() => new EpisodeSampler(Pool(), new EpisodeShape(Classes: 21), seed: 0));
        Assert.Throws<ArgumentException>(() => new EpisodeSampler(Pool(perClass: 30), new EpisodeShape(TrainPerClass: 25, QueryPerClass: 10), seed: 0));
        Assert.Throws<ArgumentException>(() => new EpisodeSampler(Pool(), new EpisodeShape(QueryPerClass: 0), seed: 0));
    }

    [Fact]
    public void Meta_training_pool_leaves_out_MNIST_validation_images()
    {
        var mnist = new Dataset(new float[60_000 * 784], Enumerable.Range(0, 60_000).Select(i => (byte)(i % 10)).ToArray());
        ClassPool pool = ClassPool.MetaTraining(mnist, Tagged(1, 3));
        Assert.Equal(5_000, pool.ImageCount(0));
        Assert.Equal(3, pool.ImageCount(19));
    }
}
