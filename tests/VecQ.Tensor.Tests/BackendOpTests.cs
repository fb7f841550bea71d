namespace VecQ.Tensors.Tests;

/// <summary>
/// The op suite, written once and run on every backend column (<see cref="BackendCase"/>: reference, cpu,
/// sim, and cuda when a CUDA backend is registered, Skipped otherwise). Each test builds its inputs on the
/// column's device, runs the op there and compares what it reads back with the reference backend's result on
/// the CPU (<see cref="OpCheck"/>), over shapes with odd, prime and size-1 dimensions and non-contiguous views
/// (transposed, stepped, offset, expanded). The class is split by op family over BackendOpTests.*.cs. Tests of
/// the CPU backend's internals (thread counts, SGEMM, implicit GEMM, Winograd) stay CPU-only.
/// </summary>
public partial class BackendOpTests;
