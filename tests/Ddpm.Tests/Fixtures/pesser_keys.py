"""Lists the state-dict keys of pesser/pytorch_diffusion's Model for the cifar10 configuration.

Runs the official port's own constructor (pytorch_diffusion/model.py, fetched separately, not part of this repository)
against a minimal stand-in for torch that records only which parameters each module registers, so PyTorch need not
be installed. Usage:

    python3 pesser_keys.py /path/to/pytorch_diffusion/model.py > pesser-cifar10-keys.txt
"""
import sys
import types
from collections import OrderedDict


class Module:
    def __init__(self, *args, **kwargs):
        object.__setattr__(self, "_children", OrderedDict())
        object.__setattr__(self, "_params", [])

    def __setattr__(self, name, value):
        if isinstance(value, Module):
            self._children[name] = value
        object.__setattr__(self, name, value)

    def keys(self, prefix=""):
        for p in self._params:
            yield prefix + p
        for name, child in self._children.items():
            yield from child.keys(prefix + name + ".")


class ModuleList(Module):
    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, m):
        self.insert(len(self._children), m)

    def insert(self, index, m):
        items = list(self._children.values())
        items.insert(index, m)
        self._children.clear()
        self._children.update((str(i), item) for i, item in enumerate(items))


class WeightAndBias(Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        self._params.extend(["weight", "bias"])


nn = types.ModuleType("torch.nn")
nn.Module, nn.ModuleList = Module, ModuleList
nn.Conv2d = nn.Linear = nn.GroupNorm = WeightAndBias
nn.Dropout = Module
nn.functional = types.ModuleType("torch.nn.functional")
torch = types.ModuleType("torch")
torch.nn = nn
sys.modules.update({"torch": torch, "torch.nn": nn, "torch.nn.functional": nn.functional})

source = open(sys.argv[1]).read()
scope = {}
exec(compile(source, sys.argv[1], "exec"), scope)
# The cifar10 configuration of pytorch_diffusion/diffusion.py and of the paper (Ho et al. 2020, Appendix B).
model = scope["Model"](resolution=32, in_channels=3, out_ch=3, ch=128, ch_mult=(1, 2, 2, 2), num_res_blocks=2,
                       attn_resolutions=(16,), dropout=0.1)
print("\n".join(model.keys()))
