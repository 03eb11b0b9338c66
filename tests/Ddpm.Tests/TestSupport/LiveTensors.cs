using TorchSharp;

namespace Ddpm.Tests.TestSupport;

/// <summary>Counts the tensors alive on this thread, to prove code leaves none behind.</summary>
internal static class LiveTensors
{
    public static long Count => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
}
