#!/usr/bin/env python3
"""Writes Tests/Fixtures/hostile/: small files that declare or reach for more than they hold,
for the reader tests that prove each is refused (docs/SECURITY.md). Generated, do not edit
the output.

Run: python scripts/golden/make_hostile_fixtures.py   (needs h5py and numpy)
"""
import pathlib

import h5py
import numpy as np

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests/Fixtures/hostile"


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


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    huge_declared()
    outside_storage()
    wide_group()
    hostile_names()


if __name__ == "__main__":
    main()
