using TorchSharp;

namespace Unsup.IO.Nifti;

/// <summary>NIfTI-1 datatype codes and how each maps to a tensor dtype.</summary>
public static class NiftiDatatype
{
    public const short UInt8 = 2, Int16 = 4, Int32 = 8, Float32 = 16, Complex64 = 32, Float64 = 64, Rgb24 = 128,
        Int8 = 256, UInt16 = 512, UInt32 = 768, Int64 = 1024, UInt64 = 1280, Float128 = 1536, Complex128 = 1792,
        Complex256 = 2048, Rgba32 = 2304, Binary = 1;

    public static string Name(short code) => code switch
    {
        UInt8 => "uint8", Int16 => "int16", Int32 => "int32", Float32 => "float32", Complex64 => "complex64",
        Float64 => "float64", Rgb24 => "RGB24", Int8 => "int8", UInt16 => "uint16", UInt32 => "uint32",
        Int64 => "int64", UInt64 => "uint64", Float128 => "float128", Complex128 => "complex128",
        Complex256 => "complex256", Rgba32 => "RGBA32", Binary => "binary (1 bit)", 0 => "unknown (0)",
        _ => $"code {code}",
    };

    /// <summary>
    /// How voxels of <paramref name="code"/> are stored on disk (<c>Storage</c>, element size) and the tensor
    /// dtype they are returned in (<c>Result</c>): unsigned 16/32-bit types are widened to the next signed type,
    /// since libtorch has no arithmetic on them. Null when unsupported.
    /// </summary>
    public static (torch.ScalarType Storage, torch.ScalarType Result, int Bytes)? Read(short code) => code switch
    {
        UInt8 => (torch.ScalarType.Byte, torch.ScalarType.Byte, 1),
        Int8 => (torch.ScalarType.Int8, torch.ScalarType.Int8, 1),
        Int16 => (torch.ScalarType.Int16, torch.ScalarType.Int16, 2),
        UInt16 => (torch.ScalarType.Int16, torch.ScalarType.Int32, 2),
        Int32 => (torch.ScalarType.Int32, torch.ScalarType.Int32, 4),
        UInt32 => (torch.ScalarType.Int32, torch.ScalarType.Int64, 4),
        Int64 => (torch.ScalarType.Int64, torch.ScalarType.Int64, 8),
        Float32 => (torch.ScalarType.Float32, torch.ScalarType.Float32, 4),
        Float64 => (torch.ScalarType.Float64, torch.ScalarType.Float64, 8),
        _ => null,
    };

    /// <summary>The NIfTI code and bitpix a tensor of <paramref name="dtype"/> is written as (bool is written as uint8).</summary>
    public static (short Code, short Bitpix) ForWrite(torch.ScalarType dtype) => dtype switch
    {
        torch.ScalarType.Byte or torch.ScalarType.Bool => (UInt8, 8),
        torch.ScalarType.Int8 => (Int8, 8),
        torch.ScalarType.Int16 => (Int16, 16),
        torch.ScalarType.Int32 => (Int32, 32),
        torch.ScalarType.Int64 => (Int64, 64),
        torch.ScalarType.Float32 => (Float32, 32),
        torch.ScalarType.Float64 => (Float64, 64),
        _ => throw new UnsupException($"cannot write a NIfTI image from a {dtype} tensor (supported: uint8, int8, int16, int32, int64, float32, float64, bool)"),
    };
}
