using PlasticityDsl.Runtime.Data;
using Xunit;

namespace PlasticityDsl.Tests.Data;

public sealed class MnistDataTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void LoadsTheFourFilesRawOrGzipped()
    {
        File.WriteAllBytes(_dir.File(MnistData.TrainImagesFile), IdxFiles.ImageBytes(12));
        File.WriteAllBytes(_dir.File(MnistData.TrainLabelsFile + ".gz"), IdxFiles.Gzip(IdxFiles.LabelBytes(IdxFiles.Labels(12))));
        File.WriteAllBytes(_dir.File(MnistData.TestImagesFile + ".gz"), IdxFiles.Gzip(IdxFiles.ImageBytes(5)));
        File.WriteAllBytes(_dir.File(MnistData.TestLabelsFile), IdxFiles.LabelBytes(IdxFiles.Labels(5)));

        var (train, test) = MnistData.Load(_dir.Path);

        Assert.Equal(12, train.Count);
        Assert.Equal(5, test.Count);
        Assert.Equal(784, train.PixelCount);
        Assert.Equal(IdxFiles.Labels(12), train.Labels);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        File.WriteAllBytes(_dir.File(MnistData.TrainImagesFile), IdxFiles.ImageBytes(1));

        var e = Assert.Throws<DataFileException>(() => MnistData.Load(_dir.Path));
        Assert.Contains(Path.Combine(_dir.Path, MnistData.TrainLabelsFile), e.Message);
    }

    [Fact]
    public void ImageAndSliceAddressTheRightPixels()
    {
        int count = 4;
        var images = new float[count * 784];
        for (int i = 0; i < images.Length; i++)
            images[i] = i / 784;
        var data = new Dataset(images, IdxFiles.Labels(count));

        Assert.Equal(784, data.Image(2).Length);
        Assert.All(data.Image(2).ToArray(), v => Assert.Equal(2f, v));

        Dataset slice = data.Slice(1, 2);
        Assert.Equal(2, slice.Count);
        Assert.Equal([1, 2], slice.Labels);
        Assert.Equal(1f, slice.Image(0)[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Slice(3, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Image(4));
    }

    [Fact]
    public void ValidationIsTheLastImages()
    {
        var train = new Dataset(new float[5 * 784], [0, 1, 2, 3, 4]);

        Dataset training = MnistData.TrainingSplit(train, validationSize: 2);
        Dataset validation = MnistData.ValidationSplit(train, validationSize: 2);

        Assert.Equal([0, 1, 2], training.Labels);
        Assert.Equal([3, 4], validation.Labels);
        Assert.Equal(10000, MnistData.ValidationSize);
        Assert.Throws<ArgumentException>(() => MnistData.TrainingSplit(train));
    }
}
