using System.CommandLine;
using VecQ.Cli.Commands;

namespace VecQ.Cli;

/// <summary>Builds the command tree and maps failures to exit codes (2 for bad options, 1 for failed runs).</summary>
internal static class Cli
{
    /// <summary>Exit code for invalid options.</summary>
    public const int BadOptions = 2;
    /// <summary>Exit code for a run that failed.</summary>
    public const int Failed = 1;

    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var output = new Output(stdout ?? Console.Out, stderr ?? Console.Error, stderr == null && !Console.IsErrorRedirected);
        var root = new RootCommand("VecQ.NET: train, evaluate and benchmark (quantized) models in pure .NET")
        {
            TrainCommand.Build(output),
            EvalCommand.Build(output),
            BenchCommand.Build(output),
            TheoryCommand.Build(output),
            DqlCommand.Build(output),
            ExportCommand.Build(output),
            QuantizeCommand.Build(output),
            PlotCommand.Build(output),
            SummaryCommand.Build(output),
            PredictCommand.Build(output),
            DoctorCommand.Build(output),
            CudaCheckCommand.Build(output),
        };
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) output.Err.WriteLine($"vecq: {e.Message}");
            output.Err.WriteLine("run 'vecq --help' (or 'vecq <command> --help') for the options");
            return BadOptions;
        }
        try
        {
            VecQ.Tensors.CpuBackend.ValidateEnvironment();
        }
        catch (ArgumentException e)
        {
            output.Err.WriteLine($"vecq: {e.Message}");
            return BadOptions;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = output.Out, Error = output.Err, EnableDefaultExceptionHandler = false });
        }
        catch (Training.TrainingDivergedException e)
        {
            output.Err.WriteLine($"vecq: {e.Message}");
            return Failed;
        }
        catch (Training.TrainingInterruptedException e)
        {
            output.Err.WriteLine($"vecq: {e.Message}");
            return Failed;
        }
        catch (OptionException e)
        {
            output.Err.WriteLine($"vecq: {e.Message}");
            return BadOptions;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or InvalidOperationException or UnauthorizedAccessException)
        {
            output.Err.WriteLine($"vecq: error: {e.Message}");
            return Failed;
        }
    }
}

/// <summary>An option value that is out of range or inconsistent (exit code 2).</summary>
internal sealed class OptionException(string message) : Exception(message);

/// <summary>
/// Where a command writes: results to <see cref="Out"/>, progress to <see cref="Err"/>; <see cref="ErrIsTerminal"/>
/// when Err is a terminal (progress then redraws one line in place).
/// </summary>
internal sealed record Output(TextWriter Out, TextWriter Err, bool ErrIsTerminal = false);
