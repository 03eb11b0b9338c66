# Generates the interop parity fixtures in this folder with the reference implementations (not part of the repository):
#   diffusers' UNet2DModel (huggingface/diffusers, src/ on PYTHONPATH, with huggingface_hub's src/) and
#   pesser/pytorch_diffusion's Model (its pytorch_diffusion/ folder on PYTHONPATH), run with Debian trixie's python3-torch.
# Command (see README.md here):
#   PYTHONPATH=/ref/diffusers/src:/ref/huggingface_hub/src:/ref/pytorch_diffusion/pytorch_diffusion \
#     python3 make_fixtures.py OUTDIR
import json, os, sys
import torch
from safetensors.torch import save_file
from diffusers import UNet2DModel
import model as pesser

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.set_num_threads(1)
# oneDNN's direct convolution gives wrong results (max abs error ~1) for a plain-layout float input with more than 16
# channels not a multiple of 16 (the 24-channel skip concatenations here) on AVX-512 CPUs (oneDNN 3.7): the reference
# outputs are computed with PyTorch's own convolution instead.
torch.backends.mkldnn.enabled = False

def randomise(net, seed):
    # Default initialisation, then every GroupNorm's affine parameters and every bias drawn too, so no parameter
    # keeps a value (1 or 0) that would hide a mapping mistake.
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if p.dim() == 1:
                p.copy_((1.0 if "norm" in name and name.endswith("weight") else 0.0) + 0.2 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) / (p[0].numel() ** 0.5))
    net.eval()

def io(net, channels, size, seed, call):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, channels, size, size, generator=g)
    t = torch.tensor([3, 917], dtype=torch.int64)
    with torch.no_grad():
        y = call(net, x, t)
    return {"x": x.contiguous(), "t": t, "out": y.contiguous()}

def diffusers_config(size, channels, widths, blocks, attn_levels):
    down = ["AttnDownBlock2D" if i in attn_levels else "DownBlock2D" for i in range(len(widths))]
    return dict(sample_size=size, in_channels=channels, out_channels=channels, block_out_channels=widths,
                layers_per_block=blocks, down_block_types=down,
                up_block_types=[("AttnUpBlock2D" if b.startswith("Attn") else "UpBlock2D") for b in reversed(down)],
                freq_shift=1, flip_sin_to_cos=False, downsample_padding=0, norm_eps=1e-6, norm_num_groups=4,
                attention_head_dim=None, dropout=0.0, time_embedding_type="positional", act_fn="silu",
                resnet_time_scale_shift="default", center_input_sample=False, mid_block_scale_factor=1)

def diffusers_call(net, x, t):
    return net(x, t).sample

scheduler = {"_class_name": "DDPMScheduler", "num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02,
             "beta_schedule": "linear", "trained_betas": None, "variance_type": "fixed_small", "clip_sample": True}

# RGB, three levels (16 -> 8 -> 4), attention at 8x8, two blocks per level: safetensors, today's attention names.
net = UNet2DModel(**diffusers_config(16, 3, (8, 16, 16), 2, {1}))
randomise(net, 1)
net.save_pretrained(f"{out}/diffusers-rgb3", safe_serialization=True)
with open(f"{out}/diffusers-rgb3/scheduler_config.json", "w") as f:
    json.dump(scheduler, f, indent=2)
save_file(io(net, 3, 16, 11, diffusers_call), f"{out}/diffusers-rgb3-io.safetensors")

# Grey, two levels (8 -> 4), attention at 8x8, one block per level: a torch pickle (.bin) with the attention names of
# diffusers before 0.15 (query, key, value, proj_attn, as google/ddpm-* were first published), in a pipeline layout
# (unet/ and scheduler/).
net = UNet2DModel(**diffusers_config(8, 1, (8, 16), 1, {0}))
randomise(net, 2)
os.makedirs(f"{out}/diffusers-grey2/unet", exist_ok=True)
os.makedirs(f"{out}/diffusers-grey2/scheduler", exist_ok=True)
old = {"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}
state = {}
for k, v in net.state_dict().items():
    for new, before in old.items():
        k = k.replace(f".{new}.", f".{before}.")
    state[k] = v
torch.save(state, f"{out}/diffusers-grey2/unet/diffusion_pytorch_model.bin")
cfg = dict(net.config)
cfg = {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items() if not k.startswith("_use")}
cfg["_class_name"] = "UNet2DModel"
with open(f"{out}/diffusers-grey2/unet/config.json", "w") as f:
    json.dump(cfg, f, indent=2)
with open(f"{out}/diffusers-grey2/scheduler/scheduler_config.json", "w") as f:
    json.dump(dict(scheduler, variance_type="fixed_large", clip_sample=False), f, indent=2)
save_file(io(net, 1, 8, 12, diffusers_call), f"{out}/diffusers-grey2-io.safetensors")

# The official port, its GroupNorm at 4 groups instead of 32 so that the widths (and files) stay small.
pesser.Normalize = lambda c: torch.nn.GroupNorm(num_groups=4, num_channels=c, eps=1e-6, affine=True)

def pesser_call(net, x, t):
    return net(x, t)

net = pesser.Model(ch=8, out_ch=3, ch_mult=(1, 2, 2), num_res_blocks=2, attn_resolutions=(8,), dropout=0.0,
                   in_channels=3, resolution=16)
randomise(net, 3)
torch.save(net.state_dict(), f"{out}/pesser-rgb3.ckpt")
save_file(io(net, 3, 16, 13, pesser_call), f"{out}/pesser-rgb3-io.safetensors")

net = pesser.Model(ch=8, out_ch=1, ch_mult=(1, 2), num_res_blocks=1, attn_resolutions=(4,), dropout=0.0,
                   in_channels=1, resolution=8)
randomise(net, 4)
torch.save(net.state_dict(), f"{out}/pesser-grey2.ckpt")
save_file(io(net, 1, 8, 14, pesser_call), f"{out}/pesser-grey2-io.safetensors")

# Exact key sets (with shapes) of the paper's CIFAR-10 model in both layouts: diffusers as google/ddpm-cifar10-32's
# config builds it, the port as its cifar10 configuration.
pesser.Normalize = lambda c: torch.nn.GroupNorm(num_groups=32, num_channels=c, eps=1e-6, affine=True)
cifar = UNet2DModel(sample_size=32, in_channels=3, out_channels=3, block_out_channels=(128, 256, 256, 256),
                    layers_per_block=2, down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
                    up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"), freq_shift=1,
                    flip_sin_to_cos=False, downsample_padding=0, norm_eps=1e-6, norm_num_groups=32, attention_head_dim=None)
with open(f"{out}/cifar10-diffusers-keys.txt", "w") as f:
    for k, v in cifar.state_dict().items():
        f.write(f"{k} {list(v.shape)}\n".replace(" ", " ", 1).replace(", ", ","))
cifar = pesser.Model(ch=128, out_ch=3, ch_mult=(1, 2, 2, 2), num_res_blocks=2, attn_resolutions=(16,), dropout=0.1,
                     in_channels=3, resolution=32)
with open(f"{out}/cifar10-pesser-keys.txt", "w") as f:
    for k, v in cifar.state_dict().items():
        f.write(f"{k} {list(v.shape)}\n".replace(", ", ","))
print("torch", torch.__version__)
