using System.Text.Json;

namespace VecQ.Cli.Commands;

/// <summary>Writes the one JSON object that ends a command's stdout under --json (DESIGN §7).</summary>
internal static class JsonLine
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = false };

    public static void Write(TextWriter w, IReadOnlyDictionary<string, object?> fields) =>
        w.WriteLine(JsonSerializer.Serialize(fields, Options));
}
