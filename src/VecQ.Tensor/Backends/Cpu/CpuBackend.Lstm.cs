using System.Runtime.CompilerServices;
using VecQ.Tensors.Backends.Cpu;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VecQ.Tensors;

// The fused LSTM cell (IFusedLstmCell) in float32: per row of the batch, the gate nonlinearities, the state
// update and (backward) its gradient in one SIMD pass (the forward on 512-bit vectors first where accelerated,
// CpuBackend.Lstm512.cs); rows in parallel when large. The whole recurrence (IFusedLstmRecurrence): each thread
// takes whole rows of the batch through every step (their recurrent product against W_hh packed once, then their
// cells), since a sequence depends only on its own earlier steps: no fork and join per step.
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void LstmCell(Tensor gates, Tensor? bias, Tensor cPrev, Tensor acts, Tensor c, Tensor h)
    {
        if (NotF32(gates)) { ((IFusedLstmCell)Reference).LstmCell(gates, bias, cPrev, acts, c, h); return; } // float64: the reference backend
        // gates, acts: [B, 4H]; bias: [4H] or none; cPrev, c, h: [B, H], contiguous
        int batch = gates.Dims[0], hidden = gates.Dims[1] / 4;
        float* gp = Ptr(gates), ap = Ptr(acts), cpp = Ptr(cPrev), cp = Ptr(c), hp = Ptr(h);
        float* bp = bias is null ? null : Ptr(bias);
        void Rows(int r0, int r1)
        {
            for (int r = r0; r < r1; r++)
                RowForward(gp + (long)r * 4 * hidden, bp, cpp + (long)r * hidden, ap + (long)r * 4 * hidden, cp + (long)r * hidden, hp + (long)r * hidden, hidden);
        }
        int chunks = ChunksFor(batch, (long)batch * hidden * 24);
        if (chunks == 1) Rows(0, batch); else ForChunks(batch, chunks, (_, r0, r1) => Rows(r0, r1));
    }

    /// <inheritdoc/>
    public void LstmForwardSteps(Tensor whhT, Tensor? bias, Tensor h0, Tensor acts, Tensor cells, Tensor output, bool reverse)
    {
        if (NotF32(acts)) { RnnOps.UnfusedLstmForwardSteps(Reference, whhT, bias, h0, acts, cells, output, reverse); return; } // float64
        // whhT: [H, 4H], bias: [4H] or none, h0: [B, H], acts: [T, B, 4H], cells: [T + 1, B, H], output: [T, B, H]; contiguous
        int steps = acts.Dims[0], batch = acts.Dims[1], g4 = acts.Dims[2], hidden = g4 / 4;
        SgemmKernel kern = Sgemm.Kernel;
        int kc = Sgemm.EqualBlock(hidden, kern.KC);
        using var packed = CpuScratch.Rent(Sgemm.PackedBSize(kern, hidden, g4));
        float* wp = packed.Pointer;
        Sgemm.PackAllB(kern, wp, Ptr(whhT), g4, false, hidden, g4, kc);                 // once for every step
        float* ap = Ptr(acts), cp = Ptr(cells), op = Ptr(output), h0p = Ptr(h0);
        float* bp = bias is null ? null : Ptr(bias);
        long gStep = (long)batch * g4, hStep = (long)batch * hidden;
        // rows r0..r1 of the batch through every step: their product with the packed W_hh, then their cells
        void Rows(int r0, int r1)
        {
            int rows = r1 - r0;
            var buf = PackBuffers.ForCurrentThread();
            float* pa = buf.Get(PackBuffers.SlotA, (nint)Sgemm.PackedASize(kern, rows, hidden));
            float* tile = buf.Get(PackBuffers.SlotTile, (nint)kern.MR * kern.NR);
            for (int s = 0; s < steps; s++)
            {
                int t = reverse ? steps - 1 - s : s;
                float* hPrev = s == 0 ? h0p + (long)r0 * hidden : op + (reverse ? t + 1 : t - 1) * hStep + (long)r0 * hidden;
                float* gates = ap + t * gStep + (long)r0 * g4;                       // [rows, 4H]
                Sgemm.PackAllA(kern, pa, hPrev, hidden, false, rows, hidden, kc);
                Sgemm.RunPackedB(kern, rows, g4, hidden, kc, pa, wp, gates, g4, 1f, tile);
                float* cPrev = cp + s * hStep + (long)r0 * hidden, c = cPrev + hStep, h = op + t * hStep + (long)r0 * hidden;
                for (int r = 0; r < rows; r++)
                    RowForward(gates + (long)r * g4, bp, cPrev + (long)r * hidden, gates + (long)r * g4, c + (long)r * hidden, h + (long)r * hidden, hidden);
            }
        }
        RecurrenceChunks(batch, (long)steps * batch * g4 * hidden, Rows);
    }

    /// <inheritdoc/>
    public void LstmBackwardSteps(Tensor whh, Tensor acts, Tensor cells, Tensor dOutput, Tensor dc, Tensor dG, bool reverse)
    {
        if (NotF32(acts)) { RnnOps.UnfusedLstmBackwardSteps(Reference, whh, acts, cells, dOutput, dc, dG, reverse); return; } // float64
        // whh: [4H, H], acts, dG: [T, B, 4H], cells: [T + 1, B, H], dOutput: [T, B, H], dc: [B, H]; contiguous
        int steps = acts.Dims[0], batch = acts.Dims[1], g4 = acts.Dims[2], hidden = g4 / 4;
        SgemmKernel kern = Sgemm.Kernel;
        int kc = Sgemm.EqualBlock(g4, kern.KC);
        using var packed = CpuScratch.Rent(Sgemm.PackedBSize(kern, g4, hidden));
        float* wp = packed.Pointer;
        Sgemm.PackAllB(kern, wp, Ptr(whh), hidden, false, g4, hidden, kc);              // once for every step
        float* ap = Ptr(acts), cp = Ptr(cells), dyp = Ptr(dOutput), dcp = Ptr(dc), dgp = Ptr(dG);
        long gStep = (long)batch * g4, hStep = (long)batch * hidden;
        // rows r0..r1 of the batch through every step from the last: dh = dy + dG[t_next]·W_hh, then their cell gradients
        void Rows(int r0, int r1)
        {
            int rows = r1 - r0;
            var buf = PackBuffers.ForCurrentThread();
            float* pa = buf.Get(PackBuffers.SlotA, (nint)Sgemm.PackedASize(kern, rows, g4));
            float* dh = buf.Get(PackBuffers.SlotB, (nint)rows * hidden);               // [rows, H]
            float* tile = buf.Get(PackBuffers.SlotTile, (nint)kern.MR * kern.NR);
            for (int s = steps - 1; s >= 0; s--)
            {
                int t = reverse ? steps - 1 - s : s;
                new ReadOnlySpan<float>(dyp + t * hStep + (long)r0 * hidden, rows * hidden).CopyTo(new Span<float>(dh, rows * hidden));
                if (s < steps - 1)
                {
                    Sgemm.PackAllA(kern, pa, dgp + (reverse ? t - 1 : t + 1) * gStep + (long)r0 * g4, g4, false, rows, g4, kc);
                    Sgemm.RunPackedB(kern, rows, hidden, g4, kc, pa, wp, dh, hidden, 1f, tile);
                }
                float* a = ap + t * gStep + (long)r0 * g4, dg = dgp + t * gStep + (long)r0 * g4;
                float* cPrev = cp + s * hStep + (long)r0 * hidden, c = cPrev + hStep, dcr = dcp + (long)r0 * hidden;
                for (int r = 0; r < rows; r++)
                {
                    long row = (long)r * hidden;
                    RowBackward(a + 4 * row, cPrev + row, c + row, dh + row, dcr + row, dg + 4 * row, dcr + row, hidden);
                }
            }
        }
        RecurrenceChunks(batch, (long)steps * batch * g4 * hidden, Rows);
    }

    // The batch's rows in chunks of whole 8-row blocks (the micro-kernel's height), each run through every step by one
    // thread: about two chunks per thread, so a thread the OS holds up delays the end by half its share at most.
    private static void RecurrenceChunks(int batch, long fmas, Action<int, int> rows)
    {
        int blocks = (batch + 7) / 8;
        int byThreads = ChunksFor(blocks, fmas, 1L << 20);
        int chunks = byThreads == 1 ? 1 : Math.Min(2 * byThreads, blocks);
        if (chunks <= 1) rows(0, batch);
        else ForChunks(blocks, chunks, (_, b0, b1) => rows(8 * b0, Math.Min(batch, 8 * b1)));
    }

    /// <inheritdoc/>
    public void LstmCellBackward(Tensor acts, Tensor cPrev, Tensor c, Tensor dh, Tensor dc, Tensor dgates, Tensor dcPrev)
    {
        if (NotF32(acts)) { ((IFusedLstmCell)Reference).LstmCellBackward(acts, cPrev, c, dh, dc, dgates, dcPrev); return; } // float64
        int batch = acts.Dims[0], hidden = acts.Dims[1] / 4;
        float* ap = Ptr(acts), cpp = Ptr(cPrev), cp = Ptr(c), dhp = Ptr(dh), dcp = Ptr(dc), dgp = Ptr(dgates), dcpp = Ptr(dcPrev);
        void Rows(int r0, int r1)
        {
            for (int r = r0; r < r1; r++)
            {
                long row = (long)r * hidden;
                RowBackward(ap + 4 * row, cpp + row, cp + row, dhp + row, dcp + row, dgp + 4 * row, dcpp + row, hidden);
            }
        }
        int chunks = ChunksFor(batch, (long)batch * hidden * 24);
        if (chunks == 1) Rows(0, batch); else ForChunks(batch, chunks, (_, r0, r1) => Rows(r0, r1));
    }

    // One row of the cell: g: [4H] pre-activations (i, f, g, o) without the bias, b: [4H] or null, cPrev: [H] → a: [4H]
    // activations (a may be g), c, h: [H]; one pass, SIMD with the scalar tail written the same way (sigmoid and tanh
    // through exp, as SigmoidV/TanhV).
    private static void RowForward(float* g, float* b, float* cPrev, float* a, float* c, float* h, int hidden)
    {
        int j = Vector512.IsHardwareAccelerated ? RowForward512(g, b, cPrev, a, c, h, hidden) : 0;
        if (Fma.IsSupported && Avx2.IsSupported)
            for (; j + 8 <= hidden; j += 8)
            {
                Vector256<float> Z(int k) => b == null ? Avx.LoadVector256(g + k) : Avx.Add(Avx.LoadVector256(g + k), Avx.LoadVector256(b + k));
                var i = SigmoidV(Z(j)); var f = SigmoidV(Z(hidden + j));
                var gg = TanhV(Z(2 * hidden + j)); var o = SigmoidV(Z(3 * hidden + j));
                Avx.Store(a + j, i); Avx.Store(a + hidden + j, f); Avx.Store(a + 2 * hidden + j, gg); Avx.Store(a + 3 * hidden + j, o);
                var cn = f * Avx.LoadVector256(cPrev + j) + i * gg;
                Avx.Store(c + j, cn);
                Avx.Store(h + j, o * TanhV(cn));
            }
        for (; j < hidden; j++)
        {
            float B(int k) => b == null ? 0f : b[k];
            float i = Sigmoid1(g[j] + B(j)), f = Sigmoid1(g[hidden + j] + B(hidden + j));
            float gg = Tanh1(g[2 * hidden + j] + B(2 * hidden + j)), o = Sigmoid1(g[3 * hidden + j] + B(3 * hidden + j));
            a[j] = i; a[hidden + j] = f; a[2 * hidden + j] = gg; a[3 * hidden + j] = o;
            float cn = f * cPrev[j] + i * gg;
            c[j] = cn;
            h[j] = o * Tanh1(cn);
        }
    }

    // σ(x) = 1 / (1 + e^−x) and tanh(x) = 1 − 2 / (e^2x + 1), through ExpV (±∞ give 0/1 and ±1; NaN stays NaN;
    // tanh near 0 is within ~1e-7 absolute of the exact value). AVX2 + FMA; the scalar forms below serve the tails
    // and machines without them.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> SigmoidV(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + ExpV(-x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> TanhV(Vector256<float> x) => Vector256<float>.One - Vector256.Create(2f) / (ExpV(x + x) + Vector256<float>.One);

    // e^x within about 2 ulp: x clamped to [−87.3, 88.7] (so the result is finite and normal: e^−87.3 ≈ 1.2e−38, which is
    // what 0 needs to be for σ and tanh), n = round(x·log₂e), r = x − n·ln2 in two parts, e^r by its Taylor polynomial of
    // degree 7 (|r| ≤ ln2/2), times 2ⁿ built in the exponent bits. A NaN input gives NaN.
    private const float ExpLow = -87.3f, ExpHigh = 88.7f;                 // the clamp
    private const float Log2E = 1.44269504f;                             // n = round(x·log₂e)
    private const float Ln2High = 0.693145752f, Ln2Low = 1.42860677e-6f; // ln2 in two parts: r = x − n·ln2

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ExpV(Vector256<float> x)
    {
        var xc = Avx.Min(Avx.Max(x, Vector256.Create(ExpLow)), Vector256.Create(ExpHigh));
        var n = Avx.RoundToNearestInteger(Avx.Multiply(xc, Vector256.Create(Log2E)));
        var r = Fma.MultiplyAddNegated(n, Vector256.Create(Ln2High), xc);
        r = Fma.MultiplyAddNegated(n, Vector256.Create(Ln2Low), r);
        var p = Vector256.Create(1f / 5040);
        p = Fma.MultiplyAdd(p, r, Vector256.Create(1f / 720));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(1f / 120));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(1f / 24));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(1f / 6));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(0.5f));
        p = Fma.MultiplyAdd(p, r, Vector256<float>.One);
        p = Fma.MultiplyAdd(p, r, Vector256<float>.One);
        var scale = Avx2.ShiftLeftLogical(Avx2.Add(Avx.ConvertToVector256Int32(n), Vector256.Create(127)), 23).AsSingle();   // 2ⁿ
        return Avx.BlendVariable(x, Avx.Multiply(p, scale), Avx.CompareEqual(x, x));
    }

    private static float Sigmoid1(float x) => 1f / (1f + MathF.Exp(-x));
    private static float Tanh1(float x) => 1f - 2f / (MathF.Exp(x + x) + 1f);

    // Gradients through time shrink step by step towards the subnormal range (below 2^−126 ≈ 1.2e−38), where an
    // Intel core takes a microcode assist of about a hundred cycles per operand or result: on a Xeon the LSTM
    // classifier's train step (batch 64, 200 steps) took 1.5 s (TorchSharp's too), its GEMMs running at 7 GFLOP/s.
    // The cell's backward therefore sets to zero every gradient it reads or writes whose magnitude is below
    // 2^−100 ≈ 7.9e−31 (FlushExponent): such a value times a weight or an activation down to 2^−26 stays normal, so
    // the GEMMs that consume the gate gradients never see subnormals (flushing only true subnormals, as a core in
    // flush-to-zero mode would, left the step at 0.23 s: products of the small normals just above underflowed).
    // A gradient that small is lost in float32 rounding beside any contribution above 2^−76 ≈ 1.3e−23, so this
    // changes nothing but gradients that have vanished already. The test is on the exponent bits: integer
    // operations, which never take the assist.
    private const int FlushExponent = 127 - 100;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Flush(Vector256<float> v)
    {
        var exponent = Avx2.And(v.AsInt32(), Vector256.Create(0x7F800000));
        return Avx2.AndNot(Avx2.CompareGreaterThan(Vector256.Create(FlushExponent << 23), exponent), v.AsInt32()).AsSingle();
    }

    private static float Flush1(float v) => (BitConverter.SingleToInt32Bits(v) & 0x7F800000) < FlushExponent << 23 ? 0f : v;

    // One row of the cell gradient: a: [4H] (i, f, g, o), cPrev, c, dh, dc: [H] → dg: [4H], dcPrev: [H]
    // (dcPrev may be dc: each element is read before it is written).
    private static void RowBackward(float* a, float* cPrev, float* c, float* dh, float* dc, float* dg, float* dcPrev, int hidden)
    {
        int j = 0;
        var one = Vector256<float>.One;
        if (Fma.IsSupported && Avx2.IsSupported)
            for (; j + 8 <= hidden; j += 8)
            {
                var i = Avx.LoadVector256(a + j); var f = Avx.LoadVector256(a + hidden + j);
                var g = Avx.LoadVector256(a + 2 * hidden + j); var o = Avx.LoadVector256(a + 3 * hidden + j);
                var tj = TanhV(Avx.LoadVector256(c + j)); var dhj = Flush(Avx.LoadVector256(dh + j));
                var dcTotal = Flush(Flush(Avx.LoadVector256(dc + j)) + dhj * o * (one - tj * tj));
                Avx.Store(dg + j, Flush(dcTotal * g * i * (one - i)));
                Avx.Store(dg + hidden + j, Flush(dcTotal * Avx.LoadVector256(cPrev + j) * f * (one - f)));
                Avx.Store(dg + 2 * hidden + j, Flush(dcTotal * i * (one - g * g)));
                Avx.Store(dg + 3 * hidden + j, Flush(dhj * tj * o * (one - o)));
                Avx.Store(dcPrev + j, Flush(dcTotal * f));
            }
        for (; j < hidden; j++)
        {
            float i = a[j], f = a[hidden + j], g = a[2 * hidden + j], o = a[3 * hidden + j], tj = Tanh1(c[j]);
            float dhj = Flush1(dh[j]);
            float dcTotal = Flush1(Flush1(dc[j]) + dhj * o * (1 - tj * tj));
            dg[j] = Flush1(dcTotal * g * i * (1 - i));
            dg[hidden + j] = Flush1(dcTotal * cPrev[j] * f * (1 - f));
            dg[2 * hidden + j] = Flush1(dcTotal * i * (1 - g * g));
            dg[3 * hidden + j] = Flush1(dhj * tj * o * (1 - o));
            dcPrev[j] = Flush1(dcTotal * f);
        }
    }

}
