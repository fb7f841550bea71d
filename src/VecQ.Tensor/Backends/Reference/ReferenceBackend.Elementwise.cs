using System.Numerics;

namespace VecQ.Tensors;

// Elementwise ops: one pass over the output shape, reading every operand through its strides
// (broadcast operands arrive as stride-0 views), using the op struct's scalar definition.
public sealed partial class ReferenceBackend
{
    /// <inheritdoc/>
    public void Unary<TOp>(TOp op, Tensor x, Tensor y) where TOp : struct, IUnaryOp
    {
        SameShape(op.Name, x, y);
        SameDType(op.Name, x, y);
        switch (x.DType)
        {
            case DType.Float32: UnaryT<float, TOp>(op, x, y); break;
            case DType.Float64: UnaryT<double, TOp>(op, x, y); break;
            default: throw Unsupported(op.Name, x);
        }
    }

    // y[i] = op(x[i])
    private static void UnaryT<T, TOp>(TOp op, Tensor x, Tensor y)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IUnaryOp
    {
        var xs = Data<T>(x);
        var ys = Data<T>(y);
        var it = new Odometer(y.Dims, x, y);
        for (int i = 0; i < y.Numel; i++, it.Next())
            ys[it.Offsets[1]] = op.Apply(xs[it.Offsets[0]]);
    }

    /// <inheritdoc/>
    public void Binary<TOp>(TOp op, Tensor a, Tensor b, Tensor y) where TOp : struct, IBinaryOp
    {
        SameShape(op.Name, a, y);
        SameShape(op.Name, b, y);
        SameDType(op.Name, a, y);
        SameDType(op.Name, b, y);
        switch (y.DType)
        {
            case DType.Float32: BinaryT<float, TOp>(op, a, b, y); break;
            case DType.Float64: BinaryT<double, TOp>(op, a, b, y); break;
            default: throw Unsupported(op.Name, y);
        }
    }

    // y[i] = op(a[i], b[i])
    private static void BinaryT<T, TOp>(TOp op, Tensor a, Tensor b, Tensor y)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IBinaryOp
    {
        var av = Data<T>(a);
        var bv = Data<T>(b);
        var yv = Data<T>(y);
        var it = new Odometer(y.Dims, a, b, y);
        for (int i = 0; i < y.Numel; i++, it.Next())
            yv[it.Offsets[2]] = op.Apply(av[it.Offsets[0]], bv[it.Offsets[1]]);
    }

    /// <inheritdoc/>
    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y)
    {
        SameShape("where", cond, y);
        SameShape("where", a, y);
        SameShape("where", b, y);
        SameDType("where", a, y);
        SameDType("where", b, y);
        switch (y.DType)
        {
            case DType.Float32: WhereFor<float>(cond, a, b, y); break;
            case DType.Float64: WhereFor<double>(cond, a, b, y); break;
            default: throw Unsupported("where", y);
        }
    }

    private static void WhereFor<T>(Tensor cond, Tensor a, Tensor b, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (cond.DType)
        {
            case DType.Float32: WhereT<T, float>(cond, a, b, y); break;
            case DType.Float64: WhereT<T, double>(cond, a, b, y); break;
            case DType.Int32: WhereT<T, int>(cond, a, b, y); break;
            default: throw Unsupported("where", cond);
        }
    }

    // y[i] = cond[i] != 0 ? a[i] : b[i]   (NaN counts as true, as in PyTorch)
    private static void WhereT<T, TC>(Tensor cond, Tensor a, Tensor b, Tensor y)
        where T : unmanaged, IFloatingPointIeee754<T> where TC : unmanaged, INumberBase<TC>
    {
        var cv = Data<TC>(cond);
        var av = Data<T>(a);
        var bv = Data<T>(b);
        var yv = Data<T>(y);
        var it = new Odometer(y.Dims, cond, a, b, y);
        for (int i = 0; i < y.Numel; i++, it.Next())
            yv[it.Offsets[3]] = cv[it.Offsets[0]] != TC.Zero ? av[it.Offsets[1]] : bv[it.Offsets[2]];
    }
}
