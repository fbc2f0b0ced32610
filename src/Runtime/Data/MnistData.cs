namespace PlasticityDsl.Runtime.Data;

/// <summary>The four standard MNIST files and the fixed train/validation split.</summary>
public static class MnistData
{
    public const string TrainImagesFile = "train-images-idx3-ubyte";
    public const string TrainLabelsFile = "train-labels-idx1-ubyte";
    public const string TestImagesFile = "t10k-images-idx3-ubyte";
    public const string TestLabelsFile = "t10k-labels-idx1-ubyte";

    /// <summary>The validation split is the last 10,000 training images; training uses the rest.</summary>
    public const int ValidationSize = 10000;

    /// <summary>The base names of the four files; each may also be stored with ".gz" appended.</summary>
    public static IReadOnlyList<string> FileNames { get; } = [TrainImagesFile, TrainLabelsFile, TestImagesFile, TestLabelsFile];

    /// <summary>Loads the training (60,000) and test (10,000) sets from <paramref name="directory"/>.</summary>
    public static (Dataset Train, Dataset Test) Load(string directory)
    {
        Dataset train = IdxReader.ReadDataset(Require(directory, TrainImagesFile), Require(directory, TrainLabelsFile));
        Dataset test = IdxReader.ReadDataset(Require(directory, TestImagesFile), Require(directory, TestLabelsFile));
        return (train, test);
    }

    /// <summary>All training images except the last <see cref="ValidationSize"/>.</summary>
    public static Dataset TrainingSplit(Dataset train) => TrainingSplit(train, ValidationSize);

    /// <summary>The last <see cref="ValidationSize"/> training images.</summary>
    public static Dataset ValidationSplit(Dataset train) => ValidationSplit(train, ValidationSize);

    // The overloads let tests check the split on a few images instead of 10,000.
    internal static Dataset TrainingSplit(Dataset train, int validationSize) => train.Slice(0, SplitPoint(train, validationSize));

    internal static Dataset ValidationSplit(Dataset train, int validationSize) =>
        train.Slice(SplitPoint(train, validationSize), validationSize);

    /// <summary>The path of <paramref name="baseName"/> in <paramref name="directory"/>, raw preferred over ".gz"; null if neither exists.</summary>
    public static string? Find(string directory, string baseName)
    {
        string raw = Path.Combine(directory, baseName);
        if (File.Exists(raw)) return raw;
        string gz = raw + ".gz";
        return File.Exists(gz) ? gz : null;
    }

    private static string Require(string directory, string baseName) =>
        Find(directory, baseName)
        ?? throw new DataFileException(Path.Combine(directory, baseName), "file not found (neither raw nor .gz)");

    private static int SplitPoint(Dataset train, int validationSize)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Count <= validationSize)
            throw new ArgumentException($"a training set of {train.Count} images cannot spare {validationSize} for validation.", nameof(train));
        return train.Count - validationSize;
    }
}
