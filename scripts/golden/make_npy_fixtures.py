"""Writes the .npy fixtures of NumPyFileTests: arrays NumPy saves with its defaults (float64,
uint8, int16 big-endian, float16, bool, Fortran order, 2-D gray) and their float32 values
in C order as NumPy converts them, plus headers made wrong on purpose.

Run: python scripts/golden/make_npy_fixtures.py   (NumPy from scripts/requirements-reference.txt)
Writes Tests/Fixtures/npy/*.npy and Tests/Fixtures/npy/expected.json.
"""
import json
import pathlib

import numpy as np

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests" / "Fixtures" / "npy"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    base = rng.random((2, 3, 4))
    arrays = {
        "float64": base,                                     # what img / 255. gives
        "uint8": (base * 255).astype(np.uint8),
        "int16_big": (base * 2000 - 1000).astype(">i2"),
        "int64": (base * 1e6).astype(np.int64),
        "float16": base.astype(np.float16),
        "bool": base > 0.5,
        "fortran": np.asfortranarray(base.astype(np.float32)),
        "gray_2d": base[0].astype(np.float32),
        "float32": base.astype(np.float32),
    }
    expected = {}
    for name, array in arrays.items():
        np.save(OUT / f"{name}.npy", array)
        loaded = np.load(OUT / f"{name}.npy")
        expected[name] = {"shape": list(loaded.shape),
                          "values": np.ascontiguousarray(loaded, dtype=np.float32).ravel().tolist()}

    # Headers NumPy would refuse or read differently from a sloppy parser.
    good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
    malformed = {
        "shape_overflow": "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 2), }",
        "shape_word": "{'descr': '<f4', 'fortran_order': False, 'shape': (two, 2), }",
        "shape_not_tuple": "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }",
        "duplicate_descr": "{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
        "extra_key": "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': True, }",
        "missing_shape": "{'descr': '<f4', 'fortran_order': False, }",
        "structured": "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }",
        "complex": "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }",
        "object": "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
        "trailing_text": good + " junk",
        "unterminated": "{'descr': '<f4', 'fortran_order': False, 'shape': (2,",
    }
    for name, header in malformed.items():
        text = header + " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
        data = np.zeros(2, dtype="<f8").tobytes()
        (OUT / f"bad_{name}.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode() + data)
        try:
            np.load(OUT / f"bad_{name}.npy", allow_pickle=False)
            numpy_reads = True
        except Exception:
            numpy_reads = False
        expected[f"bad_{name}"] = {"numpy_reads": numpy_reads}
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
