using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Ddpm.Interop;

/// <summary>A global a pickle names (<c>module.name</c>), as the unpickler saw it.</summary>
public sealed record PickleGlobal(string Module, string Name)
{
    /// <summary>The dotted name, e.g. <c>torch._utils._rebuild_tensor_v2</c>.</summary>
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>The application of an allowed global to its arguments (pickle's REDUCE), left for the caller to interpret.</summary>
public sealed record PickleCall(PickleGlobal Function, object?[] Arguments);

/// <summary>The persistent id of a storage record in a torch zip archive (<c>('storage', type, key, location, numel)</c>).</summary>
public sealed record PickleStorage(PickleGlobal StorageType, string Key, string Location, long ElementCount);

/// <summary>
/// A pickle reader that never runs code and never constructs arbitrary objects: it understands the opcodes
/// <c>torch.save</c> emits for a state dict (protocol 2) and accepts only the globals in
/// <see cref="AllowedGlobals"/>, refusing any other with a one-line <see cref="InvalidDataException"/> naming it.
/// <para>
/// Written here rather than taken from TorchSharp.PyBridge: its reader (Razorvine.Pickle with constructors registered
/// for the tensor-rebuilding functions) turns every other global into a generic object instead of refusing it, so a
/// file naming <c>os.system</c> loads without complaint. Nothing in .NET executes Python, but a loader that is meant
/// to read weights only should say so when a file is something else.
/// </para>
/// </summary>
public static class SafePickle
{
    /// <summary>The only globals a weights pickle may name: the tensor-rebuilding functions, storage types and OrderedDict.</summary>
    public static IReadOnlySet<string> AllowedGlobals { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "collections.OrderedDict",
        "torch.FloatStorage", "torch.DoubleStorage", "torch.HalfStorage", "torch.BFloat16Storage",
        "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage", "torch.ByteStorage",
        "torch.BoolStorage",
    };

    /// <summary>
    /// Reads one pickle from <paramref name="data"/>. Dicts become <see cref="Dictionary{TKey, TValue}"/> (insertion
    /// order kept), tuples and lists <c>object?[]</c> and <see cref="List{T}"/>, an allowed global applied to arguments a
    /// <see cref="PickleCall"/>, persistent ids are passed to <paramref name="persistentLoad"/>.
    /// </summary>
    public static object? Load(ReadOnlySpan<byte> data, Func<object?, object?> persistentLoad)
    {
        var reader = new Reader(data.ToArray(), persistentLoad);
        return reader.Run();
    }

    private sealed class Mark
    {
        public static readonly Mark Instance = new();
    }

    private sealed class Reader(byte[] data, Func<object?, object?> persistentLoad)
    {
        private readonly List<object?> stack = [];
        private readonly Dictionary<long, object?> memo = [];
        private int position;

        public object? Run()
        {
            while (true)
            {
                var op = ReadByte();
                switch (op)
                {
                    case 0x80: ReadByte(); break; // PROTO
                    case 0x95: ReadBytes(8); break; // FRAME
                    case (byte)'.': return Pop(); // STOP
                    case (byte)'(': stack.Add(Mark.Instance); break; // MARK
                    case (byte)'}': stack.Add(new Dictionary<object, object?>()); break; // EMPTY_DICT
                    case (byte)']': stack.Add(new List<object?>()); break; // EMPTY_LIST
                    case (byte)')': stack.Add(Array.Empty<object?>()); break; // EMPTY_TUPLE
                    case (byte)'N': stack.Add(null); break; // NONE
                    case 0x88: stack.Add(true); break; // NEWTRUE
                    case 0x89: stack.Add(false); break; // NEWFALSE
                    case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break; // BININT
                    case (byte)'K': stack.Add((long)ReadByte()); break; // BININT1
                    case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break; // BININT2
                    case 0x8a: stack.Add(ReadLong(ReadByte())); break; // LONG1
                    case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break; // BINFLOAT
                    case (byte)'X': stack.Add(ReadString(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))); break; // BINUNICODE
                    case 0x8c: stack.Add(ReadString(ReadByte())); break; // SHORT_BINUNICODE
                    case (byte)'T': stack.Add(Encoding.Latin1.GetString(ReadBytes((int)BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))))); break; // BINSTRING
                    case (byte)'U': stack.Add(Encoding.Latin1.GetString(ReadBytes(ReadByte()))); break; // SHORT_BINSTRING
                    case (byte)'C': stack.Add(ReadBytes(ReadByte()).ToArray()); break; // SHORT_BINBYTES
                    case (byte)'B': stack.Add(ReadBytes((int)BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))).ToArray()); break; // BINBYTES
                    case (byte)'q': memo[ReadByte()] = Peek(); break; // BINPUT
                    case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))] = Peek(); break; // LONG_BINPUT
                    case 0x94: memo[memo.Count] = Peek(); break; // MEMOIZE
                    case (byte)'h': stack.Add(Memo(ReadByte())); break; // BINGET
                    case (byte)'j': stack.Add(Memo(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))); break; // LONG_BINGET
                    case (byte)'t': stack.Add(PopToMark().ToArray()); break; // TUPLE
                    case 0x85: stack.Add(new[] { Pop() }); break; // TUPLE1
                    case 0x86: { var b = Pop(); var a = Pop(); stack.Add(new[] { a, b }); break; } // TUPLE2
                    case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); stack.Add(new[] { a, b, c }); break; } // TUPLE3
                    case (byte)'a': { var item = Pop(); AsList(Peek()).Add(item); break; } // APPEND
                    case (byte)'e': { var items = PopToMark(); AsList(Peek()).AddRange(items); break; } // APPENDS
                    case (byte)'s': { var value = Pop(); var key = Pop(); AsDict(Peek())[Key(key)] = value; break; } // SETITEM
                    case (byte)'u': // SETITEMS
                    {
                        var items = PopToMark();
                        var dict = AsDict(Peek());
                        for (var i = 0; i + 1 < items.Count; i += 2) dict[Key(items[i])] = items[i + 1];
                        break;
                    }
                    case (byte)'c': // GLOBAL
                    {
                        var module = ReadLine();
                        var name = ReadLine();
                        stack.Add(Allow(new PickleGlobal(module, name)));
                        break;
                    }
                    case 0x93: // STACK_GLOBAL
                    {
                        var name = Pop() as string;
                        var module = Pop() as string;
                        stack.Add(Allow(new PickleGlobal(module ?? "?", name ?? "?")));
                        break;
                    }
                    case (byte)'R': // REDUCE
                    {
                        var args = Pop() as object?[] ?? throw Refuse("REDUCE without an argument tuple");
                        var function = Pop() as PickleGlobal ?? throw Refuse("REDUCE of something that is not an allowed global");
                        stack.Add(Apply(function, args));
                        break;
                    }
                    case (byte)'b': // BUILD: only an OrderedDict's attribute dict (state_dict()._metadata), which is dropped
                    {
                        Pop();
                        if (Peek() is not Dictionary<object, object?>) throw Refuse("BUILD on something other than an OrderedDict");
                        break;
                    }
                    case (byte)'Q': stack.Add(persistentLoad(Pop())); break; // BINPERSID
                    default:
                        throw Refuse($"opcode 0x{op:x2} at byte {position - 1}, which a weights file does not use");
                }
            }
        }

        private static object Apply(PickleGlobal function, object?[] args)
        {
            if (function.ToString() != "collections.OrderedDict") return new PickleCall(function, args);
            var dict = new Dictionary<object, object?>();
            // OrderedDict() as torch.save writes it, or OrderedDict([(key, value), …]) as other picklers do.
            if (args.Length == 0) return dict;
            if (args is not [IEnumerable<object?> pairs]) throw Refuse("OrderedDict with arguments other than a list of pairs");
            foreach (var pair in pairs)
            {
                if (pair is not object?[] { Length: 2 } kv) throw Refuse("OrderedDict with arguments other than a list of pairs");
                dict[Key(kv[0])] = kv[1];
            }
            return dict;
        }

        private static PickleGlobal Allow(PickleGlobal global) =>
            AllowedGlobals.Contains(global.ToString())
                ? global
                : throw new InvalidDataException($"refusing to unpickle global '{global}': a weights file may only name tensor storages, tensor-rebuilding functions and OrderedDict.");

        private static InvalidDataException Refuse(string what) => new($"not a weights pickle: {what}.");

        private static object Key(object? key) => key ?? throw Refuse("a dict key that is None");

        private static List<object?> AsList(object? value) => value as List<object?> ?? throw Refuse("APPEND to something that is not a list");

        private static Dictionary<object, object?> AsDict(object? value) => value as Dictionary<object, object?> ?? throw Refuse("SETITEM on something that is not a dict");

        private object? Memo(long index) => memo.TryGetValue(index, out var value) ? value : throw Refuse($"memo {index} read before it was written");

        private object? Peek() => stack.Count > 0 ? stack[^1] : throw Refuse("stack underflow");

        private object? Pop()
        {
            var value = Peek();
            stack.RemoveAt(stack.Count - 1);
            if (value is Mark) throw Refuse("unexpected MARK");
            return value;
        }

        private List<object?> PopToMark()
        {
            var mark = stack.FindLastIndex(o => o is Mark);
            if (mark < 0) throw Refuse("no MARK");
            var items = stack.GetRange(mark + 1, stack.Count - mark - 1);
            stack.RemoveRange(mark, stack.Count - mark);
            return items;
        }

        private byte ReadByte() => position < data.Length ? data[position++] : throw Refuse("truncated");

        private ReadOnlySpan<byte> ReadBytes(int count)
        {
            if (count < 0 || position + count > data.Length) throw Refuse("truncated");
            var span = data.AsSpan(position, count);
            position += count;
            return span;
        }

        private string ReadString(uint length) => Encoding.UTF8.GetString(ReadBytes(checked((int)length)));

        private string ReadLine()
        {
            var end = Array.IndexOf(data, (byte)'\n', position);
            if (end < 0) throw Refuse("truncated");
            var line = Encoding.ASCII.GetString(data, position, end - position);
            position = end + 1;
            return line;
        }

        private object ReadLong(int length)
        {
            var value = new BigInteger(ReadBytes(length), isUnsigned: false, isBigEndian: false);
            return value >= long.MinValue && value <= long.MaxValue ? (long)value : value;
        }
    }
}
