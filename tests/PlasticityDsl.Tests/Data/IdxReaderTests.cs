using PlasticityDsl.Runtime.Data;
using Xunit;

namespace PlasticityDsl.Tests.Data;

public sealed class IdxReaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ImagesAndLabelsRoundTrip(bool gzip)
    {
        byte[] imageBytes = IdxFiles.ImageBytes(3);
        byte[] labels = [7, 0, 9];
        string images = Write("images", imageBytes, gzip);
        string labelFile = Write("labels", IdxFiles.LabelBytes(labels), gzip);

        Dataset data = IdxReader.ReadDataset(images, labelFile);

        Assert.Equal(3, data.Count);
        Assert.Equal(3 * IdxFiles.Pixels, data.Images.Length);
        for (int i = 0; i < data.Images.Length; i++)
            Assert.Equal(imageBytes[16 + i] / 255f, data.Images[i]);
        Assert.Equal(labels, data.Labels);
    }

    [Fact]
    public void GzipIsDetectedByContentNotExtension()
    {
        string path = _dir.File("images-without-extension");
        File.WriteAllBytes(path, IdxFiles.Gzip(IdxFiles.ImageBytes(2)));

        Assert.Equal(2 * IdxFiles.Pixels, IdxReader.ReadImages(path).Length);
    }

    [Fact]
    public void MissingFileNamesThePath()
    {
        string path = _dir.File("nope-idx3-ubyte");
        var e = Assert.Throws<DataFileException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not found", e.Message);
        Assert.Equal(path, e.FilePath);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedImagesSayExpectedAndAvailableBytes(bool gzip)
    {
        byte[] full = IdxFiles.ImageBytes(2);
        string path = Write("images", full[..^10], gzip);

        var e = Assert.Throws<DataFileException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, e.Message);
        Assert.Contains($"truncated: expected {full.Length} bytes, found {full.Length - 10}", e.Message);
    }

    [Fact]
    public void TruncatedGzipStreamIsADataFileException()
    {
        byte[] gz = IdxFiles.Gzip(IdxFiles.ImageBytes(4));
        string path = _dir.File("images");
        File.WriteAllBytes(path, gz[..(gz.Length / 2)]);

        var e = Assert.Throws<DataFileException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void EmptyFileIsTruncated()
    {
        string path = Write("labels", [], gzip: false);
        var e = Assert.Throws<DataFileException>(() => IdxReader.ReadLabels(path));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void WrongMagicSaysExpectedAndFound()
    {
        string path = Write("labels", IdxFiles.LabelBytes([1, 2]), gzip: false);

        var e = Assert.Throws<DataFileException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("expected 0x00000803, found 0x00000801", e.Message);
    }

    [Fact]
    public void WrongImageSizeIsRejected()
    {
        string path = Write("images", IdxFiles.ImageBytes(1, rows: 20, cols: 20), gzip: false);
        var e = Assert.Throws<DataFileException>(() => IdxReader.ReadImages(path));
        Assert.Contains("expected 28x28 images, found 20x20", e.Message);
    }

    [Fact]
    public void LabelOutOfRangeIsRejected()
    {
        string path = Write("labels", IdxFiles.LabelBytes([3, 12, 4]), gzip: false);

        var e = Assert.Throws<DataFileException>(() => IdxReader.ReadLabels(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("label at index 1 is 12", e.Message);
    }

    [Fact]
    public void CountMismatchNamesBothFiles()
    {
        string images = Write("images", IdxFiles.ImageBytes(3), gzip: false);
        string labels = Write("labels", IdxFiles.LabelBytes(IdxFiles.Labels(4)), gzip: false);

        var e = Assert.Throws<DataFileException>(() => IdxReader.ReadDataset(images, labels));
        Assert.Contains(images, e.Message);
        Assert.Contains(labels, e.Message);
        Assert.Contains("4 labels", e.Message);
        Assert.Contains("3 images", e.Message);
    }

    private string Write(string name, byte[] raw, bool gzip)
    {
        string path = _dir.File(gzip ? name + ".gz" : name);
        File.WriteAllBytes(path, gzip ? IdxFiles.Gzip(raw) : raw);
        return path;
    }
}
