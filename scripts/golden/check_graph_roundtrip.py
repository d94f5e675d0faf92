#!/usr/bin/env python3
"""Checks that Keras 3 loads what `fcn convert` writes for the graph fixtures and gives their
reference FCN grid; records the errors in Tests/Fixtures/graphs/roundtrip.json.

Run: swift build && python scripts/golden/check_graph_roundtrip.py [--fcn .build/debug/fcn]
Generated output, do not edit.
"""
import argparse
import json
import pathlib
import subprocess
import tempfile

import keras
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests/Fixtures"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fcn", default=str(ROOT / ".build/debug/fcn"))
    arguments = parser.parse_args()
    manifest = json.loads((FIXTURES / "graphs/manifest.json").read_text())
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for fixture in manifest["fixtures"]:
            if fixture["refused"] or not fixture["golden"].get("fcn_input"):
                continue
            name = fixture["name"]
            converted = pathlib.Path(scratch) / f"{name}.fcn.h5"
            command = [arguments.fcn, "convert", str(FIXTURES / fixture["file"]), "-o", str(converted)]
            if fixture.get("arch"):
                command += ["--arch", str(FIXTURES / fixture["arch"])]
            run = subprocess.run(command, capture_output=True, text=True)
            if run.returncode != 0:
                results[name] = {"written": False, "message": (run.stderr or run.stdout).strip()}
                continue
            model = keras.models.load_model(converted, compile=False)
            grid_input = np.load(FIXTURES / fixture["golden"]["fcn_input"])
            expected = np.load(FIXTURES / fixture["golden"]["fcn_output"])
            if fixture["data_format"] in ("channels_first", "caffe"):
                grid_input, expected = grid_input.transpose(0, 2, 3, 1), expected.transpose(0, 2, 3, 1)
            grid = model.predict(grid_input, verbose=0)
            assert grid.shape == expected.shape, (name, grid.shape, expected.shape)
            error = float(np.abs(grid - expected).max() / np.abs(expected).max())
            assert error < 1e-4, (name, error)
            results[name] = {"written": True, "keras_relative_error": error}
            print(f"{name}: Keras loads the converted file, relative error {error:.2e}")
    (FIXTURES / "graphs/roundtrip.json").write_text(json.dumps(
        {"_generated_by": f"scripts/golden/check_graph_roundtrip.py, keras {keras.__version__}, do not edit", "results": results},
        indent=1) + "\n")


if __name__ == "__main__":
    main()
