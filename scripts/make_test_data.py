#!/usr/bin/env python3
"""Makes the small data the tests ship with (data/), from the full sets in
../shared/data: the first MNIST images and labels of each split, as IDX
(gzipped, as MNIST itself is), and the diabetes table as it is.

    python3 scripts/make_test_data.py [--shared ../shared/data]

The outputs are deterministic (gzip without a timestamp): running it again
gives the same bytes. Needs only the Python standard library."""

import argparse
import gzip
import hashlib
import shutil
import struct
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent

# (split, images kept): enough for the CI samples of training (1,024 rows)
# and prediction (up to 1,000 test images).
SAMPLES = [("train", 2048), ("t10k", 1000)]

# The full sets these are cut from (../shared/data/README.md).
SHA256 = {
    "t10k-images.idx3-ubyte.gz": "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
    "t10k-labels.idx1-ubyte.gz": "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
    "train-images.idx3-ubyte.gz": "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
    "train-labels.idx1-ubyte.gz": "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
}


def read_idx(path: Path):
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if SHA256.get(path.name) not in (None, digest):
        raise SystemExit(f"{path}: sha256 {digest} is not MNIST's")
    raw = gzip.decompress(data)
    magic, = struct.unpack(">I", raw[:4])
    dims = struct.unpack(">" + "I" * (magic & 0xFF), raw[4 : 4 + 4 * (magic & 0xFF)])
    return magic, list(dims), raw[4 + 4 * len(dims) :]


def write_idx(path: Path, magic: int, dims, body: bytes):
    header = struct.pack(">I", magic) + struct.pack(">" + "I" * len(dims), *dims)
    with open(path, "wb") as file:
        with gzip.GzipFile(fileobj=file, mode="wb", mtime=0, filename="") as archive:
            archive.write(header + body)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPOSITORY.parent / "shared" / "data")
    args = parser.parse_args()
    out = REPOSITORY / "data"
    (out / "mnist").mkdir(parents=True, exist_ok=True)
    for split, count in SAMPLES:
        for kind in ("images", "labels"):
            suffix = "idx3-ubyte.gz" if kind == "images" else "idx1-ubyte.gz"
            magic, dims, body = read_idx(args.shared / "mnist" / f"{split}-{kind}.{suffix}")
            item = 1
            for dim in dims[1:]:
                item *= dim
            target = out / "mnist" / f"{split}-sample-{kind}.{suffix}"
            write_idx(target, magic, [count] + dims[1:], body[: count * item])
            print(f"{target.relative_to(REPOSITORY)}: the first {count} of {dims[0]}")
    shutil.copyfile(args.shared / "diabetes" / "diabetes.csv", out / "diabetes.csv")
    print("data/diabetes.csv: all 442 rows")


if __name__ == "__main__":
    main()
