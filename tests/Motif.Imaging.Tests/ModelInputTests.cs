using System.Runtime.Intrinsics;
using Xunit.Abstractions;

namespace Motif.Imaging.Tests;

/// <summary>
/// <see cref="ModelInput"/> against Pillow itself: the expected bytes were made by Debian's python3-pil 9.4.0 (the
/// PIL torchvision resizes with) from the same synthetic pixels, e.g. for the crop
/// <c>src(23, 15).resize((15, 10), Image.Resampling.BILINEAR).crop((4, 1, 12, 9)).tobytes().hex()</c>.
/// </summary>
public sealed class ModelInputTests(ITestOutputHelper output)
{
    // The crop window of a 23×15 image resized to a 10 px short side (15×10, int(10 × 23 / 15)), centre 8×8 at
    // (4, 1): round(3.5) is 4 under Python's half-to-even rounding.
    private const string Crop = "50767e7c708b605a816f98afb18f576f58776485ae7d669391598c6c7d97a06755756f8d856966769174a4675f9583917d517e69587d908d7e82949a75636d9a685b7471a47a72974c757d939073827295637593668a93aea16f90777fa9705540756a6c6a996a81738a9ca2bf6867826480677c8b86868476a64d748f8ea24d746b7dac81705b92917b8d3c68668461769a765471738abe4e75aabc474c7faa6d6a6398b16a78989a3d70bd394ea7d5656da2b44070a57d4f6380b55c7aa75d";

    // A 20×12 image letterboxed into 16²: resized to 16×10, rows 3..12.
    private const string Shrunk = "1d52874a7f9d788eac7fa7cda6ac558342603b506e676a9f6c9da499ce3ac786485839612f60956583b8a09e5da4cb3788a6979b9b8b9f75655f6e9c64998f5c9181956b5b9d3a6f456da277acbab0b05f9b49593b6398716297b24277707c6c73885d836da27d689d667ea9859c79604a7f5a8fc46b9672896691888787a05555546b96849b788f7aaf7bb09b61964b5d929eae9f74a05b906585ba6181b6a763986354899d594f68517f7c8b7c7483747da662b3614a914d82897a7a5287a58fc4606079909bb4728eb7ae88bb6e71427770416c7686a999be71937a9a6d5373a352586a6a996f85b3748ab8b1558a527aa39b6499967c3ab6696e557d9a44718997a76f8da8b1984c7543719152809fabb16093979aa95b42bb6d54847e8ca0689d9065744f8493867baa76a4744b80556a3f745867954c81779dac9dbc9686ad5b8377a06374659a93848383b85a82576c86bb71b29c9cd63d687d9f7b4075746ba0a09a6c97ac7f5b7878ada45943707d95834277927c7c73a85c885d726499b77d6d6db56fa48f63989d596894c9336ba06a5c4b808d7cb15388bd8b6060a5ad5b75567e4f4f5d5186958d7eb3b7558a6b89beae568bc2385eb2b14e5e93913b708e79ae4897cc666095ca2e4378b75463759bcc568bc098588dc22e63";

    // A 7×5 image letterboxed into 12² (enlarged: the triangle is not stretched): 12×9, rows 1..9.
    private const string Enlarged = "00356a0e437823588d396ea34f84b96499ce7aafe48fc4f9a5da9abbe525d0653ade13481e53882d62974479ae5c9198749e888b839f8982b76e99ce7bb09793c152aa7469b943785186bb6297cc7cb1e696cb85b1c937cb5e52a3366b385085366b9350849e6b8eb87b94c983b87c96a18eb37bac93947c7c9f589969758d5d92577aaf6297987bb078568b953e73a8b6eb20cba035eb2a558040752b60954b80b56ba0d58bc0f5abe0a0c1f6354b805500356a5a8f53717b69945b8c797aaf688bc08b5b9085558a5578ad669b9c87b67d88646f8a31661b5085336893598ea880a5cda2a1d6b7437892265b334c81356a9f5681b6b1578cec3d724e83b8689d9291c657ba9279cd629792598e70699e6892c7578cc14a7bb08787bcae8ec36ca1d687bc91b2e727dd8747e73c717c679c5c91c687bcf16ba0d54378ad6ea3d889bef3";

    [Fact]
    public void The_centre_crop_is_pils_bilinear_resize_then_crop_byte_for_byte()
    {
        var spec = new PreprocessSpec(8, ResizeMode.ShortSideCentreCrop, ChannelOrder.Rgb, (0, 0, 0), (1, 1, 1), resizeTo: 10);

        Assert.Equal(Crop, Convert.ToHexStringLower(Window(Render(23, 15, spec), 8, 0, 8)));
    }

    [Theory]
    [InlineData(20, 12, 16, Shrunk, 3, 10)]
    [InlineData(7, 5, 12, Enlarged, 1, 9)]
    public void The_letterbox_is_pils_bilinear_resize_centred_on_zero_padding(int width, int height, int size, string expected, int top, int rows)
    {
        var spec = new PreprocessSpec(size, ResizeMode.Letterbox, ChannelOrder.Rgb, (0, 0, 0), (1, 1, 1));

        var output = Render(width, height, spec);

        Assert.Equal(expected, Convert.ToHexStringLower(Window(output, size, top, rows)));
        var plane = size * size;
        var margins = Enumerable.Range(0, 3).SelectMany(c => Enumerable.Range(0, size * top).Concat(Enumerable.Range((top + rows) * size, (size - top - rows) * size)).Select(i => output[c * plane + i]));
        Assert.All(margins, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Bgr_output_reverses_the_channels_and_normalises_each()
    {
        var rgb = new PreprocessSpec(8, ResizeMode.ShortSideCentreCrop, ChannelOrder.Rgb, (0, 0, 0), (1, 1, 1), resizeTo: 10);
        var bgr = new PreprocessSpec(8, ResizeMode.ShortSideCentreCrop, ChannelOrder.Bgr, (1, 2, 3), (2, 4, 8), resizeTo: 10);

        var (plain, reversed) = (Render(23, 15, rgb), Render(23, 15, bgr));

        const int plane = 64;
        for (var i = 0; i < plane; i++)
        {
            Assert.Equal((plain[2 * plane + i] - 1) / 2, reversed[i]);
            Assert.Equal((plain[plane + i] - 2) / 4, reversed[plane + i]);
            Assert.Equal((plain[i] - 3) / 8, reversed[2 * plane + i]);
        }
    }

    [Theory]
    [InlineData(500, 375, 224, ResizeMode.ShortSideCentreCrop)]   // a 2000×1500 JPEG after its 1/4 DCT shrink
    [InlineData(375, 500, 224, ResizeMode.ShortSideCentreCrop)]
    [InlineData(333, 217, 50, ResizeMode.ShortSideCentreCrop)]    // 50 columns: three 16-column steps and a scalar tail of 2
    [InlineData(300, 100, 60, ResizeMode.Letterbox)]
    [InlineData(1000, 37, 64, ResizeMode.Letterbox)]             // a 64×2 window in a 64² input
    [InlineData(40, 90, 96, ResizeMode.Letterbox)]               // enlarged
    [InlineData(2, 300, 32, ResizeMode.Letterbox)]               // 2 px wide: most horizontal sums read the image's last pixel (the scalar fallback)
    public void The_vector_kernel_gives_the_scalar_kernels_floats_and_runs_where_it_is_accelerated(int width, int height, int size, ResizeMode mode)
    {
        output.WriteLine($"kernel on this machine: {ModelInput.Kernel} (Vector256 accelerated: {Vector256.IsHardwareAccelerated})");
        Assert.Equal(Vector256.IsHardwareAccelerated ? ResizeKernel.Vector256 : ResizeKernel.Scalar, ModelInput.Kernel);
        var pixels = new byte[3 * width * height];
        new Random(width * 7919 + height).NextBytes(pixels);
        var spec = new PreprocessSpec(size, mode, ChannelOrder.Bgr, (103.939f, 116.779f, 123.68f), (57.1f, 58.2f, 59.3f));
        var (scalar, vector) = (new float[spec.ValuesPerImage], new float[spec.ValuesPerImage]);

        ModelInput.Render(pixels, width, height, spec, scalar, ResizeKernel.Scalar);
        ModelInput.Render(pixels, width, height, spec, vector, ResizeKernel.Vector256);

        Assert.Equal(scalar, vector);
    }

    // The test image: every value different enough along both axes that a misplaced tap or weight shows.
    private static float[] Render(int width, int height, PreprocessSpec spec)
    {
        var pixels = new byte[3 * width * height];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                for (var c = 0; c < 3; c++)
                {
                    pixels[3 * (y * width + x) + c] = (byte)((x * 37 + y * 91 + c * 53 + x * y % 17 * 9) % 256);
                }
            }
        }
        var output = new float[spec.ValuesPerImage];
        ModelInput.Render(pixels, width, height, spec, output);
        return output;
    }

    // Rows top..top+rows−1 of a CHW output with mean 0 and std 1, as HWC bytes (PIL's tobytes()).
    private static byte[] Window(float[] chw, int size, int top, int rows)
    {
        var plane = size * size;
        var bytes = new byte[3 * size * rows];
        for (var i = 0; i < size * rows; i++)
        {
            for (var c = 0; c < 3; c++)
            {
                bytes[3 * i + c] = checked((byte)chw[c * plane + top * size + i]);
            }
        }
        return bytes;
    }
}
