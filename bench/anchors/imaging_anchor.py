#!/usr/bin/python3
"""Anchor for Motif's imaging benchmark: the preprocessing the research code uses (PIL + torchvision
Resize(256) / CenterCrop(224) / ToTensor / Normalize), and PIL with draft() (libjpeg DCT scaling, the
counterpart of libvips' shrink-on-load). Run by bench/Motif.Bench in the same run as Motif; needs Debian's
python3-pil, python3-numpy, python3-torchvision (call it as /usr/bin/python3).

  imaging_anchor.py make-inputs PHOTOS OUT N   write N 2000x1500 JPEGs (quality 90) made from PHOTOS
  imaging_anchor.py run DIR THREADS PASSES     print, as JSON, for each pipeline (torchvision, pil_draft,
                                               pil_derivatives): NAME = images/s (wall clock, median of passes)
                                               and NAME_cpu = images per CPU-second (median of passes)
  imaging_anchor.py fidelity LIST NPY          compare Motif's 224x224 RGB levels (NPY, one row per file in
                                               LIST) with torchvision's and PIL-with-draft's on the same files

Wall clock swings 2x on a shared machine; CPU time does not (it counts only what this pipeline ran). Each pool
worker measures time.process_time() around its own chunk and the pass's CPU time is their sum: a worker process
has one thread (torch.set_num_threads(1)), so that is the CPU the pipeline used, without the pool's own overhead.
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

def _draft_crop(source):
    """PIL with draft(): decoded at the smallest JPEG DCT scale that keeps 256 px, bilinear to a 256 px short side,
    the centre 224x224 (HWC, float32)."""
    from PIL import Image
    import numpy as np
    image = Image.open(source)
    image.draft("RGB", (256, 256))
    image = image.convert("RGB")
    w, h = image.size
    scale = 256 / min(w, h)
    image = image.resize((round(w * scale), round(h * scale)), Image.Resampling.BILINEAR)
    left, top = round((image.width - 224) / 2), round((image.height - 224) / 2)
    return np.asarray(image.crop((left, top, left + 224, top + 224)), np.float32)

def _pil_draft(indices):
    import numpy as np
    mean = np.array([123.675, 116.28, 103.53], np.float32)
    std = np.array([58.395, 57.12, 57.375], np.float32)
    for i in indices:
        ((_draft_crop(io.BytesIO(_images[i])) - mean) / std).transpose(2, 0, 1).copy()

def _pil_derivatives(indices):
    """Intake's derivative step the PIL way, at Motif's sizes and qualities (IngestService): a display derivative of
    at most 1024 px (quality 90) from the upload, then a thumbnail of at most 256 px (quality 80) from that
    derivative. draft() is PIL's shrink-on-load, thumbnail() its never-enlarging, aspect-keeping resize; LANCZOS
    and optimize=True as Motif's lanczos3 vips_thumbnail and optimize_coding."""
    for i in indices:
        display = _pil_thumbnail(_images[i], 1024, 90)
        _pil_thumbnail(display, 256, 80)

def _pil_thumbnail(data, side, quality):
    from PIL import Image
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (side, side))
    image = image.convert("RGB")
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()

def _cpu_torchvision(indices):
    return _timed_call(_torchvision, indices)

def _cpu_pil_draft(indices):
    return _timed_call(_pil_draft, indices)

def _cpu_pil_derivatives(indices):
    return _timed_call(_pil_derivatives, indices)

def _timed_call(work, indices):
    """The worker's CPU seconds for work(indices): process time of this one-thread worker process alone."""
    start = time.process_time()
    work(indices)
    return time.process_time() - start

PIPELINES = (("torchvision", _cpu_torchvision), ("pil_draft", _cpu_pil_draft), ("pil_derivatives", _cpu_pil_derivatives))

def run(directory, threads, passes):
    count = len(glob.glob(os.path.join(directory, "*.jpg")))
    chunks = [list(range(t, count, threads)) for t in range(threads)]
    result = {}
    with Pool(threads, initializer=_load, initargs=(directory,)) as pool:
        for name, work in PIPELINES:
            pool.map(work, chunks)  # warm-up: imports, caches
            rates, cpu_rates = [], []
            for _ in range(passes):
                start = time.perf_counter()
                cpu = sum(pool.map(work, chunks))
                rates.append(count / (time.perf_counter() - start))
                cpu_rates.append(count / cpu)
            result[name] = statistics.median(rates)
            result[name + "_cpu"] = statistics.median(cpu_rates)
    print(json.dumps(result))

def _levels_torchvision(path):
    from PIL import Image
    import numpy as np
    import torchvision.transforms as T
    image = T.CenterCrop(224)(T.Resize(256)(Image.open(path).convert("RGB")))
    return np.asarray(image, np.float32).transpose(2, 0, 1)

def _levels_pil_draft(path):
    return _draft_crop(path).transpose(2, 0, 1)

def fidelity(listing, npy):
    import numpy as np
    files = open(listing).read().split("\n")
    files = [f for f in files if f]
    motif = np.load(npy).reshape(len(files), 3, 224, 224)
    images = []
    for path, ours in zip(files, motif):
        reference, draft = _levels_torchvision(path), _levels_pil_draft(path)
        images.append({"file": path,
                       "motif_torchvision": float(np.abs(ours - reference).mean()),
                       "draft_torchvision": float(np.abs(draft - reference).mean()),
                       "motif_draft": float(np.abs(ours - draft).mean())})
    def group(name, members):
        return {"name": name, "count": len(members),
                **{k: float(np.mean([m[k] for m in members])) for k in ("motif_torchvision", "draft_torchvision", "motif_draft")}}
    bench = [m for m in images if "/bench/" in m["file"]]
    samples = [m for m in images if "/bench/" not in m["file"]]
    print(json.dumps({"groups": [group("benchmark JPEGs 2000x1500", bench), group("scikit-image samples", samples),
                                 group("all", images)], "images": images}))

if __name__ == "__main__":
    if sys.argv[1] == "fidelity":
        fidelity(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "make-inputs":
        make_inputs(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
