// vecq: the VecQ.NET command line (train / eval / bench).
//
//   dotnet run -c Release --project src/VecQ.Cli -- train            # LeNet5 on Fashion-MNIST
//   dotnet run -c Release --project src/VecQ.Cli -- eval --checkpoint runs/lenet5/best.safetensors
//   dotnet run -c Release --project src/VecQ.Cli -- bench --model lenet5 --batch-size 100
//
// Exit codes: 0 success, 1 a run failed (bad data, corrupt file), 2 bad command-line options.

using VecQ.Cli;

return Cli.Run(args);
