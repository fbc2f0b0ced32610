using PlasticityDsl.Runtime.Data;

namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>
/// Draws episodes from a <see cref="ClassPool"/>. Episode <c>i</c> depends only on the pool, the shape, the seed and <c>i</c>
/// (not on which episodes were drawn before), so a run is reproducible from its seed and any episode can be redrawn alone.
/// </summary>
/// <remarks>
/// Per episode: M classes (distinct unless <see cref="EpisodeShape.ClassesWithReplacement"/>); for each, K + Q distinct images of
/// that class drawn fresh (the predecessor reused the same first 50 + 10 files every time); the M·K training images shuffled
/// into one online order; the Q query images per class kept apart from them.
/// </remarks>
public sealed class EpisodeSampler
{
    private readonly ClassPool _pool;
    private readonly EpisodeShape _shape;
    private readonly ulong _seed;

    /// <exception cref="ArgumentException">The shape is not positive, asks for more distinct classes than the pool has, or for more images than a class holds.</exception>
    public EpisodeSampler(ClassPool pool, EpisodeShape shape, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Classes < 1 || shape.TrainPerClass < 1 || shape.QueryPerClass < 1)
            throw new ArgumentException($"an episode needs at least one class, one training and one query image per class; got {shape}", nameof(shape));
        if (!shape.ClassesWithReplacement && shape.Classes > pool.ClassCount)
            throw new ArgumentException($"cannot draw {shape.Classes} distinct classes from a pool of {pool.ClassCount}", nameof(shape));
        // With replacement a class may fill every slot, so it must hold images for all of them.
        int slots = shape.ClassesWithReplacement ? shape.Classes : 1;
        for (int c = 0; c < pool.ClassCount; c++)
        {
            if (pool.ImageCount(c) < slots * (shape.TrainPerClass + shape.QueryPerClass))
                throw new ArgumentException($"class {pool.ClassName(c)} has {pool.ImageCount(c)} images; an episode may need {slots * (shape.TrainPerClass + shape.QueryPerClass)}", nameof(pool));
        }

        _pool = pool;
        _shape = shape;
        _seed = seed;
    }

    /// <summary>The classes and images episodes are drawn from.</summary>
    public ClassPool Pool => _pool;

    /// <summary>M, K, Q and how classes are drawn.</summary>
    public EpisodeShape Shape => _shape;

    /// <summary>The seed that, with an episode's index, determines the episode.</summary>
    public ulong Seed => _seed;

    /// <summary>Episode <paramref name="index"/> of this sampler's stream.</summary>
    public Episode Sample(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        // SplitMix64 of (seed, index) decorrelates neighbouring indices and seeds.
        ulong mix = _seed ^ (0xD1B54A32D192ED03UL * (ulong)(index + 1));
        var random = new DeterministicRandom(DeterministicRandom.SplitMix64(ref mix));
        ulong initSeed = random.NextUInt64();

        int m = _shape.Classes, k = _shape.TrainPerClass, q = _shape.QueryPerClass;
        int[] classes = DrawClasses(random);
        const int pixels = IdxReader.PixelsPerImage;
        var trainImages = new float[m * k * pixels];
        var trainLabels = new int[m * k];
        var queryImages = new float[m * q * pixels];
        var queryLabels = new int[m * q];

        // The training images first go in class order; a shuffled order then says where each is fed.
        var order = new int[m * k];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        random.Shuffle(order.AsSpan());
        var position = new int[order.Length];
        for (int i = 0; i < order.Length; i++) position[order[i]] = i;

        foreach (var group in classes.Select((c, slot) => (c, slot)).GroupBy(x => x.c))
        {
            int[] slots = group.Select(x => x.slot).ToArray();
            int[] picked = DrawImages(random, group.Key, slots.Length * (k + q));
            for (int s = 0; s < slots.Length; s++)
            {
                for (int j = 0; j < k; j++)
                {
                    int at = position[slots[s] * k + j];
                    _pool.Image(group.Key, picked[s * (k + q) + j]).CopyTo(trainImages.AsSpan(at * pixels, pixels));
                    trainLabels[at] = group.Key;
                }

                for (int j = 0; j < q; j++)
                {
                    int at = slots[s] * q + j;
                    _pool.Image(group.Key, picked[s * (k + q) + k + j]).CopyTo(queryImages.AsSpan(at * pixels, pixels));
                    queryLabels[at] = group.Key;
                }
            }
        }

        return new Episode(index, initSeed, _pool.ClassCount, classes, trainImages, trainLabels, queryImages, queryLabels);
    }

    private int[] DrawClasses(DeterministicRandom random)
    {
        if (_shape.ClassesWithReplacement)
            return Enumerable.Range(0, _shape.Classes).Select(_ => random.NextInt(_pool.ClassCount)).ToArray();
        int[] all = Enumerable.Range(0, _pool.ClassCount).ToArray();
        PartialShuffle(random, all, _shape.Classes);
        return all[.._shape.Classes];
    }

    /// <summary><paramref name="count"/> distinct image indices of a class, in random order.</summary>
    private int[] DrawImages(DeterministicRandom random, int classId, int count)
    {
        int[] all = Enumerable.Range(0, _pool.ImageCount(classId)).ToArray();
        PartialShuffle(random, all, count);
        return all[..count];
    }

    /// <summary>Fisher–Yates stopped after <paramref name="count"/> swaps: the first <paramref name="count"/> items are a uniform random draw without replacement.</summary>
    private static void PartialShuffle(DeterministicRandom random, int[] items, int count)
    {
        for (int i = 0; i < count; i++)
        {
            int j = i + random.NextInt(items.Length - i);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
