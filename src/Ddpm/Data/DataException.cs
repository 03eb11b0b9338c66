namespace Ddpm.Data;

/// <summary>
/// A data file or folder is missing, truncated or corrupt. The message is one line: the path, a colon, and what is
/// wrong, e.g. <c>train-images-idx3-ubyte.gz: truncated: expected 47040016 bytes, found 1000</c>.
/// Loaders throw only this type for bad data, and never return a half-loaded data set.
/// </summary>
public sealed class DataException : Exception
{
    /// <summary>An exception with no path and a generic message.</summary>
    public DataException()
        : this("The data could not be read.")
    {
    }

    /// <summary>An exception with a ready-made message and no path.</summary>
    public DataException(string message)
        : base(message)
    {
        Problem = message;
    }

    /// <summary>An exception with a ready-made message wrapping its cause.</summary>
    public DataException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Problem = message;
    }

    /// <summary>An exception about the file or folder at <paramref name="path"/>; the message is "path: problem".</summary>
    public DataException(string path, string problem, Exception? innerException = null)
        : base($"{path}: {OneLine(problem)}", innerException)
    {
        Path = path;
        Problem = OneLine(problem);
    }

    /// <summary>The file or folder at fault, or null when the exception was built from a bare message.</summary>
    public string? Path { get; }

    /// <summary>What is wrong with <see cref="Path"/>, without the path.</summary>
    public string Problem { get; }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
