#!/usr/bin/env python3
"""Tests/Fixtures/models/k3_nested_windows.weights.h5: k3_nested.weights.h5 as Keras 3 wrote it on
Windows before it normalised separators: each group's path built with os.path.join, so below the
root every path is one group whose name holds backslashes (`layers\\sequential\\layers\\conv2d`).

Run: <venv>/bin/python scripts/golden/make_windows_weights.py   (h5py)
"""
import pathlib

import h5py

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE = ROOT / "Tests/Fixtures/models/k3_nested.weights.h5"
TARGET = ROOT / "Tests/Fixtures/models/k3_nested_windows.weights.h5"


def main() -> None:
    with h5py.File(SOURCE, "r") as source, h5py.File(TARGET, "w", track_order=True) as target:
        for key, value in source.attrs.items():
            target.attrs[key] = value

        def windows(vars_path):  # "layers/dense/vars" -> "layers\\dense" / "vars"
            owner = vars_path[: -len("vars")].rstrip("/")
            return target.require_group(owner.replace("/", "\\") + "/vars" if owner else "vars")

        def copy(name, obj):
            if isinstance(obj, h5py.Group) and name.split("/")[-1] == "vars":
                windows(name)  # empty for layers without weights, as Keras writes them
            elif isinstance(obj, h5py.Dataset):
                vars_path, _, variable = name.rpartition("/")
                windows(vars_path).create_dataset(variable, data=obj[()])

        source.visititems(copy)
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
