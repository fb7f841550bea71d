using System.Runtime.CompilerServices;

namespace VecQ.Tensors.Backends.Cpu;

// GEMM against a B packed once and reused by many small products: an LSTM's recurrent weights, multiplied by
// the few rows of h at every time step (CpuBackend.Lstm.cs). Packing W_hh once per sequence instead of once
// per step leaves each step only its A rows (a few KB) to pack.
internal static unsafe partial class Sgemm
{
    /// <summary>Floats <see cref="PackAllB"/> writes for a k×n B.</summary>
    internal static long PackedBSize(in SgemmKernel kern, int k, int n) => RoundUp(n, kern.NR) * Math.Max(k, 1);

    /// <summary>
    /// Packs all of op(B) (k×n) for <see cref="RunPackedB"/>: K blocks of <paramref name="kcMax"/>, block pc at
    /// dst + ⌈n/NR⌉·NR·pc, each as ⌈n/NR⌉ micro-panels of kc×NR (columns past n zero).
    /// </summary>
    internal static void PackAllB(in SgemmKernel kern, float* dst, float* b, int ldb, bool transB, int k, int n, int kcMax)
    {
        long columns = RoundUp(n, kern.NR);
        for (int pc = 0; pc < k; pc += kcMax)
            Packing.PackB(dst + columns * pc, b, ldb, transB, pc, Math.Min(kcMax, k - pc), 0, n, kern.NR);
    }

    /// <summary>
    /// C ← A·B + beta·C (m×n, row stride <paramref name="ldc"/>) on the calling thread, for A packed by
    /// <see cref="PackAllA"/> and B by <see cref="PackAllB"/>, both with K blocks of <paramref name="kcMax"/>:
    /// <code>
    /// jr NR-wide columns    C strip m×NR stays in L1 across K
    ///  pc K blocks           the kc×NR micro-panel of B (L2 → L1)
    ///   q  A panels          micro-kernel (MR rows, EdgeRows rows, or a partial tile)
    /// </code>
    /// </summary>
    /// <param name="kern">The kernel both operands were packed for.</param>
    /// <param name="m">Rows of A and C.</param>
    /// <param name="n">Columns of B and C.</param>
    /// <param name="k">Depth.</param>
    /// <param name="kcMax">K block depth both were packed with.</param>
    /// <param name="packedA">A packed by <see cref="PackAllA"/>.</param>
    /// <param name="packedB">B packed by <see cref="PackAllB"/>.</param>
    /// <param name="c">C.</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <param name="beta">Scale of the old C; 0 overwrites without reading.</param>
    /// <param name="tile">Scratch for one MR×NR spill tile.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void RunPackedB(in SgemmKernel kern, int m, int n, int k, int kcMax, float* packedA, float* packedB,
        float* c, int ldc, float beta, float* tile)
    {
        if (k == 0) { ScaleC(m, n, c, ldc, beta); return; }
        var plan = new PanelPlan(kern, m);
        int nr = kern.NR;
        long blockRows = (long)plan.Panels * kern.MR, columns = RoundUp(n, nr);
        for (int jr = 0; jr < n; jr += nr)
        {
            int cols = Math.Min(nr, n - jr);
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                PanelColumn(kern, plan, kc, packedA + blockRows * pc, packedB + columns * pc + (long)jr * kc, c + jr, ldc, cols, pc == 0 ? beta : 1f, tile);
            }
        }
    }
}
