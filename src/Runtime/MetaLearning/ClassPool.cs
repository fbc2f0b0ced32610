using PlasticityDsl.Runtime.Data;

namespace PlasticityDsl.Runtime.MetaLearning;

/// <summary>
/// The classes meta-learning draws its episodes from: several 10-class data sets side by side, data set s contributing
/// the pool's classes 10s … 10s+9. Meta-learning's 20-class pool is MNIST digits 0–9 (classes 0–9) and FashionMNIST
/// items 0–9 (classes 10–19); see <see cref="MetaTraining"/> and <see cref="MetaTest"/>, and docs/metalearning.md.
/// </summary>
public sealed class ClassPool
{
    private readonly Dataset[] _sources;
    private readonly string[] _names;
    private readonly int[][] _indices; // per pool class: the images of that class, as indices into its source

    /// <param name="sources">Named data sets, each labelled 0..9; the first supplies classes 0–9, the next 10–19, and so on.</param>
    /// <exception cref="ArgumentException">No source, or a source lacks images of one of its ten classes.</exception>
    public ClassPool(IReadOnlyList<(string Name, Dataset Images)> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        if (sources.Count == 0) throw new ArgumentException("A class pool needs at least one data set.", nameof(sources));
        _sources = sources.Select(s => s.Images ?? throw new ArgumentException($"data set `{s.Name}` is null", nameof(sources))).ToArray();
        _names = sources.Select(s => s.Name).ToArray();
        _indices = new int[sources.Count * IdxReader.ClassCount][];
        for (int s = 0; s < _sources.Length; s++)
        {
            var perClass = Enumerable.Range(0, IdxReader.ClassCount).Select(_ => new List<int>()).ToArray();
            byte[] labels = _sources[s].Labels;
            for (int i = 0; i < labels.Length; i++) perClass[labels[i]].Add(i);
            for (int label = 0; label < IdxReader.ClassCount; label++)
            {
                if (perClass[label].Count == 0) throw new ArgumentException($"data set `{_names[s]}` has no image of class {label}.", nameof(sources));
                _indices[s * IdxReader.ClassCount + label] = perClass[label].ToArray();
            }
        }
    }

    /// <summary>The meta-training pool: MNIST's training split (the first 50,000 training images, as <see cref="MnistData.TrainingSplit(Dataset)"/>) and FashionMNIST's training part.</summary>
    /// <param name="mnistTrain">All 60,000 MNIST training images; the last 10,000 (validation) are left out.</param>
    /// <param name="fashionTrain">The training part of <see cref="FashionMnistData.Load(string)"/>.</param>
    public static ClassPool MetaTraining(Dataset mnistTrain, Dataset fashionTrain) =>
        new([("mnist", MnistData.TrainingSplit(mnistTrain)), ("fashion-mnist", fashionTrain)]);

    /// <summary>The meta-test pool: the MNIST test set and FashionMNIST's held-out part, images no meta-training episode sees.</summary>
    public static ClassPool MetaTest(Dataset mnistTest, Dataset fashionHeldOut) =>
        new([("mnist", mnistTest), ("fashion-mnist", fashionHeldOut)]);

    /// <summary>Classes in the pool, and so the width of the network's output layer (20 for MNIST + FashionMNIST).</summary>
    public int ClassCount => _indices.Length;

    /// <summary>"mnist:3", "fashion-mnist:7": the data set and its own label behind pool class <paramref name="classId"/>.</summary>
    public string ClassName(int classId) => $"{_names[Source(classId)]}:{classId % IdxReader.ClassCount}";

    /// <summary>Images of pool class <paramref name="classId"/>.</summary>
    public int ImageCount(int classId) => _indices[CheckClass(classId)].Length;

    /// <summary>Image <paramref name="i"/> (0 ≤ i &lt; <see cref="ImageCount"/>) of pool class <paramref name="classId"/>, in its data set's order.</summary>
    public ReadOnlySpan<float> Image(int classId, int i) => _sources[Source(classId)].Image(_indices[classId][i]);

    private int Source(int classId) => CheckClass(classId) / IdxReader.ClassCount;

    private int CheckClass(int classId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(classId);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(classId, ClassCount);
        return classId;
    }
}
