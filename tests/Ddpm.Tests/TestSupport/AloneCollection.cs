namespace Ddpm.Tests.TestSupport;

/// <summary>
/// Tests whose bit-exact results depend on how many OpenMP threads libtorch's kernels get (batch-norm statistics and
/// convolution weight gradients are reduced in per-thread partial sums). Run beside other test classes, a kernel's team
/// can be smaller than the machine's core count, so these run alone, where every call sees the same team.
/// </summary>
[CollectionDefinition(nameof(AloneCollection), DisableParallelization = true)]
public sealed class AloneCollection;
