#!/usr/bin/env python3
"""Output lengths of ceil-mode pooling under ONNX Runtime (PyTorch's and ONNX's rule), written to
Tests/Fixtures/rounding/ceil_lengths.json for AxisWindowTests.

Run: <venv>/bin/python scripts/golden/make_rounding_fixtures.py   (onnx, onnxruntime in the venv)
Each case runs a real MaxPool with ceil_mode=1 over a 1 x 1 x 1 x L tensor and records the width
ONNX Runtime gives: ceil((L + before + after - k) / s) + 1, less one when that last window would
start at or after L + before (in the trailing padding or beyond), whether or not the axis is padded.
"""
import itertools
import json
import pathlib

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/Fixtures/rounding/ceil_lengths.json"


def ort_length(length: int, kernel: int, stride: int, before: int, after: int) -> int:
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[1, kernel], strides=[1, stride],
                            pads=[0, before, 0, after], ceil_mode=1)
    graph = helper.make_graph([node], "pool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 1, length])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"x": np.arange(length, dtype=np.float32).reshape(1, 1, 1, length)})
    return int(y.shape[-1])


def main() -> None:
    cases = []
    for length, kernel, stride, before in itertools.product([3, 4, 5, 6, 7, 9, 12], [1, 2, 3, 5], [1, 2, 3, 4], [0, 1, 2]):
        if kernel + 0 > length + 2 * before or before >= kernel:  # ONNX requires pads smaller than the kernel
            continue
        cases.append({"length": length, "kernel": kernel, "stride": stride, "before": before, "after": before,
                      "outputs": ort_length(length, kernel, stride, before, before)})
    OUT.write_text(json.dumps({
        "_generated_by": f"scripts/golden/make_rounding_fixtures.py (onnxruntime {onnxruntime.__version__}, onnx {onnx.__version__}), do not edit",
        "cases": cases}, indent=None).replace("}, {", "},\n {") + "\n")
    print(f"{len(cases)} cases written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
