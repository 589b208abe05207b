#!/usr/bin/python3
"""Golden data for Motif's OPTICS equivalence tests (tests/Motif.Core.Tests/Clustering/OpticsGoldenTests.cs).

Developers run it, with Debian's scikit-learn 1.2.1 (the `python3` first on PATH cannot see it):
    /usr/bin/python3 tests/golden/optics/make_golden.py
It rewrites, next to this script, for each data set NAME:
  NAME.f32   the signatures: N x D float32, row-major, little-endian, no header (N and D are in NAME.json)
  NAME.json  N, D and, per parameter set, scikit-learn's ordering_, reachability_, core_distances_,
             predecessor_, labels_ (xi), cluster_hierarchy_ and cluster_optics_dbscan labels;
             infinities are written as null. Where scikit-learn refuses the input (fewer points than
             min_samples), "error" holds its message instead.
The C# tests only read these files; they never need Python. Everything is seeded, so a rerun on the
same scikit-learn/numpy rewrites identical files.

Parameter sets (all metric='cosine', algorithm chosen by scikit-learn = brute force):
  replica   min_samples 2, max_eps 0.13, xi 0.05                       (the research's setting; dbscan at 0.08)
  wide      min_samples 5, max_eps inf, xi 0.05, min_cluster_size 0.05 (dbscan at 0.05)
  mid       min_samples 3, max_eps 0.6, xi 0.1, min_cluster_size 4     (dbscan at 0.3)
  fraction  min_samples 0.02 (a fraction), max_eps 0.3, xi 0.02,
            predecessor_correction False                                (dbscan at 0.1)
No max_eps equals a distance that ties_8d holds exactly (0.5, 1): scikit-learn normalises rows before the
dot product, so its cosine distance for an exact 0.5 comes out as 0.5000000000000001 and a radius of 0.5
excludes the pair, while Motif computes x.y / sqrt(|x|^2 |y|^2), exactly 0.5, and includes it. Which side of
the radius an exact tie falls on is rounding noise in scikit-learn, not a property worth pinning; the C#
tests check Motif's own rule (d <= radius, exact ties included) separately.
"""
import json
import math
import os
import sys

import numpy as np
import sklearn
from sklearn.cluster import OPTICS, cluster_optics_dbscan

HERE = os.path.dirname(os.path.abspath(__file__))

PARAMS = [
    dict(name="replica", min_samples=2, max_eps=0.13, xi=0.05, min_cluster_size=None, predecessor_correction=True, dbscan_eps=0.08),
    dict(name="wide", min_samples=5, max_eps=math.inf, xi=0.05, min_cluster_size=0.05, predecessor_correction=True, dbscan_eps=0.05),
    dict(name="mid", min_samples=3, max_eps=0.6, xi=0.1, min_cluster_size=4, predecessor_correction=True, dbscan_eps=0.3),
    dict(name="fraction", min_samples=0.02, max_eps=0.3, xi=0.02, min_cluster_size=None, predecessor_correction=False, dbscan_eps=0.1),
]


def unit_rows(x):
    x = np.asarray(x, dtype=np.float64)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def angles(theta):
    return unit_rows(np.stack([np.cos(theta), np.sin(theta)], axis=1))


def blobs_2d(rng):
    # Five angular blobs of different widths (radians) plus uniform noise around the circle.
    centres = [0.3, 1.4, 2.6, 4.0, 5.3]
    widths = [0.02, 0.05, 0.08, 0.03, 0.1]
    theta = np.concatenate([rng.normal(c, w, 72) for c, w in zip(centres, widths)] + [rng.uniform(0, 2 * np.pi, 40)])
    return angles(rng.permutation(theta))


def chain_2d(rng):
    # Two chains whose spacing grows geometrically: gradients, the hard case for xi-steep areas.
    first = np.cumsum(0.002 * 1.03 ** np.arange(110)) + rng.normal(0, 1e-4, 110)
    second = 3.5 + np.cumsum(0.004 * 1.05 ** np.arange(90)) + rng.normal(0, 1e-4, 90)
    return angles(np.concatenate([first, second]))


def ties_8d(rng):
    # Every 8-d 0/1 vector with two ones, some duplicated: all cosine distances are exactly 0, 0.5 or 1,
    # so the ordering is decided by scikit-learn's tie-breaking (lowest index) and its 15-decimal rounding.
    base = []
    for a in range(8):
        for b in range(a + 1, 8):
            v = np.zeros(8)
            v[[a, b]] = 1
            base.append(v)
    rows = [v for v in base for _ in range(1 + rng.integers(0, 3))]
    return unit_rows(np.array(rows)[rng.permutation(len(rows))])


def noise_16d(rng):
    # Random directions in 16-d: pairwise distances around 1, so with max_eps 0.13 everything is noise.
    return unit_rows(rng.normal(size=(80, 16)))


def single(rng):
    return unit_rows(rng.normal(size=(1, 2)))


def pair_2d(rng):
    return angles(np.array([1.0, 1.01]))


def blobs_2048(rng):
    # Six 2048-d clusters of different tightness (member-to-member distance roughly 0.02 to 0.15) plus noise;
    # the shape of fine-tuned signatures. 300 points keep the file at 2.4 MB.
    d = 2048
    rows = []
    for spread, size in zip([0.1, 0.15, 0.2, 0.25, 0.3, 0.4], [70, 50, 45, 40, 35, 30]):
        centre = rng.normal(size=d)
        centre /= np.linalg.norm(centre)
        rows.append(centre + spread * rng.normal(size=(size, d)) / np.sqrt(d))
    rows.append(rng.normal(size=(30, d)) / np.sqrt(d))
    x = np.concatenate(rows)
    return unit_rows(x[rng.permutation(len(x))])


def dups_2048(rng):
    # Exact duplicates (copies of one image uploaded twice) and near-duplicates in 2048-d.
    d = 2048
    rows = []
    for k in range(12):
        base = rng.normal(size=d)
        for _ in range(1 + rng.integers(0, 4)):
            rows.append(base)
        for _ in range(rng.integers(0, 3)):
            rows.append(base + 0.05 * rng.normal(size=d))
    x = unit_rows(np.array(rows))
    return x[rng.permutation(len(x))]


DATASETS = [blobs_2d, chain_2d, ties_8d, noise_16d, single, pair_2d, blobs_2048, dups_2048]


def finite_or_none(values):
    return [None if math.isinf(v) else float(v) for v in values]


def run(x, p):
    entry = {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in p.items()}
    try:
        optics = OPTICS(
            metric="cosine",
            min_samples=p["min_samples"],
            max_eps=p["max_eps"],
            xi=p["xi"],
            min_cluster_size=p["min_cluster_size"],
            predecessor_correction=p["predecessor_correction"],
        ).fit(x)
    except ValueError as e:
        entry["error"] = str(e)
        return entry
    entry["ordering"] = optics.ordering_.tolist()
    entry["reachability"] = finite_or_none(optics.reachability_)
    entry["core_distances"] = finite_or_none(optics.core_distances_)
    entry["predecessor"] = optics.predecessor_.tolist()
    entry["labels_xi"] = optics.labels_.tolist()
    entry["cluster_hierarchy"] = optics.cluster_hierarchy_.tolist()
    entry["labels_dbscan"] = cluster_optics_dbscan(
        reachability=optics.reachability_,
        core_distances=optics.core_distances_,
        ordering=optics.ordering_,
        eps=p["dbscan_eps"],
    ).tolist()
    return entry


def main():
    if sklearn.__version__ != "1.2.1":
        sys.exit(f"expected scikit-learn 1.2.1 (Debian 12's), found {sklearn.__version__}")
    import warnings

    warnings.simplefilter("ignore")  # "All reachability values are inf" is expected for the noise data set
    for seed, make in enumerate(DATASETS):
        rng = np.random.default_rng(1000 + seed)
        x = np.ascontiguousarray(make(rng), dtype="<f4")
        name = make.__name__
        x.tofile(os.path.join(HERE, name + ".f32"))
        doc = {
            "name": name,
            "n": int(x.shape[0]),
            "d": int(x.shape[1]),
            "sklearn": sklearn.__version__,
            "runs": [run(x, p) for p in PARAMS],
        }
        with open(os.path.join(HERE, name + ".json"), "w") as f:
            json.dump(doc, f, separators=(",", ":"))
        labels = [r.get("labels_xi") for r in doc["runs"]]
        summary = [("error" if l is None else f"{max(l) + 1} clusters, {sum(v < 0 for v in l)} noise") for l in labels]
        print(f"{name}: {x.shape[0]} x {x.shape[1]}: " + "; ".join(summary))


if __name__ == "__main__":
    main()
