// VecQ.Bench: micro-benchmarks quoted against the machine (DESIGN §9).
//
//   dotnet run -c Release --project bench/VecQ.Bench -- gemm [--json] [--threads T] [--repeats R]
//   dotnet run -c Release --project bench/VecQ.Bench -- conv [--json] [--threads T] [--repeats R] [--lenet-only] [--direct] [--set paper|resnet18|mobilenet-v2] [--forward-only]
//   dotnet run -c Release --project bench/VecQ.Bench -- tail [--json] [--threads T] [--repeats R]
//   dotnet run -c Release --project bench/VecQ.Bench -- kernels [--repeats R]
//   dotnet run -c Release --project bench/VecQ.Bench -- int8 --checkpoint F.vecq [--batch-size B] [--json] [--threads T] [--repeats R]
//
// Every speed is a ratio measured in the same run: GFLOP/s over the FMA peak timed just before and just
// after each repeat (Measure.cs). With --json the last stdout line is one JSON object.

using VecQ.Bench;

if (args.Length == 0)
    return Usage();

string command = args[0];
string[] rest = args[1..];
try
{
    VecQ.Tensors.CpuBackend.ValidateEnvironment(); // a bad VECQ_SGEMM_* / VECQ_WINOGRAD value: its own message, not a type-initializer crash
    switch (command)
    {
        case "gemm":
            return GemmBench.Run(BenchOptions.Parse(rest));

        case "conv":
            return ConvBench.Run(BenchOptions.Parse(rest));

        case "tail":
            return TailBench.Run(BenchOptions.Parse(rest));

        case "kernels":
            return KernelBench.Run(BenchOptions.Parse(rest));

        case "int8":
            return Int8Bench.Run(BenchOptions.Parse(rest));

        case "-h":
        case "--help":
        case "help":
            Usage(Console.Out);
            return 0;
        default:
            Console.Error.WriteLine($"unknown subcommand '{command}'");
            return Usage();
    }
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return Usage();
}

static int Usage(TextWriter? w = null)
{
    w ??= Console.Error;
    w.WriteLine("usage: VecQ.Bench <subcommand> [options]");
    w.WriteLine("  gemm [--json] [--threads T] [--repeats R] [--shape MxNxK[:tA|:tB|:tAB]]...   SGEMM 256/512/1024/2048 square and LeNet5 conv2 (64x19600x800), or the shapes given");
    w.WriteLine("  kernels [--repeats R]   each SGEMM micro-kernel alone on L1-resident operands (the ceiling of the loop nests)");
    w.WriteLine("  conv [--json] [--threads T] [--repeats R] [--lenet-only] [--direct] [--set paper|resnet18|mobilenet-v2] [--forward-only]   conv2d fwd/bwd of LeNet5 and VGG-like layers at batch 100, or of ResNet-18/MobileNetV2 at batch 8, 224² (--direct: no Winograd)");
    w.WriteLine("  int8 --checkpoint F.vecq [--batch-size B] | int8 --gemm   batch inference of a packed model: integer path against the float network, the fake-quantized model and ONNX Runtime; or the int8 product alone");
    w.WriteLine("  tail [--json] [--threads T] [--repeats R]   ReLU → batch norm → max pool at the LeNet5 shapes: fused against the unfused ops");
    w.WriteLine("options:");
    w.WriteLine("  --json        print one JSON object as the last stdout line");
    w.WriteLine("  --threads T   threads for kernels and the FMA peak (default: processor count)");
    w.WriteLine("  --repeats R   peak→kernel→peak repeats per case; the median is reported (default 7)");
    return 2;
}
