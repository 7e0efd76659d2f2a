using System.Buffers.Binary;
using System.Text.Json;
using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>
/// The check of an untrusted <c>model.safetensors</c> before TorchSharp.PyBridge reads it: PyBridge allocates every
/// tensor with the shape and dtype its header claims, so the header must first match the model that model.json
/// describes, tensor by tensor, and account for every byte of the file. Each failure is one line naming the file and
/// the problem (exit code BadModel), as for a damaged weights.bin.
/// </summary>
public static class SafetensorsHeader
{
    /// <summary>The safetensors dtype code of each element type NatEm stores.</summary>
    public static string DtypeCode(ScalarType type) => type switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Float16 => "F16",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a weights dtype"),
    };

    /// <summary>
    /// Checks that the safetensors file at <paramref name="path"/> holds exactly the tensors of
    /// <paramref name="expected"/> (a model's state dictionary), each with its shape, stored as <paramref name="dtype"/>,
    /// their data laid end to end to the end of the file; the file holds at most <paramref name="maxBytes"/> bytes.
    /// </summary>
    public static void Require(string path, IReadOnlyDictionary<string, Tensor> expected, ScalarType dtype, long maxBytes)
    {
        NatEmException Bad(string problem) => NatEmException.In(path, problem, ExitCodes.BadModel);
        using var stream = File.OpenRead(path);
        long length = stream.Length;
        if (length > maxBytes) throw Bad($"holds more than the {maxBytes:N0} bytes its model needs");
        if (length < sizeof(ulong)) throw Bad($"truncated: {length} bytes, shorter than the 8-byte header size of a safetensors file");
        Span<byte> sizeField = stackalloc byte[sizeof(ulong)];
        stream.ReadExactly(sizeField);
        ulong headerSize = BinaryPrimitives.ReadUInt64LittleEndian(sizeField);
        if (headerSize > (ulong)(length - sizeof(ulong)))
            throw Bad($"truncated or not a safetensors file: the header size field says {headerSize:N0} bytes, but {length - sizeof(ulong):N0} follow it");
        var header = new byte[headerSize];
        stream.ReadExactly(header);
        long dataBytes = length - sizeof(ulong) - (long)headerSize;

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Bad($"corrupt safetensors header: not JSON ({e.Message})");
        }
        using var _ = document;
        if (document.RootElement.ValueKind != JsonValueKind.Object) throw Bad("corrupt safetensors header: not a JSON object");

        string code = DtypeCode(dtype);
        int elementBytes = dtype == ScalarType.Float32 ? 4 : 2;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var ranges = new List<(long Start, long End, string Name)>();
        foreach (var entry in document.RootElement.EnumerateObject())
        {
            var name = entry.Name;
            if (name == "__metadata__")
            {
                if (entry.Value.ValueKind != JsonValueKind.Object || entry.Value.EnumerateObject().Any(p => p.Value.ValueKind != JsonValueKind.String))
                    throw Bad("corrupt safetensors header: __metadata__ must map names to strings");
                continue;
            }
            if (!expected.TryGetValue(name, out var tensor)) throw Bad($"unexpected tensor \"{name}\": the architecture in {ModelStore.ManifestFile} has no such weight");
            if (!seen.Add(name)) throw Bad($"tensor \"{name}\" appears twice in the header");
            if (!TryReadEntry(entry.Value, out var storedDtype, out var shape, out var start, out var end))
                throw Bad($"tensor \"{name}\": malformed header entry (needs a dtype string, a shape of sizes and two data_offsets)");
            if (storedDtype != code)
                throw Bad($"tensor \"{name}\" is stored as {storedDtype}, but {ModelStore.ManifestFile}'s weights_dtype needs {code}");
            if (!shape.SequenceEqual(tensor.shape))
                throw Bad($"tensor \"{name}\" has shape [{string.Join(", ", shape)}], but the architecture in {ModelStore.ManifestFile} needs [{string.Join(", ", tensor.shape)}]");
            long needed = tensor.numel() * elementBytes;
            if (end - start != needed)
                throw Bad($"tensor \"{name}\": data_offsets [{start}, {end}] hold {end - start:N0} bytes, but its shape needs {needed:N0}");
            if (end > dataBytes)
                throw Bad($"truncated: tensor \"{name}\" ends at byte {end:N0} of the data, but the file holds {dataBytes:N0} bytes of data");
            ranges.Add((start, end, name));
        }
        var missing = expected.Keys.Where(name => !seen.Contains(name)).ToList();
        if (missing.Count > 0)
            throw Bad($"missing tensor \"{missing[0]}\"{(missing.Count > 1 ? $" and {missing.Count - 1} more" : "")}, which the architecture in {ModelStore.ManifestFile} needs");
        long position = 0;
        foreach (var (start, end, name) in ranges.OrderBy(r => r.Start))
        {
            if (start != position) throw Bad($"tensor \"{name}\"'s data starts at byte {start:N0}, not {position:N0}: tensors overlap or leave a gap");
            position = end;
        }
        if (position != dataBytes)
            throw Bad($"{dataBytes - position:N0} bytes follow the last tensor's data (the file is damaged or was appended to)");
    }

    /// <summary>An entry <c>{"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}</c>; false if it is not one.</summary>
    private static bool TryReadEntry(JsonElement entry, out string dtype, out long[] shape, out long start, out long end)
    {
        (dtype, shape, start, end) = ("", [], 0, 0);
        if (entry.ValueKind != JsonValueKind.Object
            || !entry.TryGetProperty("dtype", out var dtypeJson) || dtypeJson.ValueKind != JsonValueKind.String
            || !entry.TryGetProperty("shape", out var shapeJson) || !TryReadSizes(shapeJson, out shape)
            || !entry.TryGetProperty("data_offsets", out var offsetsJson) || !TryReadSizes(offsetsJson, out var offsets)
            || offsets.Length != 2 || offsets[1] < offsets[0])
            return false;
        (dtype, start, end) = (dtypeJson.GetString()!, offsets[0], offsets[1]);
        return true;
    }

    private static bool TryReadSizes(JsonElement array, out long[] sizes)
    {
        sizes = [];
        if (array.ValueKind != JsonValueKind.Array) return false;
        var list = new List<long>();
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var size) || size < 0) return false;
            list.Add(size);
        }
        sizes = [.. list];
        return true;
    }
}
