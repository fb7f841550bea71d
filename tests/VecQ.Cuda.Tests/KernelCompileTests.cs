using System.Text.RegularExpressions;
using VecQ.Tensors;

namespace VecQ.Cuda.Tests;

/// <summary>A theory that needs NVRTC: Skipped where it is missing, except under CI (CI=true), which installs it and must run these.</summary>
internal sealed class KernelTheoryAttribute : TheoryAttribute
{
    public KernelTheoryAttribute()
    {
        if (!KernelCompiler.NvrtcAvailable && Environment.GetEnvironmentVariable("CI") != "true")
            Skip = "NVRTC (libnvrtc) is not installed on this machine";
    }
}

/// <summary>A fact for machines without the CUDA driver (Skipped where libcuda loads).</summary>
internal sealed class NoDriverFactAttribute : FactAttribute
{
    public NoDriverFactAttribute()
    {
        if (VecQ.Cuda.Native.NativeLibraries.PathOf("cuda") != null) Skip = "this machine has a CUDA driver";
    }
}

// Every kernel the CUDA backend launches compiles with NVRTC for the three architectures we target, with every entry
// point the backend names: the embedded modules, and the elementwise kernels generated from every built-in op's spec.
public class KernelCompileTests
{
    // a cache folder emptied once per test run (beside the test assembly), so every kernel is really compiled here
    private static readonly string FreshCache = EmptyFolder(Path.Combine(AppContext.BaseDirectory, "kernel-cache"));

    private static string EmptyFolder(string path)
    {
        if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        return Directory.CreateDirectory(path).FullName;
    }

    private static string Compile(string source, string program, string arch)
    {
        using var _ = new EnvironmentVariable("VECQ_CUDA_CACHE", FreshCache);
        return KernelCompiler.CompilePtx(source, program, arch, CudaContext.CompileOptions);
    }

    public static TheoryData<string, string> Modules()
    {
        var data = new TheoryData<string, string>();
        foreach (var m in KernelSources.Modules)
            foreach (var arch in new[] { "compute_70", "compute_80", "compute_90" }) data.Add(m, arch);
        return data;
    }

    [KernelTheory]
    [MemberData(nameof(Modules))]
    public void ModuleCompilesWithEveryDeclaredEntryPoint(string module, string arch)
    {
        string source = KernelSources.Module(module);
        var declared = Regex.Matches(source, @"extern ""C"" __global__ void (\w+)\(").Select(m => m.Groups[1].Value).ToList();
        // the macros declare kernels through token pasting: expand their uses by the names the backend asks for
        declared.AddRange(MacroKernels(module));
        Assert.NotEmpty(declared);
        string ptx = Compile(source, module + ".cu", arch);
        var entries = KernelCompiler.EntryPoints(ptx);
        foreach (var name in declared) Assert.Contains(name, entries);
    }

    // The kernels the backend names that come from macros (data.cu's copy_S_D and where_T_C, index.cu's four per dtype).
    private static IEnumerable<string> MacroKernels(string module)
    {
        string[] all = ["f32", "f64", "i32"], floats = ["f32", "f64"];
        return module switch
        {
            "data" => all.SelectMany(s => all.Select(d => $"copy_{s}_{d}")).Concat(floats.SelectMany(t => all.Select(c => $"where_{t}_{c}"))),
            "index" => floats.SelectMany(t => new[] { $"index_select_{t}", $"index_add_{t}", $"gather_{t}", $"scatter_add_{t}" })
                .Concat(["index_select_i32", "gather_i32"]),
            _ => [],
        };
    }

    public static TheoryData<string, string> Specs()
    {
        IUnaryOp[] unary =
        [
            new Neg(), new Exp(), new Log(), new Sqrt(), new Abs(), new Sign(), new Relu(), new Relu6(), new Sigmoid(), new Tanh(),
            new RoundHalfEven(), new Clamp(-1, 1), new PowScalar(2.5), new Affine(-1, 1),
            new ScalarRight<Add>(new Add(), 0.5), new ScalarLeft<Div>(new Div(), 1), new ScalarRight<Compare>(new Compare(CompareKind.Ge), 0),
            new ScalarRight<Maximum>(new Maximum(), 0), new ScalarLeft<Pow>(new Pow(), 2),
        ];
        IBinaryOp[] binary =
        [
            new Add(), new Sub(), new Mul(), new Div(), new Pow(), new Maximum(), new Minimum(), new ReluGrad(),
            .. Enum.GetValues<CompareKind>().Select(k => (IBinaryOp)new Compare(k)),
        ];
        var data = new TheoryData<string, string>();
        foreach (var spec in unary.Select(o => o.Spec).Concat(binary.Select(o => o.Spec)))
            foreach (var dt in new[] { "float32", "float64" }) data.Add(spec.Name + "|" + spec.Arity + "|" + spec.Expression + "|" + string.Join(",", spec.Parameters), dt);
        return data;
    }

    [KernelTheory]
    [MemberData(nameof(Specs))]
    public void GeneratedElementwiseKernelCompiles(string specText, string dtype)
    {
        var parts = specText.Split('|');
        var parameters = parts[3].Length == 0 ? [] : parts[3].Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var spec = new ElementwiseSpec(parts[0], int.Parse(parts[1]), parts[2], parameters);
        var dt = dtype == "float32" ? DType.Float32 : DType.Float64;
        foreach (var arch in new[] { "compute_70", "compute_80", "compute_90" })
        {
            string ptx = Compile(ElementwiseKernels.Source(spec, dt), ElementwiseKernels.Key(spec, dt) + ".cu", arch);
            Assert.Contains(ElementwiseKernels.Entry, KernelCompiler.EntryPoints(ptx));
        }
    }

    [Fact]
    public void TranslationCastsLiteralsAndMapsFunctionsForFloat32()
    {
        var spec = new ElementwiseSpec("t", 2, "fmax(a, 0.5) * exp(b) + p0", 3.0);
        Assert.Equal("fmaxf(a_, ((T)0.5)) * expf(b_) + p0", ElementwiseKernels.Translate(spec, DType.Float32));
        Assert.Equal("fmax(a_, ((T)0.5)) * exp(b_) + p0", ElementwiseKernels.Translate(spec, DType.Float64));
    }

    [Fact]
    public void AnUnknownIdentifierInASpecIsAClearError()
    {
        var spec = new ElementwiseSpec("bad", 1, "sinh(x)");
        var e = Assert.Throws<ArgumentException>(() => ElementwiseKernels.Source(spec, DType.Float32));
        Assert.Contains("sinh", e.Message);
        Assert.Contains("bad", e.Message);
    }

    [NoDriverFact]
    public void WithoutADriverTheCudaDeviceGivesOneClearError()
    {
        var e = Assert.ThrowsAny<Exception>(() => Backend.For(Device.Cuda(0)));
        Assert.Contains("no CUDA driver", e.Message);
        Assert.Contains("libcuda", e.Message);
    }

    [Fact]
    public void AllocatorBucketsRoundUp()
    {
        Assert.Equal(512, CudaAllocator.Bucket(1));
        Assert.Equal(1024, CudaAllocator.Bucket(513));
        Assert.Equal(1 << 20, CudaAllocator.Bucket(1 << 20));
        Assert.Equal((1 << 20) + (1 << 18), CudaAllocator.Bucket((1 << 20) + 1));   // quarter steps above 1 MiB
        Assert.Equal(3L << 29, CudaAllocator.Bucket((3L << 29) - 5));
    }
}
