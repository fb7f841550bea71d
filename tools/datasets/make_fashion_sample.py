#!/usr/bin/python3
"""Write the Fashion-MNIST sample that VecQ.Datasets embeds as a last-resort fallback.

Run from the repository root (Python 3 standard library only):

    /usr/bin/python3 tools/datasets/make_fashion_sample.py [SOURCE_DIR]

SOURCE_DIR defaults to /usr/share/datasets/fashion-mnist (Debian package
dataset-fashion-mnist). The script takes the FIRST TRAIN_COUNT training and the FIRST
TEST_COUNT test examples (no reordering, no selection) and writes them, in the original
IDX format, gzip-compressed, to datasets/VecQ.Datasets/Resources/fashion-mnist-sample/
under the original file names:

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz

The counts are chosen so that the four files together stay under 2,000,000 bytes
(deflate gets about 440 bytes per image, so the brief's 6000/1000 would need 3 MB).
MnistDataset.SampleTrainCount / SampleTestCount in C# must match them (a test checks).
The gzip header's mtime is 0, so re-running the script writes byte-identical files.
"""

import gzip
import os
import struct
import sys

TRAIN_COUNT = 4000
TEST_COUNT = 500
SIZE_LIMIT = 2_000_000  # bytes, all four files together

OUT_DIR = os.path.join("datasets", "VecQ.Datasets", "Resources", "fashion-mnist-sample")


def read_idx(path):
    """Returns (type_code, dims, payload) of an IDX file (gzip or raw), checking lengths."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise SystemExit(f"{path}: not an IDX file (bad magic {data[:4].hex()})")
    type_code, ndims = data[2], data[3]
    if type_code != 0x08:
        raise SystemExit(f"{path}: element type 0x{type_code:02x}, expected 0x08 (unsigned byte)")
    dims = list(struct.unpack(">" + "I" * ndims, data[4 : 4 + 4 * ndims]))
    payload = data[4 + 4 * ndims :]
    expected = 1
    for d in dims:
        expected *= d
    if len(payload) != expected:
        raise SystemExit(f"{path}: header says {dims} = {expected} bytes of data, file has {len(payload)}")
    return type_code, dims, payload


def write_idx_gz(path, type_code, dims, payload):
    header = bytes([0, 0, type_code, len(dims)]) + struct.pack(">" + "I" * len(dims), *dims)
    blob = gzip.compress(header + payload, compresslevel=9, mtime=0)
    with open(path, "wb") as f:
        f.write(blob)
    return len(blob)


def take(src_dir, kind, split, count):
    """Writes the first `count` examples of one file; returns the bytes written."""
    rank = 3 if kind == "images" else 1
    name = f"{split}-{kind}-idx{rank}-ubyte"
    type_code, dims, payload = read_idx(os.path.join(src_dir, name + ".gz"))
    if dims[0] < count:
        raise SystemExit(f"{name}: has {dims[0]} examples, fewer than {count}")
    per_item = len(payload) // dims[0]
    labels = None
    if kind == "labels":
        labels = payload[:count]
        if max(labels) > 9:
            raise SystemExit(f"{name}: label {max(labels)} outside 0..9")
    n = write_idx_gz(os.path.join(OUT_DIR, name + ".gz"), type_code, [count] + dims[1:], payload[: count * per_item])
    print(f"{name}.gz: {count} of {dims[0]} examples, {n} bytes"
          + ("" if labels is None else f", per class {[labels.count(c) for c in range(10)]}"))
    return n


def main():
    src_dir = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    if not os.path.isdir(src_dir):
        raise SystemExit(f"{src_dir} not found: install Debian's dataset-fashion-mnist or pass the folder")
    os.makedirs(OUT_DIR, exist_ok=True)
    total = 0
    for split, count in (("train", TRAIN_COUNT), ("t10k", TEST_COUNT)):
        for kind in ("images", "labels"):
            total += take(src_dir, kind, split, count)
    print(f"total {total} bytes (limit {SIZE_LIMIT})")
    if total > SIZE_LIMIT:
        raise SystemExit(f"sample is {total} bytes, over the {SIZE_LIMIT}-byte limit: lower the counts")


if __name__ == "__main__":
    main()
