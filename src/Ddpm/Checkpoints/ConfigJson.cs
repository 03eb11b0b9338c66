using System.Text.Json;
using System.Text.Json.Serialization;
using Ddpm.Imaging;

namespace Ddpm.Checkpoints;

/// <summary>Reads and writes configuration records as indented snake_case JSON with enum names as strings.</summary>
public static class ConfigJson
{
    /// <summary>The serializer options used for every Ddpm JSON file.</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Serializes <paramref name="value"/> to a string.</summary>
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>Writes <paramref name="value"/> to <paramref name="path"/> atomically.</summary>
    public static void Save<T>(T value, string path) =>
        AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, value, Options));

    /// <summary>Reads a <typeparamref name="T"/> from <paramref name="path"/>; a missing or malformed file is an <see cref="InvalidDataException"/> naming it.</summary>
    public static T Load<T>(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: not found.", path);
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize<T>(stream, Options) ?? throw new InvalidDataException($"{path}: empty JSON.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid {typeof(T).Name} ({e.Message.Split('\n')[0]}).", e);
        }
    }
}
