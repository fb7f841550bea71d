using System.Numerics;

namespace VecQ.Tensors;

// The LSTM cell, element by element, written as IFusedLstmCell documents it (gate order i, f, g, o).
public sealed partial class ReferenceBackend
{
    /// <inheritdoc/>
    public void LstmCell(Tensor gates, Tensor? bias, Tensor cPrev, Tensor acts, Tensor c, Tensor h)
    {
        switch (gates.DType)
        {
            case DType.Float32: LstmCellT<float>(gates, bias, cPrev, acts, c, h); break;
            case DType.Float64: LstmCellT<double>(gates, bias, cPrev, acts, c, h); break;
            default: throw Unsupported("lstm_cell", gates);
        }
    }

    /// <inheritdoc/>
    public void LstmCellBackward(Tensor acts, Tensor cPrev, Tensor c, Tensor dh, Tensor dc, Tensor dgates, Tensor dcPrev)
    {
        switch (acts.DType)
        {
            case DType.Float32: LstmCellBackwardT<float>(acts, cPrev, c, dh, dc, dgates, dcPrev); break;
            case DType.Float64: LstmCellBackwardT<double>(acts, cPrev, c, dh, dc, dgates, dcPrev); break;
            default: throw Unsupported("lstm_cell_backward", acts);
        }
    }

    // A contiguous tensor's own elements (Data gives the whole storage, positions including the offset).
    private static Span<T> Rows<T>(Tensor t) where T : unmanaged => Data<T>(t).Slice(t.Offset, (int)t.Numel);

    private static T Sigma<T>(T z) where T : IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-z));

    private static void LstmCellT<T>(Tensor gates, Tensor? bias, Tensor cPrev, Tensor acts, Tensor c, Tensor h) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // gates, acts: [B, 4H]; bias: [4H] or none; cPrev, c, h: [B, H], contiguous
        var gs = Rows<T>(gates); var a = Rows<T>(acts); var cp = Rows<T>(cPrev); var cs = Rows<T>(c); var hs = Rows<T>(h);
        int batch = gates.Dims[0], hidden = gates.Dims[1] / 4;
        var bs = bias is null ? new T[4 * hidden] : Rows<T>(bias).ToArray();   // zeros for none
        for (int r = 0; r < batch; r++)
            for (int j = 0; j < hidden; j++)
            {
                int g0 = r * 4 * hidden + j, s = r * hidden + j;
                T i = Sigma(gs[g0] + bs[j]), f = Sigma(gs[g0 + hidden] + bs[hidden + j]);
                T g = T.Tanh(gs[g0 + 2 * hidden] + bs[2 * hidden + j]), o = Sigma(gs[g0 + 3 * hidden] + bs[3 * hidden + j]);
                a[g0] = i; a[g0 + hidden] = f; a[g0 + 2 * hidden] = g; a[g0 + 3 * hidden] = o;
                T cn = f * cp[s] + i * g;
                cs[s] = cn;
                hs[s] = o * T.Tanh(cn);
            }
    }

    private static void LstmCellBackwardT<T>(Tensor acts, Tensor cPrev, Tensor c, Tensor dh, Tensor dc, Tensor dgates, Tensor dcPrev)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = Rows<T>(acts); var cp = Rows<T>(cPrev); var cs = Rows<T>(c); var dhs = Rows<T>(dh); var dcs = Rows<T>(dc);
        var dg = Rows<T>(dgates); var dcp = Rows<T>(dcPrev);
        int batch = acts.Dims[0], hidden = acts.Dims[1] / 4;
        for (int r = 0; r < batch; r++)
            for (int j = 0; j < hidden; j++)
            {
                int g0 = r * 4 * hidden + j, s = r * hidden + j;
                T i = a[g0], f = a[g0 + hidden], g = a[g0 + 2 * hidden], o = a[g0 + 3 * hidden];
                T t = T.Tanh(cs[s]);
                T dcTotal = dcs[s] + dhs[s] * o * (T.One - t * t);
                dg[g0] = dcTotal * g * i * (T.One - i);
                dg[g0 + hidden] = dcTotal * cp[s] * f * (T.One - f);
                dg[g0 + 2 * hidden] = dcTotal * i * (T.One - g * g);
                dg[g0 + 3 * hidden] = dhs[s] * t * o * (T.One - o);
                dcp[s] = dcTotal * f;
            }
    }
}
