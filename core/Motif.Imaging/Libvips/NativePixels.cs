namespace Motif.Imaging.Libvips;

/// <summary>
/// An image's pixels rendered by libvips into a g_malloc'd buffer (Image.WriteToMemory(out size)), read in place
/// instead of copied into a managed array; freed on dispose.
/// </summary>
internal readonly unsafe struct NativePixels : IDisposable
{
    private readonly nint _memory;
    private readonly int _length;

    private NativePixels(nint memory, int length, int width, int height) => (_memory, _length, Width, Height) = (memory, length, width, height);

    /// <summary>Renders all pixels, interleaved (height × width × bands samples).</summary>
    public static NativePixels Render(NetVips.Image image)
    {
        var memory = image.WriteToMemory(out var size);
        return new NativePixels(memory, checked((int)size), image.Width, image.Height);
    }

    public int Width { get; }

    public int Height { get; }

    public ReadOnlySpan<byte> Span => new((void*)_memory, _length);

    public void Dispose() => global::NetVips.NetVips.Free(_memory);
}
