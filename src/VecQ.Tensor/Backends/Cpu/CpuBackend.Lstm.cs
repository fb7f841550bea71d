using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace VecQ.Tensors;

// The fused LSTM cell (IFusedLstmCell) in float32: per row of the batch, the gate nonlinearities with
// TensorPrimitives and the state update / its gradient in one SIMD loop; rows in parallel when large.
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void LstmCell(Tensor gates, Tensor cPrev, Tensor acts, Tensor c, Tensor h)
    {
        if (NotF32(gates)) { ((IFusedLstmCell)Reference).LstmCell(gates, cPrev, acts, c, h); return; } // float64: the reference backend
        // gates, acts: [B, 4H]; cPrev, c, h: [B, H], contiguous
        int batch = gates.Dims[0], hidden = gates.Dims[1] / 4;
        float* gp = Ptr(gates), ap = Ptr(acts), cpp = Ptr(cPrev), cp = Ptr(c), hp = Ptr(h);
        void Rows(int r0, int r1)
        {
            for (int r = r0; r < r1; r++)
            {
                var g = new ReadOnlySpan<float>(gp + (long)r * 4 * hidden, 4 * hidden);
                var a = new Span<float>(ap + (long)r * 4 * hidden, 4 * hidden);
                TensorPrimitives.Sigmoid(g[..(2 * hidden)], a[..(2 * hidden)]);              // i, f
                TensorPrimitives.Tanh(g.Slice(2 * hidden, hidden), a.Slice(2 * hidden, hidden)); // g
                TensorPrimitives.Sigmoid(g[(3 * hidden)..], a[(3 * hidden)..]);             // o
                var cs = new Span<float>(cp + (long)r * hidden, hidden);
                var hs = new Span<float>(hp + (long)r * hidden, hidden);
                TensorPrimitives.Multiply(a[..hidden], a.Slice(2 * hidden, hidden), cs);      // i·g
                TensorPrimitives.FusedMultiplyAdd(a.Slice(hidden, hidden), new ReadOnlySpan<float>(cpp + (long)r * hidden, hidden), cs, cs); // + f·cPrev
                TensorPrimitives.Tanh(cs, hs);
                TensorPrimitives.Multiply(a[(3 * hidden)..], hs, hs);                        // o·tanh(c)
            }
        }
        int chunks = ChunksFor(batch, (long)batch * hidden * 24);
        if (chunks == 1) Rows(0, batch); else ForChunks(batch, chunks, (_, r0, r1) => Rows(r0, r1));
    }

    /// <inheritdoc/>
    public void LstmCellBackward(Tensor acts, Tensor cPrev, Tensor c, Tensor dh, Tensor dc, Tensor dgates, Tensor dcPrev)
    {
        if (NotF32(acts)) { ((IFusedLstmCell)Reference).LstmCellBackward(acts, cPrev, c, dh, dc, dgates, dcPrev); return; } // float64
        int batch = acts.Dims[0], hidden = acts.Dims[1] / 4;
        float* ap = Ptr(acts), cpp = Ptr(cPrev), cp = Ptr(c), dhp = Ptr(dh), dcp = Ptr(dc), dgp = Ptr(dgates), dcpp = Ptr(dcPrev);
        void Rows(int r0, int r1)
        {
            float[] tanhC = ArrayPool<float>.Shared.Rent(hidden);
            try
            {
                for (int r = r0; r < r1; r++)
                {
                    long row = (long)r * hidden;
                    TensorPrimitives.Tanh(new ReadOnlySpan<float>(cp + row, hidden), tanhC.AsSpan(0, hidden));
                    fixed (float* tp = tanhC)
                        RowBackward(ap + 4 * row, cpp + row, tp, dhp + row, dcp + row, dgp + 4 * row, dcpp + row, hidden);
                }
            }
            finally { ArrayPool<float>.Shared.Return(tanhC); }
        }
        int chunks = ChunksFor(batch, (long)batch * hidden * 24);
        if (chunks == 1) Rows(0, batch); else ForChunks(batch, chunks, (_, r0, r1) => Rows(r0, r1));
    }

    // One row of the cell gradient: a: [4H] (i, f, g, o), cPrev, tanh(c), dh, dc: [H] → dg: [4H], dcPrev: [H]
    // (dcPrev may be dc: each element is read before it is written).
    private static void RowBackward(float* a, float* cPrev, float* t, float* dh, float* dc, float* dg, float* dcPrev, int hidden)
    {
        int w = Vector<float>.Count, j = 0;
        var one = Vector<float>.One;
        for (; j + w <= hidden; j += w)
        {
            var i = Load(a + j); var f = Load(a + hidden + j); var g = Load(a + 2 * hidden + j); var o = Load(a + 3 * hidden + j);
            var tj = Load(t + j); var dhj = Load(dh + j);
            var dcTotal = Load(dc + j) + dhj * o * (one - tj * tj);
            Store(dg + j, dcTotal * g * i * (one - i));
            Store(dg + hidden + j, dcTotal * Load(cPrev + j) * f * (one - f));
            Store(dg + 2 * hidden + j, dcTotal * i * (one - g * g));
            Store(dg + 3 * hidden + j, dhj * tj * o * (one - o));
            Store(dcPrev + j, dcTotal * f);
        }
        for (; j < hidden; j++)
        {
            float i = a[j], f = a[hidden + j], g = a[2 * hidden + j], o = a[3 * hidden + j], tj = t[j];
            float dcTotal = dc[j] + dh[j] * o * (1 - tj * tj);
            dg[j] = dcTotal * g * i * (1 - i);
            dg[hidden + j] = dcTotal * cPrev[j] * f * (1 - f);
            dg[2 * hidden + j] = dcTotal * i * (1 - g * g);
            dg[3 * hidden + j] = dh[j] * tj * o * (1 - o);
            dcPrev[j] = dcTotal * f;
        }
    }

    private static Vector<float> Load(float* p) => Vector.Load(p);

    private static void Store(float* p, Vector<float> v) => v.Store(p);
}
