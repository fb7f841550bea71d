using static VecQ.Tensors.Tests.TestUtil;

namespace VecQ.Tensors.Tests;

/// <summary>Bad inputs fail up front with a message that names the op, the shapes and the rule broken.</summary>
public class ErrorMessageTests
{
    [BackendTheory]
    public void MatMulInnerDimensionMismatch(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var a = dev.Zeros([64, 800]);
        using var b = dev.Zeros([700, 10]);
        var e = Assert.Throws<ArgumentException>(() => a.MatMul(b));
        Assert.Equal("matmul: [64, 800] x [700, 10]: inner dimensions 800 and 700 differ", e.Message);
    }

    [BackendTheory]
    public void MatMulBatchBroadcastFailure(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var a = dev.Zeros([2, 3, 4]);
        using var b = dev.Zeros([5, 4, 6]);
        var e = Assert.Throws<ArgumentException>(() => a.MatMul(b));
        Assert.Equal("matmul: shapes [2] and [5] cannot be broadcast: dimension 0 is 2 vs 5 (each must be equal or 1)", e.Message);
    }

    [BackendTheory]
    public void BroadcastFailure(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var a = dev.Zeros([2, 3]);
        using var b = dev.Zeros([4]);
        var e = Assert.Throws<ArgumentException>(() => a.Add(b));
        Assert.Equal("add: shapes [2, 3] and [4] cannot be broadcast: dimension 1 is 3 vs 4 (each must be equal or 1)", e.Message);
    }

    [BackendTheory]
    public void Conv2dChannelMismatch(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Zeros([1, 3, 5, 5]);
        using var w = dev.Zeros([4, 2, 3, 3]);
        var e = Assert.Throws<ArgumentException>(() => ConvOps.Conv2d(x, w, null, (1, 1), (0, 0)));
        Assert.Equal("conv2d: input [1, 3, 5, 5] and weight [4, 2, 3, 3]: weight dim 1 (2) × groups (1) must equal the input channels 3", e.Message);
    }

    [BackendTheory]
    public void Conv2dGroupsMustDivideOutputChannels(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Zeros([1, 4, 5, 5]);
        using var w = dev.Zeros([3, 2, 3, 3]);
        var e = Assert.Throws<ArgumentException>(() => ConvOps.Conv2d(x, w, null, (1, 1), (0, 0), groups: 2));
        Assert.Equal("conv2d: groups=2 must divide both input channels 4 and output channels 3", e.Message);
    }

    [BackendTheory]
    public void ViewImpossibleWithoutACopy(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Zeros([2, 3]);
        using var t = x.T();
        var e = Assert.Throws<ArgumentException>(() => t.View(6));
        Assert.Equal("view: tensor [3, 2] with strides [1, 3] cannot be viewed as [6] without a copy; call Contiguous() or Reshape()", e.Message);
    }

    [BackendTheory]
    public void ReshapeElementCountMismatch(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Zeros([2, 3]);
        var e = Assert.Throws<ArgumentException>(() => x.Reshape(4, 2));
        Assert.Equal("reshape: tensor [2, 3] (6 elements) cannot take shape [4, 2] (8 elements)", e.Message);
    }

    [BackendTheory]
    public void AxisOutOfRange(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Zeros([2, 3]);
        var e = Assert.Throws<ArgumentException>(() => x.Sum([2]));
        Assert.Equal("sum: axis 2 is out of range for a tensor of rank 2 (expected -2..1)", e.Message);
        var t = Assert.Throws<ArgumentException>(() => x.Transpose(0, -3));
        Assert.Equal("transpose: axis -3 is out of range for a tensor of rank 2 (expected -2..1)", t.Message);
    }

    [BackendTheory]
    public void CrossEntropyLabelDTypeAndShape(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var logits = dev.Zeros([2, 3]);
        using var floatLabels = dev.Zeros([2]);
        var e = Assert.Throws<ArgumentException>(() => NnOps.SoftmaxCrossEntropy(logits, floatLabels));
        Assert.Equal("softmax_cross_entropy: labels [2] (float32) must be int32 [2] for logits [2, 3]", e.Message);
        using var tooMany = dev.T([0, 1, 2]);
        var s = Assert.Throws<ArgumentException>(() => NnOps.SoftmaxCrossEntropy(logits, tooMany));
        Assert.Equal("softmax_cross_entropy: labels [3] (int32) must be int32 [2] for logits [2, 3]", s.Message);
    }

    [BackendTheory]
    public void CrossEntropyLabelOutOfRangeNamesRowAndLabel(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var logits = dev.Zeros([2, 3]);
        using var labels = dev.T([0, 3]);
        var e = Assert.Throws<ArgumentException>(() => NnOps.SoftmaxCrossEntropy(logits, labels));
        Assert.Equal("softmax_cross_entropy: label 3 in row 1 is out of range [0, 3)", e.Message);
        using var negative = dev.T([-1, 0]);
        Assert.Contains("label -1 in row 0", Assert.Throws<ArgumentException>(() => NnOps.SoftmaxCrossEntropy(logits, negative)).Message);
    }

    [BackendTheory]
    public void IndexOutOfRangeNamesValueAndRange(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Zeros([3, 2]);
        using var index = dev.T([0, 3]);
        // the kernels report it (a backend may add where the index sits): the op, the value and the range
        void OutOfRange(string op, int value, string range, Action act)
        {
            var e = Assert.Throws<ArgumentException>(act);
            Assert.StartsWith($"{op}: index {value} ", e.Message);
            Assert.EndsWith($"is out of range {range}", e.Message);
        }
        OutOfRange("index_select", 3, "[0, 3) for axis 0 of size 3", () => x.IndexSelect(0, index));
        using var src = dev.Ones([2, 2]);
        OutOfRange("index_add", 3, "[0, 3) for axis 0 of size 3", () => x.IndexAdd_(0, index, src));
        Assert.Equal([0f, 0, 0, 0, 0, 0], x.ToArray()); // nothing was written
        using var g = dev.T([1, -1, 0, 1, 0, 1], 3, 2);
        OutOfRange("gather", -1, "[0, 2) for axis 1 of size 2", () => x.Gather(1, g));
        using var gsrc = dev.Ones([3, 2]);
        OutOfRange("scatter_add", -1, "[0, 2) for axis 1 of size 2", () => x.ScatterAdd_(1, g, gsrc));
        using var floatIndex = dev.Zeros([2]);
        Assert.Equal("index_select: index [2] is float32; expected int32", Assert.Throws<ArgumentException>(() => x.IndexSelect(0, floatIndex)).Message);
    }

    [BackendTheory]
    public void DisposedTensorUse(BackendCase dev)
    {
        using var scope = dev.Enter();
        var x = dev.Ones([2]);
        using var y = dev.Ones([2]);
        x.Dispose();
        var e = Assert.Throws<ObjectDisposedException>(() => x.Add(y));
        Assert.Contains("add: tensor [2] was disposed", e.Message);
        Assert.Contains("to_array: tensor [2] was disposed", Assert.Throws<ObjectDisposedException>(() => x.ToArray()).Message);
        Assert.Contains("view: tensor [2] was disposed", Assert.Throws<ObjectDisposedException>(() => x.View(1, 2)).Message);
        x.Dispose(); // a second Dispose is harmless
    }
}
