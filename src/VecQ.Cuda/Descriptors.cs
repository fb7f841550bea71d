using System.Runtime.InteropServices;
using VecQ.Tensors;

namespace VecQ.Cuda;

/// <summary>A strided view as the kernels read it (Kernels/common.cuh's <c>Desc</c>: rank, sizes, strides, offset).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Desc
{
    public const int MaxRank = 8;
    public int Rank;
    public int Unused;
    public fixed long Size[MaxRank];
    public fixed long Stride[MaxRank];
    public long Offset;

    /// <summary>The view of <paramref name="t"/> (a 0-d tensor as one element of rank 1).</summary>
    public static Desc Of(Tensor t) => Of(t.Dims, t.Strides, t.Offset);

    /// <summary>A view with the given sizes, strides and offset.</summary>
    public static Desc Of(ReadOnlySpan<int> sizes, ReadOnlySpan<int> strides, long offset)
    {
        if (sizes.Length > MaxRank)
            throw new ArgumentException($"cuda backend: rank {sizes.Length} is above the {MaxRank} dimensions its kernels take");
        var d = new Desc { Rank = Math.Max(1, sizes.Length), Offset = offset };
        if (sizes.Length == 0) { d.Size[0] = 1; d.Stride[0] = 0; }
        for (int k = 0; k < sizes.Length; k++) { d.Size[k] = sizes[k]; d.Stride[k] = strides[k]; }
        return d;
    }
}

/// <summary>Kernels/conv.cu's <c>ConvGeom</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ConvGeom
{
    public int N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, Groups, OH, OW;

    public static ConvGeom Of(Conv2dGeometry g) => new()
    {
        N = g.N, C = g.C, H = g.H, W = g.W, O = g.O, KH = g.KH, KW = g.KW, SH = g.StrideH, SW = g.StrideW,
        PH = g.PadH, PW = g.PadW, DH = g.DilationH, DW = g.DilationW, Groups = g.Groups, OH = g.OH, OW = g.OW,
    };
}

/// <summary>Kernels/pool.cu's <c>PoolGeom</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PoolGeom
{
    public int N, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW;

    public static PoolGeom Of(Pool2dGeometry g) => new()
    {
        N = g.N, C = g.C, H = g.H, W = g.W, KH = g.KH, KW = g.KW, SH = g.StrideH, SW = g.StrideW, PH = g.PadH, PW = g.PadW, OH = g.OH, OW = g.OW,
    };
}

/// <summary>The parameters p0 … p7 of a generated elementwise kernel.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ElementwiseParams
{
    public const int Most = 8;
    public fixed double V[Most];
}
