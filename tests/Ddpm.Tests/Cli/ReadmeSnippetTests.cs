using System.Text.RegularExpressions;
using Ddpm.Tests.TestSupport;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Ddpm.Tests.Cli;

/// <summary>The C# snippets of README.md compile and run as written.</summary>
[Collection(nameof(CurrentDirectoryCollection))]
public sealed partial class ReadmeSnippetTests
{
    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    public static TheoryData<int> Snippets() => [.. Enumerable.Range(0, ReadSnippets().Count)];

    private static List<string> ReadSnippets()
    {
        var readme = File.ReadAllText(Path.Combine(CliRunner.RepositoryRoot(), "README.md"));
        return CSharpBlock().Matches(readme).Select(m => m.Groups[1].Value).ToList();
    }

    /// <summary>Compiles <paramref name="code"/> as a console program with the SDK's implicit usings, and runs it.</summary>
    private static void CompileAndRun(string code)
    {
        const string implicitUsings = "global using System; global using System.Collections.Generic; global using System.IO; " +
            "global using System.Linq; global using System.Threading; global using System.Threading.Tasks;";
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var references = platform
            .Concat(new[] { typeof(DiffusionModel), typeof(TorchSharp.torch), typeof(SkiaSharp.SKBitmap) }.Select(t => t.Assembly.Location))
            .Distinct()
            .Select(path => MetadataReference.CreateFromFile(path));
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create(
            "ReadmeSnippet",
            [CSharpSyntaxTree.ParseText(implicitUsings, options), CSharpSyntaxTree.ParseText(code, options)],
            references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        var errors = emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
        Assert.True(emitted.Success, string.Join("\n", errors));
        var entry = Assembly.Load(image.ToArray()).EntryPoint!;
        entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
    }

    [Fact]
    public void The_readme_has_a_sampling_and_a_training_snippet()
    {
        var snippets = ReadSnippets();
        Assert.Equal(2, snippets.Count);
        Assert.Contains(snippets, s => s.Contains("DiffusionModel.Load", StringComparison.Ordinal));
        Assert.Contains(snippets, s => s.Contains("TrainingRun.Start", StringComparison.Ordinal) && s.Contains("IDataset", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Snippets))]
    public void Snippet_runs(int index)
    {
        var code = ReadSnippets()[index];
        using var temp = new TempFolder();
        var work = temp.Path;
        var previous = Environment.CurrentDirectory;
        try
        {
            // Relative paths in the snippets resolve as they would from the repository root.
            Directory.CreateSymbolicLink(Path.Combine(work, "models"), Path.Combine(CliRunner.RepositoryRoot(), "models"));
            Environment.CurrentDirectory = work;
            CompileAndRun(code);
            var pngs = Directory.GetFiles(work, "*.png", SearchOption.AllDirectories);
            Assert.NotEmpty(pngs);
        }
        finally
        {
            Environment.CurrentDirectory = previous;
        }
    }
}

/// <summary>Tests that change the process's current directory run alone.</summary>
[CollectionDefinition(nameof(CurrentDirectoryCollection), DisableParallelization = true)]
public sealed class CurrentDirectoryCollection;
