namespace Ddpm.Checkpoints;

/// <summary>The names of the files in a run folder and in a checkpoint folder.</summary>
public static class CheckpointFiles
{
    /// <summary>Run and checkpoint configuration (<see cref="RunConfig"/>).</summary>
    public const string Config = "config.json";

    /// <summary>The trained weights (safetensors, state-dict keys).</summary>
    public const string Model = "model.safetensors";

    /// <summary>The EMA weights (safetensors, state-dict keys).</summary>
    public const string Ema = "ema.safetensors";

    /// <summary>Adam's state (PyTorch pickle, loadable by torch.optim.Adam.load_state_dict).</summary>
    public const string Optimizer = "optimizer.pt";

    /// <summary>Step, data position and RNG states (<see cref="TrainingState"/>).</summary>
    public const string State = "state.json";

    /// <summary>In a run folder: the name of the latest complete checkpoint folder.</summary>
    public const string Latest = "latest";

    /// <summary>In a run folder: the checkpoint folders.</summary>
    public const string CheckpointsFolder = "checkpoints";

    /// <summary>The folder name of the checkpoint at <paramref name="step"/>: step-NNNNNNN.</summary>
    public static string StepFolder(long step) => $"step-{step:D7}";
}
