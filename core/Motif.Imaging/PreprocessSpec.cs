namespace Motif.Imaging;

/// <summary>How an image is fitted to the model's square input.</summary>
public enum ResizeMode
{
    /// <summary>Resize the shorter side to <see cref="PreprocessSpec.ResizeTo"/>, then crop the centre square
    /// (torchvision's Resize + CenterCrop). Loses the margins of elongated images.</summary>
    ShortSideCentreCrop,

    /// <summary>Fit the whole image inside the square and pad the rest with the mean colour (zero after
    /// normalisation). Keeps the aspect ratio and all content, which SEEDS.md lists as lost by square resizing.</summary>
    Letterbox,
}

/// <summary>Channel order of the output tensor.</summary>
public enum ChannelOrder { Rgb, Bgr }

/// <summary>
/// Turns an image into a float32 CHW tensor for a model: value = (pixel − Mean[c]) / Std[c], pixels in 0..255,
/// <see cref="Mean"/> and <see cref="Std"/> given in the output channel order.
/// </summary>
public sealed record PreprocessSpec
{
    public PreprocessSpec(int inputSize, ResizeMode resize, ChannelOrder channels, (float, float, float) mean, (float, float, float) std, int? resizeTo = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 8);
        var (s0, s1, s2) = std;
        if (s0 <= 0 || s1 <= 0 || s2 <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(std), "Standard deviations must be positive.");
        }
        InputSize = inputSize;
        Resize = resize;
        Channels = channels;
        Mean = mean;
        Std = std;
        // torchvision's evaluation recipe resizes to 256 for a 224 crop: keep that ratio by default.
        ResizeTo = resizeTo ?? (int)Math.Round(inputSize * 256.0 / 224.0);
        ArgumentOutOfRangeException.ThrowIfLessThan(ResizeTo, inputSize, nameof(resizeTo));
    }

    /// <summary>Side of the square model input.</summary>
    public int InputSize { get; }

    public ResizeMode Resize { get; }

    public ChannelOrder Channels { get; }

    public (float, float, float) Mean { get; }

    public (float, float, float) Std { get; }

    /// <summary>For <see cref="ResizeMode.ShortSideCentreCrop"/>: the shorter side's length before the crop.</summary>
    public int ResizeTo { get; }

    /// <summary>Floats per image: 3 × InputSize × InputSize.</summary>
    public int ValuesPerImage => 3 * InputSize * InputSize;

    /// <summary>torchvision's ImageNet normalisation (RGB, mean 0.485/0.456/0.406, std 0.229/0.224/0.225), resize 256 → crop 224.</summary>
    public static PreprocessSpec ImageNet(int inputSize = 224, ResizeMode resize = ResizeMode.ShortSideCentreCrop) =>
        new(inputSize, resize, ChannelOrder.Rgb, (123.675f, 116.28f, 103.53f), (58.395f, 57.12f, 57.375f));

    /// <summary>Keras/Caffe "caffe" mode used by the packaged ResNet-50: BGR, minus the ImageNet mean, no scaling.</summary>
    public static PreprocessSpec Caffe(int inputSize = 224, ResizeMode resize = ResizeMode.ShortSideCentreCrop) =>
        new(inputSize, resize, ChannelOrder.Bgr, (103.939f, 116.779f, 123.68f), (1f, 1f, 1f));
}
