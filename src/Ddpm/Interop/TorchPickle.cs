using System.IO.Compression;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Ddpm.Interop;

/// <summary>
/// State dicts in PyTorch's <c>torch.save</c> zip format (<c>.ckpt</c>, <c>.bin</c>, <c>.pt</c>): read with
/// <see cref="SafePickle"/> (no code runs, only tensors and an ordered dict are accepted), written with
/// TorchSharp.PyBridge's pickler, which <c>torch.load(..., weights_only=True)</c> reads.
/// </summary>
public static class TorchPickle
{
    /// <summary>Whether <paramref name="path"/> is a zip archive (the format of <c>torch.save</c> since PyTorch 1.6).</summary>
    public static bool IsZipArchive(string path)
    {
        if (!File.Exists(path)) return false;
        using var stream = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return stream.Read(magic) == 4 && magic[0] == (byte)'P' && magic[1] == (byte)'K' && magic[2] == 3 && magic[3] == 4;
    }

    /// <summary>
    /// Reads the state dict saved in <paramref name="path"/>, in file order. A checkpoint whose top level is a dict
    /// holding a <c>state_dict</c> entry (as Lightning writes) is unwrapped. Throws <see cref="InvalidDataException"/>
    /// with a one-line reason for anything else.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        if (!IsZipArchive(path))
        {
            throw new InvalidDataException($"{path}: not a zip-format torch.save file (the legacy pre-1.6 format is not read; re-save it with a current PyTorch).");
        }
        using var zip = ZipFile.OpenRead(path);
        var pickleEntry = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
            ?? throw new InvalidDataException($"{path}: no data.pkl in this archive.");
        var prefix = pickleEntry.FullName[..^"data.pkl".Length];
        byte[] pickle;
        using (var s = pickleEntry.Open())
        using (var buffer = new MemoryStream())
        {
            s.CopyTo(buffer);
            pickle = buffer.ToArray();
        }
        var storages = new Dictionary<string, Tensor>();
        try
        {
            object? root;
            try
            {
                root = SafePickle.Load(pickle, id => Storage(zip, prefix, id, storages));
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path}: {e.Message}", e);
            }
            if (root is Dictionary<object, object?> outer && outer.TryGetValue("state_dict", out var inner) && inner is Dictionary<object, object?>)
            {
                root = inner;
            }
            if (root is not Dictionary<object, object?> dict) throw new InvalidDataException($"{path}: the pickle does not hold a state dict.");
            var result = new Dictionary<string, Tensor>();
            try
            {
                foreach (var (key, value) in dict)
                {
                    if (key is not string name) throw new InvalidDataException($"{path}: a state-dict key is not a string.");
                    result[name] = Rebuild(value, path, name, storages);
                }
            }
            catch
            {
                foreach (var t in result.Values) t.Dispose();
                throw;
            }
            return result;
        }
        finally
        {
            foreach (var storage in storages.Values) storage.Dispose();
        }
    }

    /// <summary>Writes <paramref name="stateDict"/> to <paramref name="path"/> as <c>torch.save(OrderedDict)</c> would.</summary>
    public static void Save(IReadOnlyDictionary<string, Tensor> stateDict, string path) =>
        Imaging.AtomicFile.Write(path, stream => PyTorchPickler.PickleStateDict(stream, stateDict.ToDictionary(p => p.Key, p => p.Value), leaveOpen: true));

    private static object Storage(ZipArchive zip, string prefix, object? id, Dictionary<string, Tensor> storages)
    {
        if (id is not object?[] { Length: 5 } parts || parts[0] is not "storage" || parts[1] is not PickleGlobal type
            || parts[2] is not string key || parts[4] is not long count)
        {
            throw new InvalidDataException("not a weights pickle: a persistent id that is not a tensor storage.");
        }
        if (!storages.TryGetValue(key, out var flat))
        {
            var dtype = DType(type);
            var entry = zip.GetEntry($"{prefix}data/{key}") ?? throw new InvalidDataException($"storage {key} is missing from the archive.");
            flat = empty(count, dtype);
            var bytes = new byte[entry.Length];
            using (var s = entry.Open()) s.ReadExactly(bytes);
            if (bytes.Length != count * flat.ElementSize) throw new InvalidDataException($"storage {key} holds {bytes.Length} bytes, not {count} × {flat.ElementSize}.");
            flat.bytes = bytes;
            storages[key] = flat;
        }
        return new PickleStorage(type, key, parts[3] as string ?? "cpu", count);
    }

    private static ScalarType DType(PickleGlobal storage) => storage.Name switch
    {
        "FloatStorage" => ScalarType.Float32,
        "DoubleStorage" => ScalarType.Float64,
        "HalfStorage" => ScalarType.Float16,
        "BFloat16Storage" => ScalarType.BFloat16,
        "LongStorage" => ScalarType.Int64,
        "IntStorage" => ScalarType.Int32,
        "ShortStorage" => ScalarType.Int16,
        "CharStorage" => ScalarType.Int8,
        "ByteStorage" => ScalarType.Byte,
        "BoolStorage" => ScalarType.Bool,
        _ => throw new InvalidDataException($"unsupported storage type {storage}."),
    };

    private static Tensor Rebuild(object? value, string path, string name, Dictionary<string, Tensor> storages)
    {
        if (value is not PickleCall call) throw new InvalidDataException($"{path}: '{name}' is not a tensor.");
        switch (call.Function.Name)
        {
            case "_rebuild_parameter" when call.Arguments.Length >= 1:
                return Rebuild(call.Arguments[0], path, name, storages);
            case "_rebuild_tensor_v2" when call.Arguments.Length >= 4
                && call.Arguments[0] is PickleStorage storage && call.Arguments[1] is long offset
                && call.Arguments[2] is object?[] size && call.Arguments[3] is object?[] stride:
                {
                using var view = storages[storage.Key].as_strided(size.Cast<long>().ToArray(), stride.Cast<long>().ToArray(), offset);
                return view.clone();
            }
            default:
                throw new InvalidDataException($"{path}: '{name}' is built by {call.Function} in a way this reader does not know.");
        }
    }
}
