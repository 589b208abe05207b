#!/usr/bin/python3
"""PyTorch anchor for motif_engine_bench: the same workloads, same thread count, one JSON line.

    GLIBC_TUNABLES=glibc.malloc.hugetlb=1 /usr/bin/python3 gpu-worker/native/tools/bench_pytorch.py \
        --batch 16 --size 224 --threads 2 --iters 5 --triplets 8 --train-iters 2

Embed = torchvision resnet50 backbone -> global mean pool -> per-image L2 norm (inference mode).
Train step = one forward over 3n images, compound hinge loss (SEEDS.md), backward, Adam step,
BatchNorm in eval mode (the engine's default). Run it WITH the glibc tunable: without huge pages
PyTorch is ~4x slower on this VM, and the anchor should be PyTorch at its best.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F
import torchvision


def main():
    ap = argparse.ArgumentParser()
    for k, v in (("batch", 16), ("size", 224), ("threads", 2), ("iters", 5), ("triplets", 8), ("train-iters", 2)):
        ap.add_argument("--" + k, type=int, default=v)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = torchvision.models.resnet50(weights=None)
    backbone = torch.nn.Sequential(*list(model.children())[:-2])

    def embed(x):
        return F.normalize(backbone(x).mean(dim=(2, 3)), dim=1)

    x = torch.rand(a.batch, 3, a.size, a.size) * 2 - 1
    backbone.eval()
    with torch.inference_mode():
        embed(x)
        t = time.time()
        for _ in range(a.iters):
            embed(x)
        ips = a.batch * a.iters / (time.time() - t)

    train_s = 0.0
    if a.train_iters > 0:
        opt = torch.optim.Adam(backbone.parameters(), lr=1e-6, weight_decay=1e-4)
        xt = x[: a.triplets].repeat(3, 1, 1, 1).contiguous()

        def step():
            backbone.train()
            for m in backbone.modules():  # frozen BN statistics, as the engine's default
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.eval()
            ea, eb, ec = embed(xt).chunk(3)
            d = lambda p, q: 1 - (p * q).sum(1)
            dab = d(ea, eb)
            loss = F.relu(0.01 + dab - torch.minimum(d(ea, ec), d(eb, ec)) + F.relu(dab - 0.1)).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        step()
        t = time.time()
        for _ in range(a.train_iters):
            step()
        train_s = (time.time() - t) / a.train_iters
    print(json.dumps({"engine": "pytorch", "torch": torch.__version__, "arch": "resnet50", "threads": a.threads,
                      "batch": a.batch, "size": a.size, "embed_images_per_s": round(ips, 2),
                      "train_triplets": a.triplets, "train_step_s": round(train_s, 3)}))


if __name__ == "__main__":
    main()
