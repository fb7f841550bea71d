using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// What the CPU this process runs on is: vendor, family and model, brand string, the vector extensions the
/// kernels care about and the data-cache sizes of one core. Read once, from CPUID on x86 (leaves 0, 1, 7,
/// 4 or 0x8000001D for the caches, 0x80000002–4 for the brand) and from /sys/devices/system/cpu elsewhere.
/// </summary>
/// <example>
/// <code>
/// var cpu = CpuInfo.Current;
/// Console.WriteLine($"{cpu.Brand}: {cpu.Vendor} family {cpu.Family} model {cpu.Model}, L2 {cpu.L2Bytes >> 10} KiB");
/// </code>
/// </example>
public sealed record CpuInfo
{
    /// <summary>The CPU of this process (read on first use).</summary>
    public static CpuInfo Current { get; } = Read();

    /// <summary>The vendor: "GenuineIntel", "AuthenticAMD", … ("unknown" off x86).</summary>
    public string Vendor { get; init; } = "unknown";
    /// <summary>The marketing name, e.g. "Intel(R) Xeon(R) Platinum 8488C" (may be generic under a hypervisor).</summary>
    public string Brand { get; init; } = "unknown";
    /// <summary>Display family (base + extended), e.g. 6 for Intel Core/Xeon, 25 (Zen 3/4) or 26 (Zen 5) for AMD.</summary>
    public int Family { get; init; }
    /// <summary>Display model (base + extended), e.g. 143 Sapphire Rapids, 207 Emerald Rapids.</summary>
    public int Model { get; init; }
    /// <summary>AVX2 and FMA3, as the JIT uses them.</summary>
    public bool Avx2Fma { get; init; }
    /// <summary>AVX-512F, as the JIT uses it (<see cref="Vector512.IsHardwareAccelerated"/>).</summary>
    public bool Avx512 { get; init; }
    /// <summary>AVX-512 VNNI (int8 dot products), from CPUID.</summary>
    public bool Avx512Vnni { get; init; }
    /// <summary>AVX-512 BF16, from CPUID.</summary>
    public bool Avx512Bf16 { get; init; }
    /// <summary>Level-1 data cache of one core, bytes (48 KiB assumed when unknown).</summary>
    public int L1Bytes { get; init; } = 48 << 10;
    /// <summary>Level-2 cache of one core, bytes (1 MiB assumed when unknown).</summary>
    public int L2Bytes { get; init; } = 1 << 20;
    /// <summary>Last-level cache, bytes (shared; 32 MiB assumed when unknown).</summary>
    public long L3Bytes { get; init; } = 32L << 20;

    /// <summary>Whether this is an Intel CPU.</summary>
    public bool IsIntel => Vendor == "GenuineIntel";
    /// <summary>Whether this is an AMD CPU.</summary>
    public bool IsAmd => Vendor == "AuthenticAMD";

    /// <summary>One line: brand, vendor/family/model, ISA and caches.</summary>
    public override string ToString()
    {
        string isa = Avx512 ? "AVX-512F" + (Avx512Vnni ? "+VNNI" : "") + (Avx512Bf16 ? "+BF16" : "") : Avx2Fma ? "AVX2+FMA" : "no AVX2";
        return $"{Brand} ({Vendor} family {Family} model {Model}; {isa}; L1d {L1Bytes >> 10} KiB, L2 {L2Bytes >> 10} KiB, L3 {L3Bytes >> 20} MiB)";
    }

    private static CpuInfo Read()
    {
        bool avx2 = Avx2.IsSupported && Fma.IsSupported, avx512 = Vector512.IsHardwareAccelerated;
        if (!X86Base.IsSupported) return FromSys(new CpuInfo { Avx2Fma = avx2, Avx512 = avx512 });

        var (maxLeaf, ebx0, ecx0, edx0) = X86Base.CpuId(0, 0);
        string vendor = Ascii(ebx0, edx0, ecx0);
        var (eax1, _, _, _) = X86Base.CpuId(1, 0);
        int baseFamily = (eax1 >> 8) & 0xF, baseModel = (eax1 >> 4) & 0xF;
        int family = baseFamily == 0xF ? baseFamily + ((eax1 >> 20) & 0xFF) : baseFamily;
        int model = baseFamily is 0x6 or 0xF ? baseModel + (((eax1 >> 16) & 0xF) << 4) : baseModel;
        bool vnni = false, bf16 = false;
        if (maxLeaf >= 7)
        {
            var (_, _, ecx7, _) = X86Base.CpuId(7, 0);
            vnni = (ecx7 & (1 << 11)) != 0;
            var (eax71, _, _, _) = X86Base.CpuId(7, 1);
            bf16 = (eax71 & (1 << 5)) != 0;
        }
        var info = new CpuInfo
        {
            Vendor = vendor, Brand = BrandString(), Family = family, Model = model,
            Avx2Fma = avx2, Avx512 = avx512, Avx512Vnni = avx512 && vnni, Avx512Bf16 = avx512 && bf16,
        };
        // Deterministic cache parameters: leaf 4 (Intel) or 0x8000001D (AMD), one sub-leaf per cache.
        int cacheLeaf = vendor == "AuthenticAMD" ? unchecked((int)0x8000001D) : 4;
        if (vendor == "AuthenticAMD" ? ExtendedMax() < unchecked((int)0x8000001D) : maxLeaf < 4) return FromSys(info);
        int l1 = 0, l2 = 0; long l3 = 0;
        for (int sub = 0; sub < 16; sub++)
        {
            var (a, b, c, _) = X86Base.CpuId(cacheLeaf, sub);
            int type = a & 0x1F;
            if (type == 0) break;
            int level = (a >> 5) & 0x7;
            long size = (long)(((b >> 22) & 0x3FF) + 1) * (((b >> 12) & 0x3FF) + 1) * ((b & 0xFFF) + 1) * ((long)(uint)c + 1);
            if (type == 2) continue; // instruction cache
            if (level == 1) l1 = (int)size;
            else if (level == 2) l2 = (int)size;
            else if (level == 3) l3 = size;
        }
        return l1 > 0 && l2 > 0 ? info with { L1Bytes = l1, L2Bytes = l2, L3Bytes = l3 > 0 ? l3 : info.L3Bytes } : FromSys(info);
    }

    private static int ExtendedMax() => X86Base.CpuId(unchecked((int)0x80000000), 0).Eax;

    private static string BrandString()
    {
        if (ExtendedMax() < unchecked((int)0x80000004)) return "unknown";
        var sb = new StringBuilder();
        for (int leaf = 0; leaf < 3; leaf++)
        {
            var (a, b, c, d) = X86Base.CpuId(unchecked((int)0x80000002) + leaf, 0);
            sb.Append(Ascii(a, b, c, d));
        }
        string s = sb.ToString().TrimEnd('\0').Trim();
        return s.Length == 0 ? "unknown" : s;
    }

    private static string Ascii(params int[] words)
    {
        var bytes = new byte[words.Length * 4];
        for (int i = 0; i < words.Length; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 4), words[i]);
        return Encoding.ASCII.GetString(bytes).TrimEnd('\0');
    }

    /// <summary>Cache sizes from Linux's /sys/devices/system/cpu/cpu0/cache (kept from <paramref name="info"/> where absent).</summary>
    private static CpuInfo FromSys(CpuInfo info)
    {
        int l1 = info.L1Bytes, l2 = info.L2Bytes; long l3 = info.L3Bytes;
        for (int i = 0; i < 8; i++)
        {
            string dir = $"/sys/devices/system/cpu/cpu0/cache/index{i}";
            try
            {
                if (!Directory.Exists(dir)) break;
                string type = File.ReadAllText(Path.Combine(dir, "type")).Trim();
                if (type == "Instruction") continue;
                int level = int.Parse(File.ReadAllText(Path.Combine(dir, "level")).Trim());
                long size = ParseSize(File.ReadAllText(Path.Combine(dir, "size")).Trim());
                if (size <= 0) continue;
                if (level == 1) l1 = (int)size;
                else if (level == 2) l2 = (int)size;
                else if (level == 3) l3 = size;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { break; }
        }
        return info with { L1Bytes = l1, L2Bytes = l2, L3Bytes = l3 };
    }

    /// <summary>"48K", "2048K", "32M" → bytes; −1 when unreadable.</summary>
    private static long ParseSize(string s)
    {
        long mult = s.EndsWith('K') ? 1024 : s.EndsWith('M') ? 1 << 20 : 1;
        return long.TryParse(mult == 1 ? s : s[..^1], out long v) ? v * mult : -1;
    }
}
