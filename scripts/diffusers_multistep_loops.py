"""Golden values for tests/Ddpm.Tests/Sampling/DiffusersMultistepLoopTests.cs.

Runs diffusers' DPMSolverMultistepScheduler and UniPCMultistepScheduler on the deterministic loop of diffusers'
tests/schedulers/test_scheduler_dpm_multi.py and test_scheduler_unipc.py (dummy_sample_deter, dummy_model, 10 steps)
for configurations whose results diffusers does not publish, and prints sum and mean of |sample|. The SDE cases pass
step k the fixed noise step_noise(k) as variance_noise.

Usage: python3 scripts/diffusers_multistep_loops.py /path/to/diffusers/src/diffusers/schedulers [--float64]
(--float64 runs the schedulers with their float32 schedule values and the dummy sample in float64.)
(needs torch and numpy; the two scheduler files are loaded with small stand-ins for diffusers' config machinery).
"""
import functools
import inspect
import sys
import types
from dataclasses import dataclass

import torch

SCHEDULERS = sys.argv[1]
FLOAT64 = "--float64" in sys.argv[2:]
DTYPE = torch.float64 if FLOAT64 else torch.float32


def stub_package():
    class Config(dict):
        __getattr__ = dict.get

        def __setattr__(self, k, v):
            self[k] = v

    class ConfigMixin:
        def register_to_config(self, **kwargs):
            self.config.update(kwargs)

    def register_to_config(init):
        @functools.wraps(init)
        def wrapped(self, *args, **kwargs):
            bound = inspect.signature(init).bind(self, *args, **kwargs)
            bound.apply_defaults()
            self.config = Config({k: v for k, v in bound.arguments.items() if k != "self"})
            init(self, *args, **kwargs)

        return wrapped

    @dataclass
    class SchedulerOutput:
        prev_sample: torch.Tensor

    modules = {
        "diffusers": {},
        "diffusers.configuration_utils": {"ConfigMixin": ConfigMixin, "register_to_config": register_to_config},
        "diffusers.utils": {"deprecate": lambda *a, **k: None, "is_scipy_available": lambda: False},
        "diffusers.utils.torch_utils": {"randn_tensor": lambda shape, generator=None, device=None, dtype=None: torch.randn(shape, generator=generator, dtype=dtype)},
        "diffusers.schedulers": {},
        "diffusers.schedulers.scheduling_utils": {"KarrasDiffusionSchedulers": [], "SchedulerMixin": type("SchedulerMixin", (), {}), "SchedulerOutput": SchedulerOutput},
    }
    for name, attrs in modules.items():
        m = types.ModuleType(name)
        m.__path__ = []
        m.__dict__.update(attrs)
        sys.modules[name] = m


def load(file, cls):
    name = "diffusers.schedulers." + file
    m = types.ModuleType(name)
    m.__package__ = "diffusers.schedulers"
    text = open(f"{SCHEDULERS}/{file}.py").read()
    if FLOAT64:
        text = text.replace("np.float32", "np.float64").replace("torch.float32", "torch.float64")
    exec(compile(text, file, "exec"), m.__dict__)
    return getattr(m, cls)


def dummy_sample_deter():
    n = 4 * 3 * 8 * 8
    return (torch.arange(n, dtype=DTYPE) / n).reshape(3, 8, 8, 4).permute(3, 0, 1, 2)


def dummy_noise_deter():
    n = 4 * 3 * 8 * 8
    return (torch.arange(n, dtype=DTYPE).flip(-1) / n).reshape(3, 8, 8, 4).permute(3, 0, 1, 2)


def model(sample, t):
    return sample * t / (t + 1)


def step_noise(k):
    """The fixed noise of step k for the SDE cases: dummy_noise_deter mapped to [-1, 1) and rolled by k."""
    return (dummy_noise_deter() * 2 - 1).reshape(-1).roll(k).reshape(4, 3, 8, 8)


def full_loop(cls, base, t_start=None, **config):
    scheduler = cls(**{**base, **config})
    scheduler.set_timesteps(10)
    sample = dummy_sample_deter()
    timesteps = scheduler.timesteps
    if t_start is not None:
        timesteps = timesteps[t_start:]
        sample = scheduler.add_noise(sample, dummy_noise_deter(), timesteps[:1])
    sde = str(config.get("algorithm_type", "")).startswith("sde")
    for k, t in enumerate(timesteps):
        extra = dict(variance_noise=step_noise(k)) if sde else {}
        sample = scheduler.step(model(sample, t), t, sample, **extra).prev_sample
    return sample


stub_package()
DPM = load("scheduling_dpmsolver_multistep", "DPMSolverMultistepScheduler")
UNIPC = load("scheduling_unipc_multistep", "UniPCMultistepScheduler")
DPM_BASE = dict(solver_order=2, prediction_type="epsilon", algorithm_type="dpmsolver++", solver_type="midpoint",
                lower_order_final=False, euler_at_final=False, final_sigmas_type="sigma_min")
UNIPC_BASE = dict(solver_order=2, solver_type="bh2", final_sigmas_type="sigma_min")

CASES = [
    ("dpm", {}), ("dpm", dict(prediction_type="v_prediction")), ("dpm", dict(prediction_type="sample")),
    ("dpm", dict(thresholding=True, dynamic_thresholding_ratio=0.87, sample_max_value=0.5)), ("dpm", dict(t_start=5)),
    ("dpm", dict(solver_order=1)), ("dpm", dict(solver_type="heun")), ("dpm", dict(solver_order=3)),
    ("dpm", dict(solver_order=3, solver_type="heun")), ("dpm", dict(lower_order_final=True)),
    ("dpm", dict(solver_order=3, lower_order_final=True)), ("dpm", dict(euler_at_final=True)),
    ("dpm", dict(final_sigmas_type="zero")), ("dpm", dict(final_sigmas_type="zero", lower_order_final=True, solver_order=3)),
    ("dpm", dict(algorithm_type="dpmsolver")), ("dpm", dict(algorithm_type="dpmsolver", solver_type="heun")),
    ("dpm", dict(algorithm_type="dpmsolver", solver_order=3)), ("dpm", dict(algorithm_type="dpmsolver", prediction_type="v_prediction")),
    ("dpm", dict(timestep_spacing="trailing")), ("dpm", dict(timestep_spacing="leading", steps_offset=1)),
    ("dpm", dict(algorithm_type="sde-dpmsolver++")), ("dpm", dict(algorithm_type="sde-dpmsolver++", solver_order=1)),
    ("dpm", dict(algorithm_type="sde-dpmsolver++", solver_type="heun")), ("dpm", dict(algorithm_type="sde-dpmsolver++", solver_order=3)),
    ("dpm", dict(algorithm_type="sde-dpmsolver++", final_sigmas_type="zero", lower_order_final=True)),
    ("dpm", dict(algorithm_type="sde-dpmsolver++", prediction_type="v_prediction")),
    ("unipc", {}), ("unipc", dict(prediction_type="v_prediction")), ("unipc", dict(prediction_type="sample")), ("unipc", dict(t_start=8)),
    ("unipc", dict(solver_type="bh1")), ("unipc", dict(solver_order=1)), ("unipc", dict(solver_order=3)),
    ("unipc", dict(solver_order=3, solver_type="bh1")), ("unipc", dict(lower_order_final=False)),
    ("unipc", dict(final_sigmas_type="zero")), ("unipc", dict(final_sigmas_type="zero", solver_order=3)),
    ("unipc", dict(predict_x0=False)), ("unipc", dict(predict_x0=False, solver_order=3, solver_type="bh1")),
    ("unipc", dict(disable_corrector=[0, 1])), ("unipc", dict(disable_corrector=[2, 3, 4, 5, 6, 7])),
    ("unipc", dict(final_sigmas_type="zero", solver_type="bh1")), ("unipc", dict(final_sigmas_type="zero", lower_order_final=False)), ("unipc", dict(timestep_spacing="trailing")),
    ("unipc", dict(timestep_spacing="leading", steps_offset=1)),
    ("unipc", dict(thresholding=True, dynamic_thresholding_ratio=0.87, sample_max_value=0.5)),
]
for kind, config in CASES:
    cls, base = (DPM, DPM_BASE) if kind == "dpm" else (UNIPC, UNIPC_BASE)
    s = full_loop(cls, base, **config)
    print(f"{kind:6} {str(config):80} sum {s.abs().sum().item():.4f} mean {s.abs().mean().item():.4f}")
