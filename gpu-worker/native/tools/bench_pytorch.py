#!/usr/bin/python3
"""PyTorch anchor for motif_engine_bench: the same workloads, same thread count, one JSON line.

    GLIBC_TUNABLES=glibc.malloc.hugetlb=1 /usr/bin/python3 gpu-worker/native/tools/bench_pytorch.py \
        --batch 16 --size 224 --threads 2 --iters 5 --triplets 8 --train-iters 3

Embed = torchvision resnet50 backbone -> global mean pool -> per-image L2 norm (inference mode).
Train step = one forward over 3n images, compound hinge loss (SEEDS.md), backward, Adam step,
BatchNorm in eval mode (the engine's default). Run it WITH the glibc tunable: without huge pages
PyTorch is ~4x slower on this VM, and the anchor should be PyTorch at its best.

--device cuda: the batch starts in host memory each time, as the engine's input does (pageable, copied
to the GPU), and the clock waits for the GPU; embed_resident_images_per_s is the same forward pass on
a batch already on the GPU (the ceiling without the copy).
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
import torchvision


def main():
    ap = argparse.ArgumentParser()
    for k, v in (("batch", 16), ("size", 224), ("threads", 2), ("iters", 5), ("triplets", 8), ("train-iters", 3)):
        ap.add_argument("--" + k, type=int, default=v)
    ap.add_argument("--bf16", action="store_true", help="torch.autocast(bfloat16) + channels_last, like the engine's mixed mode")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    model = torchvision.models.resnet50(weights=None)
    backbone = torch.nn.Sequential(*list(model.children())[:-2])
    fmt = torch.channels_last if a.bf16 else torch.contiguous_format
    backbone = backbone.to(device, memory_format=fmt)

    def embed(x):
        x = x.to(device).contiguous(memory_format=fmt)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=a.bf16):
            pooled = backbone(x).mean(dim=(2, 3)).float()
        return F.normalize(pooled, dim=1)

    host = torch.rand(a.batch, 3, a.size, a.size) * 2 - 1
    x = host.to(device).contiguous(memory_format=fmt)
    backbone.eval()
    def median_seconds(call, iterations):  # medians: this kind of VM is noisy
        call()  # warm-up
        sync()
        times = []
        for _ in range(iterations):
            t = time.perf_counter()
            call()
            sync()
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    with torch.inference_mode():
        ips = a.batch / median_seconds(lambda: embed(host).cpu(), a.iters)
        resident = a.batch / median_seconds(lambda: embed(x), a.iters)

    train_s = 0.0
    if a.train_iters > 0:
        opt = torch.optim.Adam(backbone.parameters(), lr=1e-6, weight_decay=1e-4)
        xt = x[: a.triplets].repeat(3, 1, 1, 1).contiguous(memory_format=fmt)

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

        train_s = median_seconds(step, a.train_iters)
    print(json.dumps({"engine": "pytorch", "torch": torch.__version__, "device": a.device, "bf16": a.bf16, "arch": "resnet50", "threads": a.threads,
                      "batch": a.batch, "size": a.size, "embed_images_per_s": round(ips, 2), "embed_resident_images_per_s": round(resident, 2),
                      "train_triplets": a.triplets, "train_step_s": round(train_s, 3)}))


if __name__ == "__main__":
    main()
