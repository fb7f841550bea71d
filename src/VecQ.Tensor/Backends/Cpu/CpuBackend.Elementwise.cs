using System.Numerics;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors;

// Elementwise unary / binary / where over any strides. The layout is coalesced first (see CpuLayout),
// then each row runs through the op struct's span form:
//   contiguous operands           → op.Apply(span, span, span) on whole (or chunked) runs
//   one operand broadcast (stride 0) → op.Apply(span, float, span) / op.Apply(float, span, span)
//   any other stride              → blocks gathered into stack buffers, applied, scattered back
public sealed unsafe partial class CpuBackend
{
    /// <summary>Elements per gathered block in the strided paths (stack buffers of this size per operand).</summary>
    private const int Block = 256;

    /// <inheritdoc/>
    public void Unary<TOp>(TOp op, Tensor x, Tensor y) where TOp : struct, IUnaryOp
    {
        if (NotF32(x)) { Reference.Unary(op, x, y); return; } // float64: the reference backend
        // x, y: same shape, any strides
        var layout = CpuLayout.Create(y.Dims, y.Strides, x.Strides);
        CpuWalker.Run(new UnaryKernel<TOp> { Op = op }, layout, new CpuOperands { P0 = Ptr(y), P1 = Ptr(x) });
    }

    /// <inheritdoc/>
    public void Binary<TOp>(TOp op, Tensor a, Tensor b, Tensor y) where TOp : struct, IBinaryOp
    {
        if (NotF32(a)) { Reference.Binary(op, a, b, y); return; } // float64: the reference backend
        // a, b: already expanded to y's shape (stride 0 on broadcast dims)
        var layout = CpuLayout.Create(y.Dims, y.Strides, a.Strides, b.Strides);
        CpuWalker.Run(new BinaryKernel<TOp> { Op = op }, layout, new CpuOperands { P0 = Ptr(y), P1 = Ptr(a), P2 = Ptr(b) });
    }

    /// <inheritdoc/>
    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y)
    {
        if (NotF32(a) || NotF32(cond)) { Reference.Where(cond, a, b, y); return; } // float64 (or a non-float32 condition): the reference backend
        // cond, a, b: expanded to y's shape; cond has a's dtype
        var layout = CpuLayout.Create(y.Dims, y.Strides, cond.Strides, a.Strides, b.Strides);
        CpuWalker.Run(new WhereKernel(), layout, new CpuOperands { P0 = Ptr(y), P1 = Ptr(cond), P2 = Ptr(a), P3 = Ptr(b) });
    }

    /// <summary>y = op(x) on one run.</summary>
    private struct UnaryKernel<TOp> : ISegmentKernel where TOp : struct, IUnaryOp
    {
        public TOp Op;

        public void Run(int len, float** p, int* s)
        {
            float* y = p[0], x = p[1];
            int sy = s[0], sx = s[1];
            if (sy == 1 && sx == 1)
            {
                Op.Apply(new ReadOnlySpan<float>(x, len), new Span<float>(y, len));
                return;
            }
            float* tx = stackalloc float[Block];
            float* ty = stackalloc float[Block];
            for (int o = 0; o < len; o += Block)
            {
                int n = Math.Min(Block, len - o);
                var xs = sx == 1 ? new ReadOnlySpan<float>(x + o, n) : CpuWalker.Gather(x + (long)o * sx, sx, n, tx);
                var ys = sy == 1 ? new Span<float>(y + o, n) : new Span<float>(ty, n);
                Op.Apply(xs, ys);
                if (sy != 1) CpuWalker.Scatter(ty, y + (long)o * sy, sy, n);
            }
        }
    }

    /// <summary>y = op(a, b) on one run.</summary>
    private struct BinaryKernel<TOp> : ISegmentKernel where TOp : struct, IBinaryOp
    {
        public TOp Op;

        public void Run(int len, float** p, int* s)
        {
            float* y = p[0], a = p[1], b = p[2];
            int sy = s[0], sa = s[1], sb = s[2];
            if (sy == 1)
            {
                if (sa == 1 && sb == 1) { Op.Apply(new ReadOnlySpan<float>(a, len), new ReadOnlySpan<float>(b, len), new Span<float>(y, len)); return; }
                if (sa == 1 && sb == 0) { Op.Apply(new ReadOnlySpan<float>(a, len), *b, new Span<float>(y, len)); return; }
                if (sa == 0 && sb == 1) { Op.Apply(*a, new ReadOnlySpan<float>(b, len), new Span<float>(y, len)); return; }
            }
            float* ta = stackalloc float[Block];
            float* tb = stackalloc float[Block];
            float* ty = stackalloc float[Block];
            for (int o = 0; o < len; o += Block)
            {
                int n = Math.Min(Block, len - o);
                var ys = sy == 1 ? new Span<float>(y + o, n) : new Span<float>(ty, n);
                if (sa == 0 && sb != 0)
                {
                    var bs = sb == 1 ? new ReadOnlySpan<float>(b + o, n) : CpuWalker.Gather(b + (long)o * sb, sb, n, tb);
                    Op.Apply(*a, bs, ys);
                }
                else if (sb == 0 && sa != 0)
                {
                    var as_ = sa == 1 ? new ReadOnlySpan<float>(a + o, n) : CpuWalker.Gather(a + (long)o * sa, sa, n, ta);
                    Op.Apply(as_, *b, ys);
                }
                else
                {
                    var as_ = sa == 1 ? new ReadOnlySpan<float>(a + o, n) : CpuWalker.Gather(a + (long)o * sa, sa, n, ta);
                    var bs = sb == 1 ? new ReadOnlySpan<float>(b + o, n) : CpuWalker.Gather(b + (long)o * sb, sb, n, tb);
                    Op.Apply(as_, bs, ys);
                }
                if (sy != 1) CpuWalker.Scatter(ty, y + (long)o * sy, sy, n);
            }
        }
    }

    /// <summary>y = cond != 0 ? a : b on one run (NaN counts as true, −0 as false, like the scalar test).</summary>
    private struct WhereKernel : ISegmentKernel
    {
        public void Run(int len, float** p, int* s)
        {
            float* y = p[0], c = p[1], a = p[2], b = p[3];
            int sy = s[0], sc = s[1], sa = s[2], sb = s[3];
            if (sy == 1 && sc == 1 && sa == 1 && sb == 1) { Select(c, a, b, y, len); return; }
            float* tc = stackalloc float[Block];
            float* ta = stackalloc float[Block];
            float* tb = stackalloc float[Block];
            float* ty = stackalloc float[Block];
            for (int o = 0; o < len; o += Block)
            {
                int n = Math.Min(Block, len - o);
                float* cs = sc == 1 ? c + o : Gathered(c + (long)o * sc, sc, n, tc);
                float* as_ = sa == 1 ? a + o : Gathered(a + (long)o * sa, sa, n, ta);
                float* bs = sb == 1 ? b + o : Gathered(b + (long)o * sb, sb, n, tb);
                float* ys = sy == 1 ? y + o : ty;
                Select(cs, as_, bs, ys, n);
                if (sy != 1) CpuWalker.Scatter(ty, y + (long)o * sy, sy, n);
            }
        }

        private static float* Gathered(float* src, int stride, int n, float* dst)
        {
            CpuWalker.Gather(src, stride, n, dst);
            return dst;
        }

        private static void Select(float* c, float* a, float* b, float* y, int n)
        {
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                int w = Vector<float>.Count;
                for (; i <= n - w; i += w)
                {
                    var isZero = Vector.Equals(Vector.Load(c + i), Vector<float>.Zero);
                    Vector.ConditionalSelect(isZero, Vector.Load(b + i), Vector.Load(a + i)).Store(y + i);
                }
            }
            for (; i < n; i++) y[i] = c[i] != 0f ? a[i] : b[i];
        }
    }
}
