using System.Globalization;
using System.Runtime.InteropServices;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Bench;

/// <summary>
/// The <c>kernels</c> subcommand: each SGEMM micro-kernel alone on operands that stay in L1 (one kc×NR B panel,
/// one MR×kc A panel, one C tile), on one thread. Its fraction of the one-thread FMA peak is the ceiling the
/// loop nests above it can reach; the gap between it and <c>gemm</c> is the memory hierarchy's.
/// </summary>
internal static unsafe class KernelBench
{
    /// <summary>Times every family this machine runs at full speed at k-depths 128, 192, 256, 384.</summary>
    public static int Run(BenchOptions o)
    {
        if (o.Extra.Count > 0) throw new ArgumentException($"kernels: unknown option '{o.Extra[0]}'");
        var inv = CultureInfo.InvariantCulture;
        Measure.PrintMachine();
        Console.WriteLine($"micro-kernels alone on L1-resident operands, 1 thread, {o.Repeats} repeats, medians; fraction of the 1-thread FMA peak");
        Console.WriteLine($"{"kernel",-12} {"kc",5} {"GFLOP/s",9} {"peak",8} {"fraction",8} {"best",6}");
        var isas = new List<SgemmIsa>();
        if (CpuInfo.Current.Avx512) isas.AddRange([SgemmIsa.Avx512x12, SgemmIsa.Avx512]);
        if (CpuInfo.Current.Avx2Fma) isas.Add(SgemmIsa.Avx2);
        isas.Add(SgemmIsa.Portable);
        foreach (var isa in isas)
        {
            var kern = SgemmKernel.For(isa);
            foreach (int kc in new[] { 128, 192, 256, 384 })
            {
                float* a = (float*)NativeMemory.AlignedAlloc((nuint)(kern.MR * kc * 4), 64);
                float* b = (float*)NativeMemory.AlignedAlloc((nuint)(kern.NR * kc * 4), 64);
                float* c = (float*)NativeMemory.AlignedAlloc((nuint)(kern.MR * kern.NR * 4), 64);
                try
                {
                    for (int i = 0; i < kern.MR * kc; i++) a[i] = 1e-3f * (i % 7);
                    for (int i = 0; i < kern.NR * kc; i++) b[i] = 1e-3f * (i % 5);
                    var fn = kern.Fn;
                    int mr = kern.MR, nr = kern.NR;
                    Measured r = Measure.Interleaved(() =>
                    {
                        for (int rep = 0; rep < 64; rep++) fn(kc, a, b, nr, c, nr, 1f, null, 0, 0);
                    }, 64.0 * 2 * mr * nr * kc, 1, o.Repeats);
                    Console.WriteLine(string.Format(inv, "{0,-12} {1,5} {2,9:F1} {3,8:F1} {4,8:F3} {5,6:F3}",
                        $"{mr}x{nr}", kc, r.Gflops, r.PeakGflops, r.FractionOfPeak, r.BestFraction));
                }
                finally
                {
                    NativeMemory.AlignedFree(a);
                    NativeMemory.AlignedFree(b);
                    NativeMemory.AlignedFree(c);
                }
            }
        }
        return 0;
    }
}
