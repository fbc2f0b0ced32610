namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>How an episode is drawn (docs/metalearning.md); the defaults are the predecessor's M = 5, K = 50, Q = 10.</summary>
/// <param name="Classes">M: classes per episode.</param>
/// <param name="TrainPerClass">K: training images per class, so M·K online updates.</param>
/// <param name="QueryPerClass">Q: query images per class, disjoint from the training images.</param>
/// <param name="ClassesWithReplacement">
/// Whether a class may be drawn twice in one episode, as the predecessor did. Off by default: from a 20-class pool, 5 draws with
/// replacement repeat a class in 42 % of episodes, which then hold fewer distinct classes.
/// </param>
public sealed record EpisodeShape(int Classes = 5, int TrainPerClass = 50, int QueryPerClass = 10, bool ClassesWithReplacement = false)
{
    /// <summary>Online updates per episode, M·K (250 by default).</summary>
    public int TrainCount => Classes * TrainPerClass;

    /// <summary>Query images per episode, M·Q (50 by default).</summary>
    public int QueryCount => Classes * QueryPerClass;
}

/// <summary>
/// One meta-learning episode: a fresh network (drawn from <see cref="InitSeed"/>) learns online from <see cref="TrainCount"/>
/// images in the given order, then is scored on the query images. Labels are pool class ids (0..<see cref="OutputWidth"/>−1),
/// so the output layer is as wide as the pool, as in the predecessor.
/// </summary>
public sealed class Episode
{
    internal Episode(int index, ulong initSeed, int outputWidth, int[] classes, float[] trainImages, int[] trainLabels, float[] queryImages, int[] queryLabels)
    {
        Index = index;
        InitSeed = initSeed;
        OutputWidth = outputWidth;
        Classes = classes;
        TrainImages = trainImages;
        TrainLabels = trainLabels;
        QueryImages = queryImages;
        QueryLabels = queryLabels;
    }

    /// <summary>The index the sampler drew it for.</summary>
    public int Index { get; }

    /// <summary>Seeds the episode's fresh Xavier W (and B for feedback alignment), so a re-evaluation with another θ starts from the same network.</summary>
    public ulong InitSeed { get; }

    /// <summary>Classes of the pool, and so units of the output layer.</summary>
    public int OutputWidth { get; }

    /// <summary>The M pool classes drawn, in draw order (a class repeats only with <see cref="EpisodeShape.ClassesWithReplacement"/>).</summary>
    public IReadOnlyList<int> Classes { get; }

    /// <summary>The training images, image after image (784 floats each, in [0, 1]), in the order of the online updates.</summary>
    public float[] TrainImages { get; }

    /// <summary>The pool class of each training image.</summary>
    public int[] TrainLabels { get; }

    /// <summary>The query images, class after class.</summary>
    public float[] QueryImages { get; }

    /// <summary>The pool class of each query image.</summary>
    public int[] QueryLabels { get; }

    /// <summary>Online updates in the episode (M·K).</summary>
    public int TrainCount => TrainLabels.Length;

    /// <summary>Query images (M·Q).</summary>
    public int QueryCount => QueryLabels.Length;

    /// <summary>The <paramref name="i"/>-th training image, in online order.</summary>
    public ReadOnlySpan<float> TrainImage(int i) => TrainImages.AsSpan(Offset(i, TrainCount), Data.IdxReader.PixelsPerImage);

    /// <summary>The <paramref name="i"/>-th query image.</summary>
    public ReadOnlySpan<float> QueryImage(int i) => QueryImages.AsSpan(Offset(i, QueryCount), Data.IdxReader.PixelsPerImage);

    private static int Offset(int i, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(i);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(i, count);
        return i * Data.IdxReader.PixelsPerImage;
    }
}
