using System.CommandLine;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using VecQ.Tensors;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Cli.Commands;

/// <summary>
/// `vecq doctor`: what this machine is and what VecQ.NET chose for it: the CPU (vendor, family/model, ISA,
/// caches), the SGEMM micro-kernel and blocking, threads, the runtime, the environment overrides in effect
/// and, unless <c>--no-peak</c>, the FMA peak measured now (the bar every speed figure is quoted against); then the CUDA
/// libraries found (driver, cuBLAS, NVRTC: paths and versions) and the GPUs, or one line saying what is missing.
/// </summary>
internal static class DoctorCommand
{
    public static Command Build(Output output)
    {
        var json = new Option<bool>("--json") { Description = "end stdout with one JSON object of the same" };
        var noPeak = new Option<bool>("--no-peak") { Description = "skip the half-second FMA-peak measurement" };
        var cmd = new Command("doctor", "the CPU, the kernels and blocking chosen for it, threads and runtime") { json, noPeak };
        cmd.SetAction(p =>
        {
            var cpu = CpuInfo.Current;
            string kernel = CpuBackend.SgemmChoice;
            double? peak = p.GetValue(noPeak) ? null : FmaPeak.Measure(Parallelism.Threads, 0.5);
            string? kernelVar = Environment.GetEnvironmentVariable(CpuBackend.SgemmKernelVariable);
            string? blockingVar = Environment.GetEnvironmentVariable(CpuBackend.SgemmBlockingVariable);
            output.Out.WriteLine($"cpu:          {cpu.Brand}");
            output.Out.WriteLine($"              {cpu.Vendor}, family {cpu.Family}, model {cpu.Model}; {Environment.ProcessorCount} logical processors");
            output.Out.WriteLine($"isa:          AVX2+FMA {Yes(cpu.Avx2Fma)}, AVX-512F {Yes(cpu.Avx512)} (Vector512 accelerated {Yes(Vector512.IsHardwareAccelerated)}), VNNI {Yes(cpu.Avx512Vnni)}, BF16 {Yes(cpu.Avx512Bf16)}");
            output.Out.WriteLine($"caches:       L1d {cpu.L1Bytes >> 10} KiB, L2 {cpu.L2Bytes >> 10} KiB per core; L3 {cpu.L3Bytes >> 20} MiB");
            output.Out.WriteLine($"sgemm:        {kernel}");
            string winograd = CpuBackend.WinogradKernelSizes.Count == 0 ? "none" : string.Join(", ", CpuBackend.WinogradKernelSizes.Select(k => $"{k}×{k}"));
            output.Out.WriteLine($"winograd:     {winograd} (stride 1, ≥ 16 channels each way)");
            output.Out.WriteLine($"overrides:    {CpuBackend.SgemmKernelVariable}={kernelVar ?? "(unset)"}, {CpuBackend.SgemmBlockingVariable}={blockingVar ?? "(unset)"}, {CpuBackend.WinogradVariable}={Environment.GetEnvironmentVariable(CpuBackend.WinogradVariable) ?? "(unset)"}");
            output.Out.WriteLine($"threads:      {Parallelism.Threads}");
            output.Out.WriteLine($"runtime:      {RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription} ({RuntimeInformation.ProcessArchitecture})");
            if (peak is double g) output.Out.WriteLine($"fma peak:     {g:F0} GFLOP/s FP32 on {Parallelism.Threads} thread(s), measured now");
            var cuda = VecQ.Cuda.CudaLibraries.Describe();
            for (int i = 0; i < cuda.Count; i++) output.Out.WriteLine((i == 0 ? "cuda:         " : "              ") + cuda[i]);
            if (p.GetValue(json))
            {
                JsonLine.Write(output.Out, new Dictionary<string, object?>
                {
                    ["cpu"] = cpu.ToString(), ["vendor"] = cpu.Vendor, ["brand"] = cpu.Brand, ["family"] = cpu.Family, ["model"] = cpu.Model,
                    ["avx2_fma"] = cpu.Avx2Fma, ["avx512f"] = cpu.Avx512, ["avx512_vnni"] = cpu.Avx512Vnni, ["avx512_bf16"] = cpu.Avx512Bf16,
                    ["l1d_bytes"] = cpu.L1Bytes, ["l2_bytes"] = cpu.L2Bytes, ["l3_bytes"] = cpu.L3Bytes,
                    ["sgemm_kernel"] = kernel, ["winograd_kernel_sizes"] = CpuBackend.WinogradKernelSizes, ["threads"] = Parallelism.Threads, ["runtime"] = RuntimeInformation.FrameworkDescription,
                    ["fma_peak_gflops"] = peak, ["cuda"] = cuda,
                });
            }
            return 0;
        });
        return cmd;
    }

    private static string Yes(bool b) => b ? "yes" : "no";
}
