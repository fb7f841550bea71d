using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors;

// The implicit-GEMM forward for small outputs (ResNet-18's 7×7 layers: 49 columns a sample) with blocks of samples
// side by side: one sample's GEMM [O, K]·[K, P] has too few columns for the register tiles (49 of 64 computed) and
// streams the whole packed weight matrix for each; with B samples the columns are the B·P output positions, read
// from the samples' padded planes laid out channel by channel ([C][B][Hp, Wp]), and the result [O, B·P] is copied
// out into each sample's [O, P]. Columns are computed independently, so the values are those of the per-sample path.
public sealed unsafe partial class CpuBackend
{
    /// <summary>Samples per block for <see cref="ImplicitForwardSideBySide"/>, or 1 where the per-sample path serves.</summary>
    private static int SideBySideBlock(Conv2dGeometry g)
    {
        int p = g.OH * g.OW, threads = Parallelism.Threads;
        if (g.Groups != 1 || g.N < 2 || p >= 128) return 1;
        // about 256 columns a block, and at least as many blocks as threads
        return Math.Clamp((256 + p - 1) / p, 1, (g.N + threads - 1) / threads);
    }

    /// <summary>y = conv(x, w) (+ bias) for an ungrouped geometry, <paramref name="block"/> samples per GEMM.</summary>
    private static void ImplicitForwardSideBySide(float* xp, float* wp, float* bp, float* yp, Conv2dGeometry g, int block)
    {
        SgemmKernel kern = Sgemm.Kernel;
        int o = g.O, c = g.C, k = c * g.KH * g.KW, p = g.OH * g.OW;
        int hp = g.H + 2 * g.PadH, wpd = g.W + 2 * g.PadW, plane = hp * wpd;
        int kc = Sgemm.EqualBlock(k, kern.KC);
        int blocks = (g.N + block - 1) / block, workers = Math.Min(Parallelism.Threads, blocks), cols = block * p;
        long aSize = Align16(Sgemm.PackedASize(kern, o, k));
        long padFloats = Align16((long)c * block * plane + ImplicitB.Slack), outFloats = Align16((long)o * cols);
        long offsets = Align16(k) + Align16(cols);                                   // ints: kernel and position offsets
        long panelFloats = Align16((long)kc * kern.NR + ImplicitB.Slack), tileFloats = Align16((long)kern.MR * kern.NR + ImplicitB.Slack);
        long perWorker = padFloats + outFloats + offsets + panelFloats + tileFloats;
        using var scratch = CpuScratch.Rent(aSize + workers * perWorker);
        float* packedW = scratch.Pointer, buf = packedW + aSize;
        Sgemm.PackAllA(kern, packedW, wp, k, false, o, k, kc);
        long imageIn = (long)c * g.H * g.W;

        WorkerPool.For(blocks, workers, (worker, bi) =>
        {
            float* pad = buf + worker * perWorker, outs = pad + padFloats, panel = outs + outFloats + offsets, tile = panel + panelFloats;
            int* kernelOff = (int*)(outs + outFloats), positionOff = kernelOff + Align16(k);
            int n0 = bi * block, images = Math.Min(block, g.N - n0), used = images * p;
            // x: the block's samples → pad: [C][images][Hp, Wp], then the slack the packer may read past the last plane
            PadSamples(xp + n0 * imageIn, images, g, hp, wpd, 0, c, pad);
            new Span<float>(pad + (long)c * images * plane, ImplicitB.Slack).Clear();
            // B(k = (ch, kh, kw), j = (sample s, oh, ow)) = pad[ch·images·plane + kh·dh·Wp + kw·dw + s·plane + oh·sh·Wp + ow·sw]
            int t = 0;
            for (int ch = 0; ch < c; ch++)
                for (int kh = 0; kh < g.KH; kh++)
                    for (int kw = 0; kw < g.KW; kw++)
                        kernelOff[t++] = ch * images * plane + kh * g.DilationH * wpd + kw * g.DilationW;
            t = 0;
            for (int s = 0; s < images; s++)
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow = 0; ow < g.OW; ow++)
                        positionOff[t++] = s * plane + oh * g.StrideH * wpd + ow * g.StrideW;
            // outs: [O, used] = W [O, K] · B [K, used] → y[n0 + s]: [O, P]
            Sgemm.RunImplicitB(kern, o, k, kc, packedW, new ImplicitB(pad, kernelOff, positionOff), 0, used, outs, used, 0f, panel, tile);
            for (int s = 0; s < images; s++)
            {
                float* ys = yp + (long)(n0 + s) * o * p;
                for (int oc = 0; oc < o; oc++)
                {
                    var row = new Span<float>(ys + (long)oc * p, p);
                    new ReadOnlySpan<float>(outs + (long)oc * used + s * p, p).CopyTo(row);
                    if (bp != null) System.Numerics.Tensors.TensorPrimitives.Add(row, bp[oc], row);
                }
            }
        });
    }
}
