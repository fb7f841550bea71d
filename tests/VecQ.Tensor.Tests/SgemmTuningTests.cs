using System.Runtime.Intrinsics;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors.Tests;

/// <summary>
/// The per-CPU kernel choice (<see cref="SgemmKernel.Choose"/>, the blocking derived from cache sizes, the
/// <c>VECQ_SGEMM_*</c> overrides) and every tile shape and blocking it can produce, against the naive reference.
/// </summary>
public class SgemmTuningTests
{
    private static readonly CpuInfo IntelXeon = new()
    {
        Vendor = "GenuineIntel", Brand = "test Xeon", Family = 6, Model = 207, Avx2Fma = true, Avx512 = true,
        L1Bytes = 48 << 10, L2Bytes = 2 << 20, L3Bytes = 260L << 20,
    };
    private static readonly CpuInfo AmdZen4 = IntelXeon with
    {
        Vendor = "AuthenticAMD", Brand = "test EPYC", Family = 25, Model = 17, L1Bytes = 32 << 10, L2Bytes = 1 << 20, L3Bytes = 32L << 20,
    };
    private static readonly CpuInfo AmdAvx2 = AmdZen4 with { Avx512 = false, Family = 23, Model = 49 };
    private static readonly CpuInfo NoSimd = AmdAvx2 with { Avx2Fma = false, Vendor = "unknown" };

    [Fact]
    public void Choose_ByVendorAndIsa()
    {
        Assert.Equal(SgemmIsa.Avx512, SgemmKernel.Choose(IntelXeon));
        Assert.Equal(SgemmIsa.Avx512, SgemmKernel.Choose(AmdZen4));
        Assert.Equal(SgemmIsa.Avx2, SgemmKernel.Choose(AmdAvx2));
        Assert.Equal(SgemmIsa.Portable, SgemmKernel.Choose(NoSimd));
    }

    [Fact]
    public void Blocking_FollowsTheCaches()
    {
        // Intel: the kc×32 B micro-panel fills at most two thirds of L1 (48 KiB → 256), the A block at most half of L2.
        var intel = SgemmKernel.For(SgemmIsa.Auto, IntelXeon, null, null);
        Assert.Equal((8, 32, 256, 256), (intel.MR, intel.NR, intel.KC, intel.KCSmallM));
        Assert.True(intel.KC * intel.NR * sizeof(float) <= IntelXeon.L1Bytes * 2 / 3, intel.ToString());
        Assert.True((long)intel.MC * intel.KC * sizeof(float) <= IntelXeon.L2Bytes / 2, intel.ToString());
        Assert.Equal(0, intel.MC % intel.MR);
        var small = SgemmKernel.For(SgemmIsa.Auto, IntelXeon with { L1Bytes = 32 << 10, L2Bytes = 1 << 20 }, null, null);
        Assert.True(small.KC < intel.KC && small.MC <= intel.MC, small.ToString());
        // AMD keeps the blocking measured there (DESIGN §9).
        var amd = SgemmKernel.For(SgemmIsa.Auto, AmdZen4, null, null);
        Assert.Equal((8, 32, 384, 192), (amd.MR, amd.NR, amd.KC, amd.MC));
        var tall = SgemmKernel.For(SgemmIsa.Avx512x12, IntelXeon, null, null);
        Assert.Equal((12, 32, 4), (tall.MR, tall.NR, tall.EdgeRows));
    }

    [Fact]
    public void EnvironmentOverrides_AreParsedOrRejected()
    {
        Assert.Equal(SgemmIsa.Avx512x12, SgemmKernel.For(SgemmIsa.Auto, AmdZen4, "avx512x12", null).Isa);
        Assert.Equal(SgemmIsa.Portable, SgemmKernel.For(SgemmIsa.Auto, IntelXeon, " Portable ", null).Isa);
        var k = SgemmKernel.For(SgemmIsa.Auto, IntelXeon, "avx512", "kc=100, mc=50,nc=70");
        Assert.Equal((100, 56, 96), (k.KC, k.MC, k.NC)); // mc and nc rounded up to whole register tiles
        var e1 = Assert.Throws<ArgumentException>(() => SgemmKernel.For(SgemmIsa.Auto, IntelXeon, "avx1024", null));
        Assert.Contains("VECQ_SGEMM_KERNEL", e1.Message);
        Assert.Contains("avx1024", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => SgemmKernel.For(SgemmIsa.Auto, IntelXeon, null, "kc=0"));
        Assert.Contains("VECQ_SGEMM_BLOCKING", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => SgemmKernel.For(SgemmIsa.Auto, IntelXeon, null, "kb=64"));
        Assert.Contains("'kb'", e3.Message);
    }

    /// <summary>The blocking each CPU profile gets (and two deliberately odd ones), on shapes that cross every block edge.</summary>
    public static TheoryData<string> Profiles() => new() { "intel", "intel-small-caches", "amd", "tall", "tall-odd", "8x32-odd" };

    [Theory]
    [MemberData(nameof(Profiles))]
    public void EveryProfile_MatchesNaive(string profile)
    {
        var kern = profile switch
        {
            "intel" => SgemmKernel.For(SgemmIsa.Auto, IntelXeon, null, null),
            "intel-small-caches" => SgemmKernel.For(SgemmIsa.Auto, IntelXeon with { L1Bytes = 32 << 10, L2Bytes = 256 << 10 }, null, null),
            "amd" => SgemmKernel.For(SgemmIsa.Auto, AmdZen4, null, null),
            "tall" => SgemmKernel.For(SgemmIsa.Avx512x12, IntelXeon, null, null),
            "tall-odd" => SgemmKernel.For(SgemmIsa.Avx512x12, IntelXeon, null, "kc=37,kcsmall=29,mc=40,nc=64"),
            _ => SgemmKernel.For(SgemmIsa.Avx512, IntelXeon, null, "kc=37,kcsmall=29,mc=40,nc=64"),
        };
        bool slow = !Vector512.IsHardwareAccelerated;
        // (m, n, k): 12·5 + 4 = 64 and 12·8 + 4 = 100 rows (edge kernel), 13 and 1 rows (spill tile), prime
        // depths (unrolled loop tails), the small-M path (m ≤ 256) with a partial last strip, the packed path.
        (int M, int N, int K, bool TA, bool TB)[] cases = slow
            ? [(64, 70, 41, false, false), (13, 33, 7, true, false), (100, 37, 67, false, true), (1, 5, 3, false, false)]
            : [(64, 1001, 211, false, false), (100, 130, 301, false, true), (13, 97, 7, true, false), (1, 67, 131, false, false),
               (281, 263, 97, true, true), (300, 530, 199, false, false), (64, 19 * 32 + 3, 800, false, false)];
        foreach (var (m, n, k, ta, tb) in cases)
            SgemmTests.Check(m, n, k, ta, tb, 1, 2, 3, 1f, 0.5f, [1, 2], kern, minFmasPerPart: 1, sharedLimitFloats: 64 * 256);
    }

    [Fact]
    public void CurrentCpu_IsDescribed()
    {
        var cpu = CpuInfo.Current;
        Assert.True(cpu.L1Bytes >= 8 << 10 && cpu.L2Bytes >= cpu.L1Bytes, cpu.ToString());
        Assert.Equal(Vector512.IsHardwareAccelerated, cpu.Avx512);
        Assert.Contains(cpu.Brand, cpu.ToString());
        if (Environment.GetEnvironmentVariable(SgemmKernel.KernelVariable) is null)
            Assert.Equal(SgemmKernel.Choose(cpu), Sgemm.Kernel.Isa);
    }
}

/// <summary>The per-CPU choice of Winograd kernel sizes and its <c>VECQ_WINOGRAD</c> override.</summary>
public class WinogradChoiceTests
{
    [Fact]
    public void WinogradSizes_ByCpu_AndOverride()
    {
        var intel = new CpuInfo { Vendor = "GenuineIntel", Avx2Fma = true, Avx512 = true };
        var amd = intel with { Vendor = "AuthenticAMD" };
        Assert.Equal([3], CpuBackend.ChooseWinogradSizes(intel, null));
        Assert.Equal([3, 5], CpuBackend.ChooseWinogradSizes(amd, null));
        Assert.Equal([3, 5], CpuBackend.ChooseWinogradSizes(intel with { Avx512 = false }, ""));
        Assert.Equal([3, 5], CpuBackend.ChooseWinogradSizes(intel, "5, 3"));
        Assert.Empty(CpuBackend.ChooseWinogradSizes(amd, "none"));
        Assert.Equal([5], CpuBackend.ChooseWinogradSizes(amd, "5"));
        var e = Assert.Throws<ArgumentException>(() => CpuBackend.ChooseWinogradSizes(amd, "7"));
        Assert.Contains("VECQ_WINOGRAD", e.Message);
    }
}
