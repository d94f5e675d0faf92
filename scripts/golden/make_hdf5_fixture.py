#!/usr/bin/env python3
"""Writes Tests/Fixtures/hdf5/attributes.h5: every attribute and dataset encoding that Keras
and Caffe files use, for the HDF5Reader tests. Generated, do not edit the output.

Run: python scripts/golden/make_hdf5_fixture.py   (needs h5py and numpy)
"""
import pathlib

import h5py
import numpy as np

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests/Fixtures/hdf5/attributes.h5"


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(OUT, "w", libver="earliest") as f:
        f.attrs["generator"] = "scripts/golden/make_hdf5_fixture.py; generated, do not edit"
        # Keras 1/2: fixed-length byte strings.
        f.attrs["fixed_names"] = np.array([b"conv2d_1", b"dense_10"], dtype="S8")
        # tf.keras 2.13 / Keras 3: variable-length strings, ASCII and UTF-8.
        f.attrs.create("vlen_names", ["dense", "dense_1", "flatten"], dtype=h5py.string_dtype("ascii"))
        f.attrs.create("vlen_utf8", "caf\u00e9 \u2192 model", dtype=h5py.string_dtype("utf-8"))
        # Keras's split form for long lists.
        f.attrs["split_names0"] = np.array([b"a", b"b"], dtype="S1")
        f.attrs["split_names1"] = np.array([b"c"], dtype="S1")
        # An empty weight_names, as every Keras version writes it.
        f.attrs["empty_names"] = np.zeros((0,), dtype="float64")
        f.attrs["numbers"] = np.array([1, 2, 3], dtype="int64")
        f.attrs["padded"] = np.array([b"ab  "], dtype="S4")
        group = f.create_group("outer/inner")
        group.attrs["weight_names"] = np.array([b"inner/kernel:0"], dtype="S14")
        group.create_dataset("inner/kernel:0", data=np.arange(6, dtype="float64").reshape(2, 3))
        f.create_dataset("int8_values", data=np.array([-3, 0, 7], dtype="int8"))
        f.create_dataset("float32_matrix", data=(np.arange(12, dtype="float32") / 4).reshape(3, 4))
        f.create_dataset("scalar", data=np.float32(2.5))
        f.create_dataset("strings", data=np.array([b"x", b"y"], dtype="S1"))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
