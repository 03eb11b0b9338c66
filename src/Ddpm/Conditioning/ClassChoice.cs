namespace Ddpm.Conditioning;

/// <summary>
/// The classes a sampling run asks a class-conditional model for, by image index: one class for every image, or the
/// classes in turn (image i of class i mod K, so any N has them balanced), with a classifier-free guidance scale.
/// </summary>
/// <param name="NumClasses">The model's number of classes K.</param>
/// <param name="Class">The class of every image, or null for the classes in turn.</param>
/// <param name="Guidance">The guidance scale (<see cref="ClassifierFreeGuidance"/>: 0 unconditional, 1 conditional).</param>
public sealed record ClassChoice(int NumClasses, int? Class = null, double Guidance = 1)
{
    /// <summary>The class of image <paramref name="index"/>.</summary>
    public long LabelOf(long index) => Class ?? index % NumClasses;

    /// <summary>The classes of images <paramref name="first"/> … first + count − 1.</summary>
    public long[] Labels(long first, int count) => [.. Enumerable.Range(0, count).Select(i => LabelOf(first + i))];

    /// <summary>"class 3" or "classes in turn", with the guidance.</summary>
    public string Describe(IReadOnlyList<string>? names = null) =>
        FormattableString.Invariant($"{(Class is { } c ? $"class {(names is { Count: > 0 } ? names[c] : c.ToString(System.Globalization.CultureInfo.InvariantCulture))}" : "classes in turn")}, guidance {Guidance:0.###}");
}
