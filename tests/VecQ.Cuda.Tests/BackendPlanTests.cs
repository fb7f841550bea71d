using VecQ.Cuda.Native;
using VecQ.Tensors;

namespace VecQ.Cuda.Tests;

// The host-side decisions of the CUDA backend that need no GPU: how a row-major operand is handed to cuBLAS, and the
// descriptors the kernels read.
public class BackendPlanTests
{
    [Fact]
    public void ContiguousRowsAreOpNWithTheirRowStride()
    {
        using var a = Tensor.Zeros([2, 5, 7]);                      // [B, rows, cols], strides (35, 7, 1)
        Assert.Equal((Cublas.CUBLAS_OP_N, 7), CudaBackend.Operand(a, 5, 7));
    }

    [Fact]
    public void ATransposedViewIsOpTWithItsColumnStride()
    {
        using var w = Tensor.Zeros([2, 7, 5]);
        using var t = w.Transpose(1, 2);                            // [2, 5, 7], strides (35, 1, 5)
        Assert.Equal((Cublas.CUBLAS_OP_T, 5), CudaBackend.Operand(t, 5, 7));
    }

    [Fact]
    public void BroadcastAxesHaveNoLeadingDimensionAndGoThroughACopy()
    {
        using var col = Tensor.Zeros([1, 6, 1]);
        using var wide = col.Expand([1, 6, 4]);                     // strides (…, 1, 0): a column repeated
        Assert.Null(CudaBackend.Operand(wide, 6, 4));
        using var row = Tensor.Zeros([1, 1, 4]);
        using var tall = row.Expand([1, 6, 4]);                     // strides (…, 0, 1): a row repeated
        Assert.Null(CudaBackend.Operand(tall, 6, 4));
    }

    [Fact]
    public void SingleRowsAndColumnsGetAValidLeadingDimension()
    {
        using var r = Tensor.Zeros([3, 1, 9]);
        Assert.Equal((Cublas.CUBLAS_OP_N, 9), CudaBackend.Operand(r, 1, 9));
        using var c = Tensor.Zeros([3, 9, 1]);
        Assert.Equal((Cublas.CUBLAS_OP_N, 1), CudaBackend.Operand(c, 9, 1));
    }

    [Fact]
    public unsafe void DescriptorsCarrySizesStridesAndOffset()
    {
        using var x = Tensor.Zeros([4, 6]);
        using var v = x.Narrow(1, 2, 3);                            // [4, 3] at offset 2, strides (6, 1)
        var d = Desc.Of(v);
        Assert.Equal(2, d.Rank);
        Assert.Equal(2L, d.Offset);
        Assert.Equal(4L, d.Size[0]); Assert.Equal(3L, d.Size[1]);
        Assert.Equal(6L, d.Stride[0]); Assert.Equal(1L, d.Stride[1]);
        using var s = Tensor.Scalar(1f);
        var z = Desc.Of(s);                                         // 0-d: one element of rank 1
        Assert.Equal(1, z.Rank);
        Assert.Equal(1L, z.Size[0]);
        Assert.Equal(144, sizeof(Desc));                            // Kernels/common.cuh's struct
        Assert.Throws<ArgumentException>(() => Desc.Of(new int[9], new int[9], 0));
    }
}
