using Ddpm.Imaging;
using Ddpm.Tests.TestSupport;

namespace Ddpm.Tests.Imaging;

public class AtomicFileTests
{
    [Fact]
    public void Write_creates_directories_and_replaces_files_without_leftovers()
    {
        using var dir = new TempFolder();
        var path = dir.File("a/b/c.txt");
        AtomicFile.WriteAllBytes(path, [1, 2, 3]);
        AtomicFile.Write(path, s => s.Write([4, 5]), flushToDisk: true);
        Assert.Equal(new byte[] { 4, 5 }, File.ReadAllBytes(path));
        Assert.Equal(new[] { "c.txt" }, Directory.GetFiles(dir.File("a/b")).Select(Path.GetFileName));
    }

    [Fact]
    public void A_failing_writer_leaves_the_old_file_and_no_temporary()
    {
        using var dir = new TempFolder();
        var path = dir.File("keep.txt");
        File.WriteAllText(path, "old");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.WriteByte(1);
            throw new InvalidOperationException("boom");
        }));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Unwritable_paths_give_an_IOException_naming_the_path()
    {
        using var dir = new TempFolder();
        var file = dir.File("file");
        File.WriteAllText(file, "x");
        var underFile = Path.Combine(file, "x.bin");
        var e = Assert.Throws<IOException>(() => AtomicFile.WriteAllBytes(underFile, [1]));
        Assert.Contains(underFile, e.Message);
        Assert.DoesNotContain('\n', e.Message);

        var onDirectory = dir.File("sub");
        Directory.CreateDirectory(onDirectory);
        var e2 = Assert.Throws<IOException>(() => AtomicFile.WriteAllBytes(onDirectory, [1]));
        Assert.Contains(onDirectory, e2.Message);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));

        Assert.Throws<ArgumentException>(() => AtomicFile.WriteAllBytes(" ", [1]));
    }
}
