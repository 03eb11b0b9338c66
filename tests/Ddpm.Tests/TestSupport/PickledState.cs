using System.Collections;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Ddpm.Tests.TestSupport;

/// <summary>Compares two PyTorch-pickled state dicts by content (the zip container carries timestamps).</summary>
internal static class PickledState
{
    /// <summary>The paths at which the two files differ, empty when every tensor and value is identical.</summary>
    public static List<string> Differences(string a, string b)
    {
        var differences = new List<string>();
        Walk("", PyTorchUnpickler.UnpickleStateDict(a), PyTorchUnpickler.UnpickleStateDict(b), differences);
        return differences;
    }

    /// <summary>How many tensors the file holds (to show a comparison compared something).</summary>
    public static int TensorCount(string path)
    {
        var count = 0;
        void Count(object? x)
        {
            switch (x)
            {
                case Tensor: count++; break;
                case IDictionary d: foreach (var v in d.Values) Count(v); break;
                case IList l: foreach (var v in l) Count(v); break;
            }
        }
        Count(PyTorchUnpickler.UnpickleStateDict(path));
        return count;
    }

    private static void Walk(string path, object? x, object? y, List<string> differences)
    {
        switch (x)
        {
            case Tensor tx when y is Tensor ty:
                if (!Same.Bytes(tx, ty)) differences.Add(path);
                break;
            case IDictionary dx when y is IDictionary dy:
                if (dx.Count != dy.Count) differences.Add(path + " (key count)");
                foreach (var key in dx.Keys) Walk($"{path}/{key}", dx[key], dy.Contains(key) ? dy[key] : null, differences);
                break;
            case IList lx when y is IList ly:
                if (lx.Count != ly.Count) differences.Add(path + " (length)");
                for (var i = 0; i < Math.Min(lx.Count, ly.Count); i++) Walk($"{path}[{i}]", lx[i], ly[i], differences);
                break;
            default:
                if (!Equals(x, y)) differences.Add($"{path}: {x} vs {y}");
                break;
        }
    }
}
