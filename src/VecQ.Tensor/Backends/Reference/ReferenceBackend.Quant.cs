namespace VecQ.Tensors;

// The weight quantizer's kernels as plain loops: two-pass moments in double, the projection element by
// element with the same float32 operations as the fast kernels, sums in double in index order.
public sealed partial class ReferenceBackend
{
    /// <inheritdoc/>
    public void GroupMoments(Tensor x, Tensor mean, Tensor std)
    {
        var (g, m) = QuantOps.CheckRows("group_moments", x);
        var xs = Data<float>(x);
        var ms = Data<double>(mean);
        var ss = Data<double>(std);
        for (int r = 0; r < g; r++)
        {
            double sum = 0;
            for (int i = 0; i < m; i++) sum += xs[x.Offset + r * m + i];
            double mu = sum / m, sq = 0;
            for (int i = 0; i < m; i++) { double d = xs[x.Offset + r * m + i] - mu; sq += d * d; }
            ms[mean.Offset + r] = mu;
            ss[std.Offset + r] = Math.Sqrt(sq / m);
        }
    }

    /// <inheritdoc/>
    public void GridProject(Tensor w, Tensor center, Tensor step, GridSpec spec, Tensor codes, Tensor v, Tensor dots)
    {
        var (g, m) = QuantOps.CheckRows("grid_project", w);
        var ws = Data<float>(w);
        var vs = Data<float>(v);
        var cs = Data<int>(codes);
        var cen = Data<float>(center);
        var st = Data<float>(step);
        var ds = Data<double>(dots);
        for (int r = 0; r < g; r++)
        {
            float c = cen[center.Offset + r], s = st[step.Offset + r];
            double wv = 0, vv = 0;
            for (int i = 0; i < m; i++)
            {
                float wi = ws[w.Offset + r * m + i];
                float x = c != 0 ? (wi - c) / s : wi / s;
                if (spec.PreSubtract != 0) x -= spec.PreSubtract;
                float rounded = Math.Min(Math.Max(MathF.Round(x, MidpointRounding.ToEven), spec.Lo), spec.Hi);
                float vi = rounded + spec.VOffset;
                cs[codes.Offset + r * m + i] = (int)rounded + spec.CodeShift;
                vs[v.Offset + r * m + i] = vi;
                wv += (double)wi * vi;
                vv += (double)vi * vi;
            }
            ds[dots.Offset + 2 * r] = wv;
            ds[dots.Offset + 2 * r + 1] = vv;
        }
    }

    /// <inheritdoc/>
    public void DequantizeSums(Tensor w, Tensor v, Tensor alpha, Tensor shift, Tensor q, Tensor sums)
    {
        var (g, m) = QuantOps.CheckRows("dequantize_sums", w);
        var ws = Data<float>(w);
        var vs = Data<float>(v);
        var qs = Data<float>(q);
        var a = Data<float>(alpha);
        var sh = Data<float>(shift);
        var ss = Data<double>(sums);
        for (int r = 0; r < g; r++)
        {
            float ar = a[alpha.Offset + r], mu = sh[shift.Offset + r];
            double ww = 0, wv = 0, vv = 0, sv = 0, sw = 0, ee = 0;
            for (int i = 0; i < m; i++)
            {
                float wi = ws[w.Offset + r * m + i], vi = vs[v.Offset + r * m + i];
                float qi = vi * ar;
                if (mu != 0) qi += mu;
                qs[q.Offset + r * m + i] = qi;
                double e = wi - qi;
                ww += (double)wi * wi; wv += (double)wi * vi; vv += (double)vi * vi; sv += vi; sw += wi; ee += e * e;
            }
            int o = sums.Offset + 6 * r;
            ss[o] = ww; ss[o + 1] = wv; ss[o + 2] = vv; ss[o + 3] = sv; ss[o + 4] = sw; ss[o + 5] = ee;
        }
    }
}
