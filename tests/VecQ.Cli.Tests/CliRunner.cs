using System.Text.Json;

namespace VecQ.Cli.Tests;

/// <summary>Runs the `vecq` command in-process and captures its output.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Out, string Err)
    {
        /// <summary>The JSON object on the last stdout line (--json).</summary>
        public JsonElement Json()
        {
            var last = Out.TrimEnd().Split('\n').Last();
            return JsonDocument.Parse(last).RootElement.Clone();
        }
    }

    public static Result Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Cli.Run(args, o, e);
        return new Result(code, o.ToString(), e.ToString());
    }

    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "vecq-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }
}

/// <summary>CLI tests share process-wide settings (thread count): run them one at a time.</summary>
[CollectionDefinition("cli", DisableParallelization = true)]
public sealed class CliCollection;
