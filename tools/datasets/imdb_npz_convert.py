#!/usr/bin/python3
"""Rewrite Keras's imdb.npz (pickled Python lists) as plain integer arrays that VecQ reads without unpickling.

Needs numpy (Debian: python3-numpy). Only run it on a file you trust: reading Keras's file
unpickles it (np.load(allow_pickle=True)), which can run code; that is why VecQ itself refuses it.

    /usr/bin/python3 tools/datasets/imdb_npz_convert.py imdb.npz imdb_int32.npz

Keras's imdb.npz (https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz) holds
x_train, x_test: object arrays of N Python lists of word ranks (1 = most frequent word), and
y_train, y_test: integer labels 0/1. The output (np.savez_compressed) holds, for s in train, test:
    x_<s>          int32 [N, L]  the ranks of review i in row i, left-aligned, zero-padded to L = the longest review
    x_<s>_lengths  int32 [N]     the number of ranks in each row
    y_<s>          int32 [N]     the labels
with the order of Keras's file (no shuffling, no offsets: VecQ applies Keras's start_char=1,
oov_char=2, index_from=3 and num_words when it reads the file, as imdb.load_data does).
Put the output where VecQ looks for IMDB (e.g. --data DIR holding imdb_int32.npz).
"""

import os
import sys

try:
    import numpy as np
except ImportError:
    raise SystemExit("numpy is needed: apt-get install python3-numpy")


def ragged_to_padded(name, x):
    rows = [np.asarray(r, dtype=np.int64).reshape(-1) for r in x]
    lengths = np.array([len(r) for r in rows], dtype=np.int32)
    width = int(lengths.max()) if len(rows) else 0
    out = np.zeros((len(rows), width), dtype=np.int32)
    for i, r in enumerate(rows):
        if len(r) and (r.min() < 1 or r.max() > np.iinfo(np.int32).max):
            raise SystemExit(f"{name}[{i}]: ranks must be in 1..2^31-1, found {r.min()}..{r.max()}")
        out[i, : len(r)] = r
    return out, lengths


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    arrays = {}
    with np.load(src, allow_pickle=True) as f:
        for s in ("train", "test"):
            for k in (f"x_{s}", f"y_{s}"):
                if k not in f.files:
                    raise SystemExit(f"{src}: no array {k} (holds {', '.join(f.files)})")
            x, y = f[f"x_{s}"], f[f"y_{s}"]
            if len(x) != len(y):
                raise SystemExit(f"{src}: x_{s} has {len(x)} rows, y_{s} has {len(y)}")
            if x.dtype == object or x.ndim == 1:
                padded, lengths = ragged_to_padded(f"x_{s}", x)
            else:
                padded = x.astype(np.int32)
                lengths = np.full(len(x), x.shape[1], dtype=np.int32)
            arrays[f"x_{s}"] = padded
            arrays[f"x_{s}_lengths"] = lengths
            arrays[f"y_{s}"] = np.asarray(y).astype(np.int32)
    tmp = dst + ".tmp.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, dst)
    for s in ("train", "test"):
        print(f"{s}: {len(arrays[f'y_{s}'])} reviews, longest {arrays[f'x_{s}'].shape[1]} words, "
              f"{int(arrays[f'x_{s}_lengths'].sum())} words in all")
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
