using System.Runtime.InteropServices;

namespace Motif.Engine.Interop;

/// <summary>
/// The C ABI of libmotif_engine.so (gpu-worker/native/include/motif_engine.h), declared here and nowhere else.
/// Every function returns a status; the message of a failure is per calling thread (motif_last_error), so
/// <see cref="Check"/> reads it on the thread that made the call, before anything else can overwrite it.
/// </summary>
internal static unsafe partial class NativeEngine
{
    private const string Library = "motif_engine";

    internal const int AbiVersion = 3;

    [LibraryImport(Library)]
    internal static partial int motif_abi_version();

    [LibraryImport(Library)]
    internal static partial nint motif_last_error();

    [LibraryImport(Library)]
    internal static partial int motif_set_num_threads(int n);

    [LibraryImport(Library)]
    internal static partial int motif_get_num_threads(out int n);

    [LibraryImport(Library)]
    internal static partial int motif_train_options_default(out TrainOptions options);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int motif_model_create(string architecture, string? device, out nint model);

    [LibraryImport(Library)]
    internal static partial int motif_model_destroy(nint model);

    [LibraryImport(Library)]
    internal static partial int motif_model_init(ModelHandle model, int scheme, ulong seed);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int motif_model_load_weights(ModelHandle model, string path);

    [LibraryImport(Library)]
    internal static partial int motif_model_info(ModelHandle model, byte* buffer, long bufferLength, out long needed);

    [LibraryImport(Library)]
    internal static partial int motif_model_dims(ModelHandle model, out long embeddingDim, out long classes);

    [LibraryImport(Library)]
    internal static partial int motif_model_set_precision(ModelHandle model, int precision, int channelsLast);

    [LibraryImport(Library)]
    internal static partial int motif_model_set_pooling(ModelHandle model, double power);

    [LibraryImport(Library)]
    internal static partial int motif_model_set_detail_view(ModelHandle model, double fraction);

    [LibraryImport(Library)]
    internal static partial int motif_embed(ModelHandle model, float* x, long n, long c, long h, long w,
        float* embeddings, long embeddingsLength, float* logits, long logitsLength);

    [LibraryImport(Library)]
    internal static partial int motif_train_configure(ModelHandle model, in TrainOptions options);

    [LibraryImport(Library)]
    internal static partial int motif_train_step(ModelHandle model, float* a, float* b, float* negative,
        long n, long c, long h, long w, out float loss, float* distanceAb, float* distanceAc, float* distanceBc);

    [LibraryImport(Library)]
    internal static partial int motif_train_step_pairs(ModelHandle model, float* a, float* b, float* labels,
        long n, long c, long h, long w, out float loss, float* distanceAb);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int motif_checkpoint_save(ModelHandle model, string path, string? userMetadataJson);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int motif_checkpoint_load(ModelHandle model, string path);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int motif_checkpoint_metadata(string path, byte* buffer, long bufferLength, out long needed);

    /// <summary>motif_train_options: 4 doubles then 8 int32, 64 bytes, no padding.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct TrainOptions
    {
        public double Margin;
        public double Margin2;
        public double LearningRate;
        public double WeightDecay;
        public int Loss;
        public int Distance;
        public int Reduction;
        public int AnchorSwap;
        public int IntraPenalty;
        public int BatchNormMode;
        public int FreezeStages;
        public int Reserved;
    }

    /// <summary>Throws the exception that matches a non-zero status, with the engine's own message.</summary>
    internal static void Check(int status)
    {
        if (status == 0)
        {
            return;
        }
        var message = Marshal.PtrToStringUTF8(motif_last_error()) is { Length: > 0 } m ? m : $"engine status {status}";
        throw status switch
        {
            1 or 6 => new ArgumentException(message), // invalid argument, output buffer too small
            2 => new IOException(message),
            3 => new InvalidDataException(message),
            4 => new ModelMismatchException(message),
            5 => new InvalidOperationException(message),
            7 => new InsufficientMemoryException(message),
            _ => new SignatureEngineException(status, message),
        };
    }

    /// <summary>The (buffer, length, needed) string pattern of the C API: ask for the size, then fill.</summary>
    internal static string ReadString(Func<nint, long, (int Status, long Needed)> call)
    {
        var (status, needed) = call(0, 0);
        if (status is not (0 or 6))
        {
            Check(status);
        }
        var buffer = new byte[needed];
        fixed (byte* p = buffer)
        {
            var (second, _) = call((nint)p, buffer.Length);
            Check(second);
        }
        return System.Text.Encoding.UTF8.GetString(buffer, 0, Math.Max(0, (int)needed - 1));
    }
}

/// <summary>An owned motif_model*; destroyed once, on dispose or finalisation.</summary>
internal sealed class ModelHandle() : SafeHandle(0, ownsHandle: true)
{
    public override bool IsInvalid => handle == 0;

    internal static ModelHandle Adopt(nint model)
    {
        var owned = new ModelHandle();
        owned.SetHandle(model);
        return owned;
    }

    protected override bool ReleaseHandle() => NativeEngine.motif_model_destroy(handle) == 0;
}
