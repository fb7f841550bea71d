namespace VecQ.Tensors;

// The weight quantizer's kernels: each row (group) through the span kernels of QuantKernels, which cut
// long rows into fixed chunks on the worker threads (results independent of the thread count).
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void GroupMoments(Tensor x, Tensor mean, Tensor std)
    {
        var (g, m) = QuantOps.CheckRows("group_moments", x);
        float* px = Ptr(x);
        double* pm = Ptr<double>(mean), ps = Ptr<double>(std);
        for (int r = 0; r < g; r++) (pm[r], ps[r]) = QuantKernels.MeanStd(new ReadOnlySpan<float>(px + (long)r * m, m));
    }

    /// <inheritdoc/>
    public void GridProject(Tensor w, Tensor center, Tensor step, GridSpec spec, Tensor codes, Tensor v, Tensor dots)
    {
        var (g, m) = QuantOps.CheckRows("grid_project", w);
        float* pw = Ptr(w), pv = Ptr(v), pc = Ptr(center), pst = Ptr(step);
        int* pcode = IntPtr(codes);
        double* pd = Ptr<double>(dots);
        for (int r = 0; r < g; r++)
        {
            long o = (long)r * m;
            (pd[2 * r], pd[2 * r + 1]) = QuantKernels.Project(new ReadOnlySpan<float>(pw + o, m), pc[r], pst[r], spec.PreSubtract, spec.Lo, spec.Hi,
                spec.CodeShift, spec.VOffset, new Span<int>(pcode + o, m), new Span<float>(pv + o, m));
        }
    }

    /// <inheritdoc/>
    public void DequantizeSums(Tensor w, Tensor v, Tensor alpha, Tensor shift, Tensor q, Tensor sums)
    {
        var (g, m) = QuantOps.CheckRows("dequantize_sums", w);
        float* pw = Ptr(w), pv = Ptr(v), pq = Ptr(q), pa = Ptr(alpha), psh = Ptr(shift);
        double* ps = Ptr<double>(sums);
        for (int r = 0; r < g; r++)
        {
            long o = (long)r * m;
            var s = QuantKernels.DequantizeSums(new ReadOnlySpan<float>(pw + o, m), new ReadOnlySpan<float>(pv + o, m), pa[r], psh[r],
                new Span<float>(pq + o, m));
            double* row = ps + 6 * r;
            row[0] = s.WW; row[1] = s.WV; row[2] = s.VV; row[3] = s.SumV; row[4] = s.SumW; row[5] = s.SquaredError;
        }
    }
}
