#!/usr/bin/python3
"""Anchor for Motif's imaging benchmark: the preprocessing the research code uses (PIL + torchvision
Resize(256) / CenterCrop(224) / ToTensor / Normalize), and PIL with draft() (libjpeg DCT scaling, the
counterpart of libvips' shrink-on-load). Run by bench/Motif.Bench in the same run as Motif; needs Debian's
python3-pil, python3-numpy, python3-torchvision (call it as /usr/bin/python3).

  imaging_anchor.py make-inputs PHOTOS OUT N   write N 2000x1500 JPEGs (quality 90) made from PHOTOS
  imaging_anchor.py run DIR THREADS PASSES     print {"torchvision": img/s, "pil_draft": img/s} as JSON
"""
import glob, io, json, os, statistics, sys, time
from multiprocessing import Pool

def make_inputs(photos, out, n):
    from PIL import Image
    os.makedirs(out, exist_ok=True)
    sources = sorted(p for p in glob.glob(os.path.join(photos, "*")) if p.endswith((".png", ".jpg")))
    def usable(path):  # scikit-image ships a deliberately truncated JPEG, and some tiny images
        try:
            with Image.open(path) as image:
                image.load()
                return min(image.size) >= 256
        except OSError:
            return False
    sources = [p for p in sources if usable(p)]
    for i in range(n):
        image = Image.open(sources[i % len(sources)]).convert("RGB")
        if i // len(sources) % 2:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        image.resize((2000, 1500), Image.Resampling.LANCZOS).save(os.path.join(out, f"{i:03d}.jpg"), quality=90)

_images = None

def _load(directory):
    global _images
    import torch
    torch.set_num_threads(1)
    _images = [open(p, "rb").read() for p in sorted(glob.glob(os.path.join(directory, "*.jpg")))]

def _torchvision(indices):
    from PIL import Image
    import torchvision.transforms as T
    pipeline = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                          T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    for i in indices:
        pipeline(Image.open(io.BytesIO(_images[i])).convert("RGB"))

def _pil_draft(indices):
    from PIL import Image
    import numpy as np
    mean = np.array([123.675, 116.28, 103.53], np.float32)
    std = np.array([58.395, 57.12, 57.375], np.float32)
    for i in indices:
        image = Image.open(io.BytesIO(_images[i]))
        image.draft("RGB", (256, 256))
        image = image.convert("RGB")
        w, h = image.size
        scale = 256 / min(w, h)
        image = image.resize((round(w * scale), round(h * scale)), Image.Resampling.BILINEAR)
        left, top = round((image.width - 224) / 2), round((image.height - 224) / 2)
        array = np.asarray(image.crop((left, top, left + 224, top + 224)), np.float32)
        ((array - mean) / std).transpose(2, 0, 1).copy()

def run(directory, threads, passes):
    count = len(glob.glob(os.path.join(directory, "*.jpg")))
    chunks = [list(range(t, count, threads)) for t in range(threads)]
    result = {}
    with Pool(threads, initializer=_load, initargs=(directory,)) as pool:
        for name, work in (("torchvision", _torchvision), ("pil_draft", _pil_draft)):
            pool.map(work, chunks)  # warm-up: imports, caches
            rates = []
            for _ in range(passes):
                start = time.perf_counter()
                pool.map(work, chunks)
                rates.append(count / (time.perf_counter() - start))
            result[name] = statistics.median(rates)
    print(json.dumps(result))

if __name__ == "__main__":
    if sys.argv[1] == "make-inputs":
        make_inputs(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
