using System.Runtime.InteropServices;

namespace Motif.Imaging.Libvips;

/// <summary>
/// An image's pixels rendered by libvips into a g_malloc'd buffer, read in place instead of copied into a managed
/// array; freed on dispose.
/// </summary>
internal readonly unsafe partial struct NativePixels : IDisposable
{
    private readonly nint _memory;
    private readonly int _length;

    private NativePixels(nint memory, int length, int width, int height) => (_memory, _length, Width, Height) = (memory, length, width, height);

    /// <summary>Renders all pixels, interleaved (height × width × bands samples), on the calling thread.</summary>
    /// <remarks>
    /// vips_region_fetch over the whole image, not Image.WriteToMemory: vips_image_write_to_memory runs the
    /// pipeline through vips_sink_disc, a worker thread (even at a concurrency of 1) plus a write-behind thread that
    /// hand each strip of rows to one another: about 310 futex calls per preprocessed bench JPEG, 73 this way
    /// (strace -c, 2026-11-30), and a thread switch per strip costs CPU on a machine whose cores are all decoding. Here the
    /// decoder runs on this thread, top to bottom in one request, as a sequential load needs; a failure anywhere in
    /// the pipeline fails the fetch itself (NULL, with the error buffer set) instead of leaving a tile black.
    /// </remarks>
    public static NativePixels Render(NetVips.Image image)
    {
        using var region = NetVips.Region.New(image);
        var memory = Fetch(region.DangerousGetHandle(), 0, 0, image.Width, image.Height, out var size);
        GC.KeepAlive(region);
        if (memory == 0)
        {
            // NetVips' exception reads libvips' error buffer, as for any failed call (LibvipsGate attributes it).
            throw new NetVips.VipsException("unable to render the image");
        }
        return new NativePixels(memory, checked((int)size), image.Width, image.Height);
    }

    public int Width { get; }

    public int Height { get; }

    public ReadOnlySpan<byte> Span => new((void*)_memory, _length);

    public void Dispose() => global::NetVips.NetVips.Free(_memory);

    // region.h: VipsPel *vips_region_fetch(VipsRegion *region, int left, int top, int width, int height, size_t *len);
    // the result is g_malloc'd, as NetVips' own Region.Fetch frees it with g_free.
    [LibraryImport("libvips.so.42", EntryPoint = "vips_region_fetch")]
    private static partial nint Fetch(nint region, int left, int top, int width, int height, out nuint length);
}
