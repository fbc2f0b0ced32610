namespace PlasticityDsl.Runtime.Data;

/// <summary>Labelled 28×28 images, stored contiguously: image i is Images[i*784 .. (i+1)*784).</summary>
public sealed class Dataset
{
    public Dataset(float[] images, byte[] labels)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (images.Length != (long)labels.Length * IdxReader.PixelsPerImage)
            throw new ArgumentException($"{labels.Length} labels need {labels.Length * (long)IdxReader.PixelsPerImage} pixels, got {images.Length}.", nameof(images));
        Images = images;
        Labels = labels;
    }

    /// <summary>All pixels, image after image, each in [0, 1].</summary>
    public float[] Images { get; }

    /// <summary>One class label 0..9 per image.</summary>
    public byte[] Labels { get; }

    public int Count => Labels.Length;

    /// <summary>Pixels per image (784).</summary>
    public int PixelCount => IdxReader.PixelsPerImage;

    public ReadOnlySpan<float> Image(int i)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(i);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(i, Count);
        return Images.AsSpan(i * IdxReader.PixelsPerImage, IdxReader.PixelsPerImage);
    }

    /// <summary>A copy of images start .. start+count-1.</summary>
    public Dataset Slice(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Count - start);
        return new Dataset(
            Images.AsSpan(start * IdxReader.PixelsPerImage, count * IdxReader.PixelsPerImage).ToArray(),
            Labels.AsSpan(start, count).ToArray());
    }
}
