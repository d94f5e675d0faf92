#!/usr/bin/env python3
"""Writes Tests/Fixtures/hostile/: small files that declare or reach for more than they hold,
for the reader tests that prove each is refused (docs/SECURITY.md). Generated, do not edit
the output.

Run: python scripts/golden/make_hostile_fixtures.py   (needs h5py and numpy)
"""
import pathlib
import shutil

import h5py
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/Fixtures/hostile"
LENET = ROOT / "Tests/Fixtures/models/k3_lenet.h5"
CONVERTED_LENET = ROOT / "Tests/Fixtures/converted/k3_lenet.fcn.h5"
# 40 recognisable bytes (ten float32) that must never show up in anything fcn writes.
SECRET = b"TOP-SECRET:do-not-copy-these-bytes-out!!"


def huge_declared() -> None:
    """Chunked datasets that are never written: 10^12 elements, and dims whose product overflows."""
    with h5py.File(OUT / "huge_declared.h5", "w") as f:
        f.create_dataset("huge", shape=(10**6, 10**6), dtype="f4", chunks=(1, 1))
        f.create_dataset("overflow", shape=(2**32, 2**32, 16), dtype="f4", chunks=(1, 1, 1))
        f.create_dataset("empty_bias", data=h5py.Empty("f4"))
        f.create_dataset("fine", data=np.arange(6, dtype="f4").reshape(2, 3))


def outside_storage() -> None:
    """A dataset whose raw data is an external 'secret' file, a virtual dataset, and links that
    point outside the file."""
    secret = OUT / "secret.bin"
    secret.write_bytes(np.full(4, 42.0, dtype="<f4").tobytes())
    with h5py.File(OUT / "outside_storage.h5", "w") as f:
        f.create_dataset("external", shape=(4,), dtype="<f4", external=[("secret.bin", 0, 16)])
        layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
        layout[:] = h5py.VirtualSource("secret_source.h5", "data", shape=(4,))
        f.create_virtual_dataset("virtual", layout)
        f.create_dataset("plain", data=np.ones(4, dtype="f4"))
        f["soft"] = h5py.SoftLink("/plain")
        f["elsewhere"] = h5py.ExternalLink("secret_source.h5", "/data")
    with h5py.File(OUT / "secret_source.h5", "w") as f:
        f.create_dataset("data", data=np.full(4, 42.0, dtype="f4"))


def wide_group() -> None:
    """One group with 50,000 hard links to one small dataset."""
    with h5py.File(OUT / "wide_group.h5", "w", libver="latest") as f:
        target = f.create_dataset("target", data=np.zeros(1, dtype="f4"))
        group = f.create_group("wide")
        for index in range(50_000):
            group[f"link{index:05d}"] = target


def hostile_names() -> None:
    """A group whose name holds a newline and a terminal escape that clears the screen."""
    with h5py.File(OUT / "hostile_names.h5", "w") as f:
        f.create_group("evil\n\x1b[2J\x1b[Hname")


def lenet_variant(name: str) -> h5py.File:
    """A copy of the LeNet fixture (a Keras 3 full model) to make one weight hostile in."""
    shutil.copyfile(LENET, OUT / name)
    return h5py.File(OUT / name, "r+")


def hostile_models() -> None:
    """LeNet with its fc2 bias stored in an external 'secret' file, with its fc2 kernel an
    external link to 'fifo.h5' (the test makes a FIFO of that name beside a copy), and with its
    fc2 bias a NULL dataspace. A converted LeNet whose recorded input size is absurd, and one
    that lost it (as a Keras re-save does)."""
    assert len(SECRET) == 40
    (OUT / "lenet_secret.bin").write_bytes(SECRET)
    weights = "model_weights/fc2/lenet/fc2/"
    with lenet_variant("lenet_external_bias.h5") as f:
        del f[weights + "bias"]
        f.create_dataset(weights + "bias", shape=(10,), dtype="<f4", external=[("lenet_secret.bin", 0, 40)])
    with lenet_variant("lenet_fifo_link.h5") as f:
        del f[weights + "kernel"]
        f[weights + "kernel"] = h5py.ExternalLink("fifo.h5", "/kernel")
    with lenet_variant("lenet_null_bias.h5") as f:
        del f[weights + "bias"]
        f.create_dataset(weights + "bias", data=h5py.Empty("f4"))
    shutil.copyfile(CONVERTED_LENET, OUT / "lenet_huge_input.fcn.h5")
    with h5py.File(OUT / "lenet_huge_input.fcn.h5", "r+") as f:
        f.attrs["fcnkit_input_size"] = "99999999999x99999999999"
    shutil.copyfile(CONVERTED_LENET, OUT / "lenet_no_input.fcn.h5")
    with h5py.File(OUT / "lenet_no_input.fcn.h5", "r+") as f:
        del f.attrs["fcnkit_input_size"]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    huge_declared()
    outside_storage()
    wide_group()
    hostile_names()
    hostile_models()


if __name__ == "__main__":
    main()
