#!/usr/bin/python3
"""Lay Fashion-MNIST out in other datasets' formats, to exercise those readers on real data offline.

Python 3 standard library only (PNG files are written with zlib; no PIL, no numpy).

    /usr/bin/python3 tools/datasets/fashion_mnist_export.py imagefolder OUT [--per-class N] [--source DIR]
    /usr/bin/python3 tools/datasets/fashion_mnist_export.py cifar10 OUT [--per-class N] [--all-train] [--source DIR]

Every image becomes 32x32 RGB: the 28x28 grey image padded by 2 zero pixels on each side, the
grey value copied to R, G and B. SOURCE (default /usr/share/datasets/fashion-mnist, Debian
package dataset-fashion-mnist) holds the four official IDX files (gzip or raw).

imagefolder: OUT/train/<label>_<name>/<index>.png from the training files and
  OUT/val/<label>_<name>/<index>.png from the t10k files, where <index> is the example's
  position in its IDX file (5 digits) and the class folder is e.g. "0_T-shirt_top" (the label
  first, so the sorted folder names give back Fashion-MNIST's labels).
cifar10: OUT/data_batch_1.bin .. data_batch_5.bin, OUT/test_batch.bin, OUT/batches.meta.txt in
  the binary CIFAR-10 format (records of 1 label byte + 1024 R + 1024 G + 1024 B bytes). By
  default the batches have CIFAR-10's official sizes: the first 50000 training examples in five
  batches of 10000, and the 10000 test examples; --all-train spreads all 60000 over the five
  batches (12000 each). Records keep the IDX order.

--per-class N keeps only the first N examples of each class of each split (IDX order); the
  CIFAR batches then have other than the official sizes (read them with AnyRecordCount).
"""

import argparse
import gzip
import os
import struct
import sys
import zlib

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SIZE = 32  # output side
PAD = 2  # (32 - 28) / 2


def read_idx(path):
    """(dims, payload) of an unsigned-byte IDX file, gzip or raw, every length checked."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise SystemExit(f"{path}: not an IDX file (bad magic {data[:4].hex()})")
    if data[2] != 0x08:
        raise SystemExit(f"{path}: element type 0x{data[2]:02x}, expected 0x08 (unsigned byte)")
    rank = data[3]
    dims = list(struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank]))
    payload = data[4 + 4 * rank:]
    expected = 1
    for d in dims:
        expected *= d
    if len(payload) != expected:
        raise SystemExit(f"{path}: header says {dims} = {expected} bytes of data, file has {len(payload)}")
    return dims, payload


def find(source, name):
    for candidate in (name + ".gz", name):
        p = os.path.join(source, candidate)
        if os.path.exists(p):
            return p
    raise SystemExit(f"{os.path.join(source, name)}(.gz) not found: install Debian's dataset-fashion-mnist or pass --source DIR")


def load_split(source, prefix):
    """(images as a list of 784-byte strings, labels) of one split ('train' or 't10k')."""
    dims, pixels = read_idx(find(source, f"{prefix}-images-idx3-ubyte"))
    ldims, labels = read_idx(find(source, f"{prefix}-labels-idx1-ubyte"))
    if len(dims) != 3 or dims[1:] != [28, 28] or len(ldims) != 1 or ldims[0] != dims[0]:
        raise SystemExit(f"{source}: {prefix} images {dims} and labels {ldims} do not match [N, 28, 28] / [N]")
    n = 28 * 28
    return [pixels[i * n:(i + 1) * n] for i in range(dims[0])], list(labels)


def select(labels, per_class):
    """Indices kept: all, or the first per_class of each class, in IDX order."""
    if per_class is None:
        return list(range(len(labels)))
    seen = [0] * 10
    keep = []
    for i, label in enumerate(labels):
        if seen[label] < per_class:
            seen[label] += 1
            keep.append(i)
    return keep


def padded(image):
    """The 28x28 grey image as 32x32 rows (bytes), zero-padded by 2 on each side."""
    blank = bytes(SIZE)
    rows = [blank] * PAD
    for y in range(28):
        rows.append(bytes(PAD) + image[y * 28:(y + 1) * 28] + bytes(PAD))
    rows += [blank] * PAD
    return rows


def png_rgb(rows):
    """A PNG file (bytes): 8-bit RGB, no interlace, filter 0 on every row; each grey value copied to R, G, B."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(v for v in row for _ in range(3)) for row in rows)
    ihdr = struct.pack(">IIBBBBB", len(rows[0]), len(rows), 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def folder_name(label):
    return f"{label}_" + CLASSES[label].replace("/", "_").replace(" ", "_")


def write_imagefolder(source, out, per_class):
    for prefix, split in (("train", "train"), ("t10k", "val")):
        images, labels = load_split(source, prefix)
        keep = select(labels, per_class)
        for label in range(10):
            os.makedirs(os.path.join(out, split, folder_name(label)), exist_ok=True)
        for i in keep:
            path = os.path.join(out, split, folder_name(labels[i]), f"{i:05d}.png")
            with open(path, "wb") as f:
                f.write(png_rgb(padded(images[i])))
        print(f"{os.path.join(out, split)}: {len(keep)} PNG files in 10 class folders")


def record(image, label):
    """One CIFAR-10 record: the label byte, then the R, G and B planes (1024 bytes each, rows top to bottom)."""
    plane = b"".join(padded(image))
    return bytes([label]) + plane + plane + plane


def write_batch(path, images, labels, indices):
    with open(path, "wb") as f:
        for i in indices:
            f.write(record(images[i], labels[i]))
    print(f"{path}: {len(indices)} records, {len(indices) * 3073} bytes")


def write_cifar10(source, out, per_class, all_train):
    os.makedirs(out, exist_ok=True)
    images, labels = load_split(source, "train")
    keep = select(labels, per_class)
    if per_class is None and not all_train:
        keep = keep[:50000]  # CIFAR-10's official training size: five batches of 10000
    # Five batches as equal as possible, in order (the first ones one longer when it does not divide).
    base, extra = divmod(len(keep), 5)
    start = 0
    for b in range(5):
        n = base + (1 if b < extra else 0)
        write_batch(os.path.join(out, f"data_batch_{b + 1}.bin"), images, labels, keep[start:start + n])
        start += n
    images, labels = load_split(source, "t10k")
    write_batch(os.path.join(out, "test_batch.bin"), images, labels, select(labels, per_class))
    with open(os.path.join(out, "batches.meta.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(name + "\n" for name in CLASSES) + "\n")
    print(f"{os.path.join(out, 'batches.meta.txt')}: {len(CLASSES)} class names")


def main(argv):
    p = argparse.ArgumentParser(description="Lay Fashion-MNIST out as a 32x32 RGB image-folder tree or as CIFAR-10 binary batches.")
    p.add_argument("format", choices=["imagefolder", "cifar10"])
    p.add_argument("out", help="output folder (created)")
    p.add_argument("--source", default="/usr/share/datasets/fashion-mnist", help="folder with the Fashion-MNIST IDX files")
    p.add_argument("--per-class", type=int, default=None, metavar="N", help="keep only the first N examples of each class per split")
    p.add_argument("--all-train", action="store_true", help="cifar10: all 60000 training examples (5 x 12000) instead of the official 50000")
    a = p.parse_args(argv)
    if a.per_class is not None and a.per_class < 1:
        p.error("--per-class must be at least 1")
    if not os.path.isdir(a.source):
        raise SystemExit(f"{a.source} not found: install Debian's dataset-fashion-mnist or pass --source DIR")
    if a.format == "imagefolder":
        write_imagefolder(a.source, a.out, a.per_class)
    else:
        write_cifar10(a.source, a.out, a.per_class, a.all_train)


if __name__ == "__main__":
    main(sys.argv[1:])
