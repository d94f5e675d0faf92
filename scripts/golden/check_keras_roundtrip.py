#!/usr/bin/env python3
"""Checks that Keras loads what `fcn convert` writes and gives the grid `fcn run` gives, and
records it so that CI (which has no Python) can check FCNKit's side.

For each fixture below it runs `fcn convert` (the built binary), loads the result with
`keras.models.load_model`, runs it on the fixture's larger input, and compares with the
reference FCN grid written by make_fixtures.py. It writes:
  Tests/Fixtures/converted/<name>.fcn.h5         what fcn convert wrote
  Tests/Fixtures/converted/<name>.keras_grid.npy what Keras computed from that file
  Tests/Fixtures/converted/roundtrip.json        versions and the errors measured
Generated, do not edit the outputs.

Run: swift build && python scripts/golden/check_keras_roundtrip.py [--fcn .build/debug/fcn]
"""
import argparse
import json
import pathlib
import shutil
import subprocess

import keras
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests/Fixtures"
OUT = FIXTURES / "converted"
# Fixtures whose FCN Keras can express exactly (Caffe's average pooling at borders it cannot).
NAMES = ["k3_lenet", "k3_vgg_same_bn", "k3_functional", "k3_nested", "k3_gap", "k2_full", "k2_weights", "k1_th", "k1_tf"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fcn", default=str(ROOT / ".build/debug/fcn"))
    arguments = parser.parse_args()
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    fixtures = {entry["name"]: entry for entry in manifest["fixtures"]}
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    results = {}
    for name in NAMES:
        entry = fixtures[name]
        target = OUT / f"{name}.fcn.h5"
        command = [arguments.fcn, "convert", str(FIXTURES / entry["file"]), "-o", str(target)]
        if entry["arch"]:
            command += ["--arch", str(FIXTURES / entry["arch"])]
        subprocess.run(command, check=True, capture_output=True)
        model = keras.models.load_model(target, compile=False)
        grid_input = np.load(FIXTURES / entry["golden"]["fcn_input"])
        reference = np.load(FIXTURES / entry["golden"]["fcn_output"])
        channels_first = entry["data_format"] == "channels_first"
        if channels_first:  # fcn convert writes channels_last files
            grid_input = grid_input.transpose(0, 2, 3, 1)
            reference = reference.transpose(0, 2, 3, 1)
        grid = model.predict(grid_input, verbose=0).astype("<f4")
        np.save(OUT / f"{name}.keras_grid.npy", grid)
        error = float(np.abs(grid - reference).max())
        scale = float(np.abs(reference).max())
        results[name] = {"file": f"converted/{name}.fcn.h5", "keras_grid": f"converted/{name}.keras_grid.npy",
                         "input": entry["golden"]["fcn_input"], "input_transposed_to_channels_last": channels_first,
                         "max_abs_error_vs_reference_fcn": error, "relative_error": error / scale}
        print(f"{name}: Keras on the converted file vs the reference FCN: max abs {error:.2e}, relative {error / scale:.2e}")
        assert error <= 1e-4 * scale, name
    (OUT / "roundtrip.json").write_text(json.dumps({
        "_generated_by": "scripts/golden/check_keras_roundtrip.py; generated, do not edit",
        "versions": {"keras": keras.__version__, "numpy": np.__version__},
        "fixtures": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
