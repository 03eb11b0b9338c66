namespace Ddpm.Data;

/// <summary>The data sets <see cref="Datasets.Open"/> knows how to find and load.</summary>
public enum DatasetKind
{
    /// <summary>Fashion-MNIST (Xiao et al. 2017): 28×28 grey garments, 10 classes, IDX files.</summary>
    FashionMnist,

    /// <summary>MNIST (LeCun et al. 1998): 28×28 grey digits, 10 classes, IDX files with the same names as Fashion-MNIST.</summary>
    Mnist,

    /// <summary>CIFAR-10 (Krizhevsky 2009): 32×32 RGB, 10 classes, binary batches; the paper's main benchmark.</summary>
    Cifar10,

    /// <summary>A folder of PNG/JPEG images, resized and centre-cropped; labelled by first-level subfolder if any.</summary>
    Folder,
}
