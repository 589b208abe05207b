#!/usr/bin/python3
"""Anchor for the neighbour graph: exact brute force in numpy, the plain way a user would do it. Normalise the rows,
X·Xᵀ in blocks of rows (float32 GEMM, OpenBLAS), keep the pairs with 1 − cos ≤ radius. Prints {"seconds": ..., "pairs":
unordered pairs i < j}. Run with OPENBLAS_NUM_THREADS set to the threads Motif gets; Debian's default libblas is the
netlib reference (~100× slower), so install libopenblas0-pthread, as users' numpy wheels bundle OpenBLAS.

  bruteforce_anchor.py SIGNATURES.npy [radius]
"""
import json, sys, time
import numpy as np

def main():
    x = np.load(sys.argv[1]).astype(np.float32)
    radius = float(sys.argv[2]) if len(sys.argv) > 2 else 0.13
    start = time.perf_counter()
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    pairs = 0
    block = 2048
    for i0 in range(0, len(x), block):
        # Only columns j < i1 are needed (the upper triangle is the same pairs); the diagonal block is trimmed below.
        cos = x[i0:i0 + block] @ x[:i0 + block].T
        rows, cols = np.nonzero(1 - cos <= radius)
        pairs += int(np.count_nonzero(cols < rows + i0))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "pairs": pairs}))

if __name__ == "__main__":
    main()
