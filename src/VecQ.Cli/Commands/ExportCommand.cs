using System.CommandLine;
using VecQ.Cli.Training;
using VecQ.Nn;
using VecQ.Onnx;
using VecQ.Quant;

namespace VecQ.Cli.Commands;

/// <summary>`vecq export --checkpoint F --wbits K --out F.vecq`: writes the packed k-bit model (<see cref="PackedModel"/>).</summary>
internal static class ExportCommand
{
    public static Command Build(Output output)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "a .safetensors checkpoint written by vecq train", Required = true };
        var wbits = new Option<int?>("--wbits") { Description = "weight bits 1..16 (default: the checkpoint's, else 4)" };
        var method = new Option<string?>("--method") { Description = "vecq, ul2q, twn, l2, uniform or binary (default: the checkpoint's, else vecq)" };
        var lambda = new Option<string?>("--lambda") { Description = "VecQ step: gaussian or exact (default: the checkpoint's)" };
        var granularity = new Option<string?>("--granularity") { Description = "tensor or channel (default: the checkpoint's)" };
        var outPath = new Option<string>("--out") { Description = "the packed file to write (e.g. lenet5-w2.vecq)", Required = true };
        var json = new Option<bool>("--json") { Description = "end stdout with one JSON object of results" };
        var format = new Option<string>("--format") { Description = "vecq (the packed k-bit file) or onnx (a float checkpoint as plain ONNX; a quantized one, or a packed file, in the QDQ form)", DefaultValueFactory = _ => "vecq" };
        var cmd = new Command("export", "write a checkpoint as a packed quantized model (k-bit codes and scales) or as ONNX") { checkpoint, wbits, method, lambda, granularity, outPath, format, json };
        cmd.SetAction(p =>
        {
            string path = p.GetValue(checkpoint)!, dest = p.GetValue(outPath)!;
            if (string.IsNullOrWhiteSpace(dest) || Directory.Exists(dest)) throw new OptionException($"--out '{dest}': expected a file path");
            string fmt = p.GetValue(format)!;
            if (fmt is not ("vecq" or "onnx")) throw new OptionException($"--format '{fmt}': expected vecq or onnx");
            if (p.GetValue(wbits) is int wb && (wb < 1 || wb > 16)) throw new OptionException($"--wbits {wb}: expected 1..16");
            if (fmt == "onnx") return Onnx(output, path, dest, p.GetValue(wbits), p.GetValue(json));
            return Packed(output, path, dest, p.GetValue(wbits), p.GetValue(method), p.GetValue(lambda), p.GetValue(granularity), p.GetValue(json));
        });
        return cmd;
    }

    // The packed k-bit file (PACKED_FORMAT.md).
    private static int Packed(Output output, string path, string dest, int? wbits, string? method, string? lambda, string? granularity, bool json)
    {
        if (method is string mn) QuantSpec.ParseMethod("--method", mn);
        if (lambda is string ln) QuantSpec.ParseLambda(ln);
        if (granularity is string gn) QuantSpec.ParseGranularity(gn);
        if (!File.Exists(path)) throw new OptionException($"--checkpoint {path}: file not found");

        var (model, config, meta, saved) = CheckpointModel.Load(path, attachWeights: false);
        var spec = QuantSpec.Parse(
            wbits ?? (saved.WBits < 32 ? saved.WBits : 4), saved.ABits,
            method ?? saved.Method.Name(),
            lambda ?? (saved.Lambda == LambdaMode.Exact ? "exact" : "gaussian"),
            granularity ?? (saved.Granularity == Granularity.PerChannel ? "channel" : "tensor"))
            with { FirstLayerBits = saved.FirstLayerBits, LastLayerBits = saved.LastLayerBits, QuantizeBiases = saved.QuantizeBiases, ActQuant = saved.ActQuant };
        // the checkpoint's layer options against an overridden --wbits / --method
        try { spec.Validate(); }
        catch (OptionException e) { throw new OptionException($"{e.Message} (recorded in {path}; export keeps the checkpoint's layer options)"); }
        spec.AttachWeights(model);
        // what `vecq eval` and CheckpointModel need to rebuild the model (PACKED_FORMAT.md, "Metadata written by vecq export")
        var extra = new Dictionary<string, string>(meta.Extra)
        {
            ["model"] = config.Model, ["config"] = config.ToJson(), ["source"] = Path.GetFileName(path),
            ["epoch"] = meta.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        spec.WriteTo(extra);
        if (ModelFactory.IsText(config.Model)) TextTraining.CopyVocabulary(path, dest, meta);   // eval/predict read it beside the packed file
        var size = PackedModel.Export(model, dest, extra);
        output.Out.WriteLine($"{dest}: {spec.Method.Name()} {spec.WBits}-bit weights; float {size.FloatBytes:N0} bytes, packed {size.PackedBytes:N0} bytes (file {size.FileBytes:N0}), ratio {size.Ratio:F2}x");
        if (json)
            JsonLine.Write(output.Out, new Dictionary<string, object?>
            {
                ["path"] = dest, ["bytes_float"] = size.FloatBytes, ["bytes_packed"] = size.PackedBytes, ["ratio"] = size.Ratio,
                ["file_bytes"] = size.FileBytes, ["wbits"] = spec.WBits, ["method"] = spec.Method.Name(),
            });
        return 0;
    }

    // ONNX: a packed file as QDQ; a checkpoint with quantized weights (or any, with --wbits) through a packed file as QDQ;
    // a checkpoint with float weights (no --wbits) with float initializers (and QDQ activations if it has quantizers).
    private static int Onnx(Output output, string path, string dest, int? wbits, bool json)
    {
        if (!File.Exists(path)) throw new OptionException($"--checkpoint {path}: file not found");
        var (model, config, meta, spec, packedBytes) = CheckpointModel.LoadForEval(path);
        OnnxExportReport r;
        using (model)
        {
            if (packedBytes is not null) r = OnnxExport.FromPacked(path, dest);
            else if (spec.WBits >= 32 && wbits is null)
            {
                // float weights: plain Conv/Gemm initializers; activation quantizers, when trained with them, as QDQ pairs
                model.RemoveQuantizers();
                r = OnnxExport.FromModel(model, dest);
            }
            else
            {
                // the codes as the packed export makes them, then the QDQ graph from that file
                string tmp = dest + ".vecq-" + Environment.ProcessId;
                try
                {
                    Packed(new Output(TextWriter.Null, output.Err), path, tmp, wbits, null, null, null, json: false);
                    r = OnnxExport.FromPacked(tmp, dest);
                }
                finally { File.Delete(tmp); }
            }
        }
        output.Out.WriteLine($"{dest}: {config.Model} as ONNX opset {OnnxExport.Opset}, {r.Nodes} nodes, {r.QuantizedWeights} integer weights, {r.QuantizedActivations} QDQ activations, {r.Bytes:N0} bytes");
        if (json)
            JsonLine.Write(output.Out, new Dictionary<string, object?>
            {
                ["path"] = dest, ["format"] = "onnx", ["opset"] = OnnxExport.Opset, ["nodes"] = r.Nodes, ["quantized_weights"] = r.QuantizedWeights,
                ["quantized_activations"] = r.QuantizedActivations, ["file_bytes"] = r.Bytes, ["model"] = config.Model, ["source_epoch"] = meta.Epoch,
            });
        return 0;
    }
}
