using System.Text.RegularExpressions;
using Ddpm.Imaging;
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

    /// <summary>Files under <paramref name="work"/>, relative to it, without following links (the models/ link).</summary>
    private static List<string> WrittenFiles(string work) =>
        Directory.GetFiles(work, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint })
            .Select(f => Path.GetRelativePath(work, f)).Order(StringComparer.Ordinal).ToList();

    private static void AssertPngSize(string path, GridLayout expected)
    {
        using var bitmap = SkiaSharp.SKBitmap.Decode(path);
        Assert.NotNull(bitmap);
        Assert.Equal((expected.Width, expected.Height), (bitmap.Width, bitmap.Height));
    }

    [Fact]
    public void The_readme_has_a_sampling_an_inpainting_and_a_training_snippet()
    {
        var snippets = ReadSnippets();
        Assert.Equal(3, snippets.Count);
        Assert.Contains(snippets, s => s.Contains("InpaintingRequest", StringComparison.Ordinal));
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
            // Only what the snippet writes counts: the linked models/ folder (which holds PNGs) is not searched.
            Assert.Empty(WrittenFiles(work));
            CompileAndRun(code);
            var written = WrittenFiles(work);
            if (code.Contains("garments.png", StringComparison.Ordinal))
            {
                // 16 Fashion-MNIST images, 28×28 at scale 2, in a 4×4 grid.
                Assert.Equal(["garments.png"], written);
                AssertPngSize(Path.Combine(work, "garments.png"), ImageGrid.Layout(16, 28, 28, new GridOptions { Scale = 2 }));
            }
            else if (code.Contains("inpainted.png", StringComparison.Ordinal))
            {
                // Four sources above their four completions, 28×28 at scale 2.
                Assert.Equal(["inpainted.png"], written);
                AssertPngSize(Path.Combine(work, "inpainted.png"), ImageGrid.Layout(8, 28, 28, new GridOptions { Columns = 4, Scale = 2 }));
            }
            else
            {
                // 20 steps into runs/stripes: a complete final checkpoint and a grid of 16 EMA samples (scale 2 below 64 pixels).
                var checkpoint = Path.Combine("runs", "stripes", "checkpoints", "step-0000020");
                foreach (var file in new[] { "model.safetensors", "ema.safetensors", "optimizer.pt", "state.json", "config.json" })
                    Assert.Contains(Path.Combine(checkpoint, file), written);
                var samples = Path.Combine("runs", "stripes", "samples", "step-0000020.png");
                Assert.Contains(samples, written);
                AssertPngSize(Path.Combine(work, samples), ImageGrid.Layout(16, 28, 28, new GridOptions { Scale = 2 }));
            }
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
