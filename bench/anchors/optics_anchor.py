#!/usr/bin/python3
"""Anchor for Motif's clustering benchmark: scikit-learn's OPTICS with the replica's parameters on the same
.npy signatures. Prints {"seconds": fit time} and writes one label per line. Debian python3-sklearn 1.2.1;
call it as /usr/bin/python3.

  optics_anchor.py SIGNATURES.npy LABELS.txt [max_eps min_samples xi]
"""
import json, sys, time
import numpy as np
from sklearn.cluster import OPTICS

def main():
    x = np.load(sys.argv[1])
    max_eps, min_samples, xi = (float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])) if len(sys.argv) > 3 else (0.13, 2, 0.05)
    start = time.perf_counter()
    # n_jobs=2: the same two cores Motif gets, so the anchor runs at its best.
    labels = OPTICS(metric="cosine", max_eps=max_eps, min_samples=min_samples, xi=xi, n_jobs=2).fit(x).labels_
    seconds = time.perf_counter() - start
    np.savetxt(sys.argv[2], labels, fmt="%d")
    print(json.dumps({"seconds": seconds}))

if __name__ == "__main__":
    main()
