// EmbedClassifier: classify image files with a packed VecQ model inside an ordinary .NET app, on the integer path, with
// no native ML runtime. The model file carries what the app needs: the architecture, the int8 codes, the evaluation
// preprocessing (size, crop, mean, std, channel order) and the class names.
//
//   dotnet run --project samples/EmbedClassifier -- lenet5-w2a8.vecq shirt.png boot.png
using System.Text.Json;
using System.Text.Json.Serialization;
using VecQ.Datasets;
using VecQ.Quant.Integer;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: EmbedClassifier MODEL.vecq IMAGE [IMAGE ...]   (a packed model from `vecq export`; PNG or JPEG images)");
    return 2;
}
try
{
    using var model = QuantizedModel.Load(args[0]);
    if (!model.Metadata.TryGetValue("eval_preprocess", out var pre))
        throw new InvalidDataException($"{args[0]}: the file records no evaluation preprocessing (re-export it with vecq export)");
    var preprocess = EvalPreprocess.FromJson(pre);
    string[] names = model.Metadata.TryGetValue("class_names", out var json) ? JsonSerializer.Deserialize(json, SampleJson.Default.StringArray) ?? [] : [];
    Console.WriteLine($"{model.ModelName}: {model.WeightBytes:N0} bytes of weights in memory ({model.Isa}); float32 would be {model.FloatWeightBytes:N0}");
    foreach (var file in args[1..])
    {
        float[] probs = model.Predict(preprocess.PreprocessFile(file));     // [classes], softmax of the logits
        int best = Array.IndexOf(probs, probs.Max());
        Console.WriteLine($"{file}: {(best < names.Length ? names[best] : best.ToString())} {100 * probs[best]:F1}%");
    }
    return 0;
}
catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or UnauthorizedAccessException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

// The class names' JSON read through generated code, so the app also publishes trimmed (PublishTrimmed) without warnings.
[JsonSerializable(typeof(string[]))]
internal sealed partial class SampleJson : JsonSerializerContext;
