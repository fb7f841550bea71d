using System.Text.Json;

namespace VecQ.Tensors.Tests;

/// <summary>A float32 reference tensor: shape plus flat row-major data.</summary>
public sealed record FixtureTensor(int[] Shape, float[] Data)
{
    /// <summary>Number of elements (product of the shape; 1 for a 0-d tensor).</summary>
    public int Length => Data.Length;
}

/// <summary>
/// A PyTorch reference case produced by tools/fixtures/make_tensor_fixtures.py,
/// read from Fixtures/&lt;name&gt;.json in the test output directory.
/// </summary>
public sealed class Fixture
{
    private readonly JsonElement _tensors;

    private Fixture(string name, string path, JsonElement root)
    {
        Name = name;
        Path = path;
        Params = root.TryGetProperty("params", out var p) ? p : default;
        _tensors = root.TryGetProperty("tensors", out var t) ? t : default;
        if (Params.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"Fixture file '{path}' has no \"params\" object.");
        if (_tensors.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"Fixture file '{path}' has no \"tensors\" object.");
    }

    /// <summary>Case name (the file name without extension).</summary>
    public string Name { get; }

    /// <summary>Full path of the JSON file that was loaded.</summary>
    public string Path { get; }

    /// <summary>The raw "params" object.</summary>
    public JsonElement Params { get; }

    /// <summary>Names of all tensors in the fixture.</summary>
    public IEnumerable<string> TensorKeys => _tensors.EnumerateObject().Select(p => p.Name).ToArray();

    /// <summary>Loads Fixtures/&lt;name&gt;.json from the test output directory.</summary>
    public static Fixture Load(string name)
    {
        string path = System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", name + ".json");
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"Fixture '{name}' not found at '{path}'. Regenerate with " +
                "'/usr/bin/python3 tools/fixtures/make_tensor_fixtures.py' and check that the test " +
                "csproj copies Fixtures/*.json to the output directory.", path);

        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Fixture file '{path}' is not valid JSON: {e.Message}", e);
        }
        return new Fixture(name, path, root);
    }

    /// <summary>True when the fixture has a tensor with this key.</summary>
    public bool HasTensor(string key) => _tensors.TryGetProperty(key, out _);

    /// <summary>True when the fixture has a parameter with this key.</summary>
    public bool HasParam(string key) => Params.TryGetProperty(key, out _);

    // ------------------------------------------------------------------ params

    /// <summary>The raw JSON value of a parameter.</summary>
    public JsonElement Param(string key)
    {
        if (!Params.TryGetProperty(key, out var v))
            throw new KeyNotFoundException($"Fixture file '{Path}' has no param '{key}'.");
        return v;
    }

    /// <summary>An integer parameter.</summary>
    public int Int(string key)
    {
        var v = Param(key);
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i))
            throw Bad(key, "an int", v);
        return i;
    }

    /// <summary>An integer-array parameter (e.g. stride [sh, sw]).</summary>
    public int[] Ints(string key)
    {
        var v = Param(key);
        if (v.ValueKind != JsonValueKind.Array)
            throw Bad(key, "an int array", v);
        var result = new int[v.GetArrayLength()];
        int n = 0;
        foreach (var e in v.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out result[n]))
                throw Bad(key, "an int array", v);
            n++;
        }
        return result;
    }

    /// <summary>A boolean parameter.</summary>
    public bool Bool(string key)
    {
        var v = Param(key);
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(key, "a bool", v),
        };
    }

    /// <summary>A numeric parameter.</summary>
    public double Double(string key)
    {
        var v = Param(key);
        if (v.ValueKind != JsonValueKind.Number)
            throw Bad(key, "a number", v);
        return v.GetDouble();
    }

    /// <summary>A string parameter.</summary>
    public string String(string key)
    {
        var v = Param(key);
        if (v.ValueKind != JsonValueKind.String)
            throw Bad(key, "a string", v);
        return v.GetString()!;
    }

    // ------------------------------------------------------------------ tensors

    /// <summary>A float32 tensor.</summary>
    public FixtureTensor Tensor(string key)
    {
        var (shape, data) = ReadTensor(key, "float32");
        var values = new float[data.GetArrayLength()];
        int n = 0;
        foreach (var e in data.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Number)
                throw new InvalidDataException($"Fixture file '{Path}': tensor '{key}' has a non-number at index {n}.");
            // The JSON holds the exact float32 value written as a double.
            values[n++] = (float)e.GetDouble();
        }
        return new FixtureTensor(shape, values);
    }

    /// <summary>An int32 tensor (labels, pooling indices).</summary>
    public (int[] Shape, int[] Data) IntTensor(string key)
    {
        var (shape, data) = ReadTensor(key, "int32");
        var values = new int[data.GetArrayLength()];
        int n = 0;
        foreach (var e in data.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out values[n]))
                throw new InvalidDataException($"Fixture file '{Path}': tensor '{key}' has a non-int32 value at index {n}.");
            n++;
        }
        return (shape, values);
    }

    private (int[] Shape, JsonElement Data) ReadTensor(string key, string expectedDtype)
    {
        if (!_tensors.TryGetProperty(key, out var t) || t.ValueKind != JsonValueKind.Object)
            throw new KeyNotFoundException(
                $"Fixture file '{Path}' has no tensor '{key}'. Available: {string.Join(", ", TensorKeys)}.");

        string dtype = t.TryGetProperty("dtype", out var d) && d.ValueKind == JsonValueKind.String
            ? d.GetString()!
            : "float32";
        if (dtype != expectedDtype)
            throw new InvalidDataException(
                $"Fixture file '{Path}': tensor '{key}' has dtype '{dtype}', expected '{expectedDtype}'" +
                (expectedDtype == "float32" ? " (use IntTensor)." : " (use Tensor)."));

        if (!t.TryGetProperty("shape", out var s) || s.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"Fixture file '{Path}': tensor '{key}' has no \"shape\" array.");
        if (!t.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"Fixture file '{Path}': tensor '{key}' has no \"data\" array.");

        var shape = new int[s.GetArrayLength()];
        long count = 1;
        int i = 0;
        foreach (var e in s.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out shape[i]) || shape[i] < 0)
                throw new InvalidDataException($"Fixture file '{Path}': tensor '{key}' has a bad shape.");
            count *= shape[i++];
        }
        if (count != data.GetArrayLength())
            throw new InvalidDataException(
                $"Fixture file '{Path}': tensor '{key}' shape [{string.Join(", ", shape)}] needs {count} values " +
                $"but data has {data.GetArrayLength()}.");
        return (shape, data);
    }

    private InvalidDataException Bad(string key, string what, JsonElement v) =>
        new($"Fixture file '{Path}': param '{key}' is not {what} (got {v.ValueKind}: {v.GetRawText()}).");

    /// <inheritdoc />
    public override string ToString() => $"Fixture({Name})";
}
