#!/usr/bin/env python3
"""Exports a benchmark classifier (.h5 from make_models.py) as the same fully convolutional
network in ONNX, so that ONNX Runtime can be timed against `fcn bench` on equal terms.

The network is built directly with onnx.helper from the .h5 file, read with h5py (the
`model_config` JSON and each layer group's `weight_names` under `model_weights/`), not by
converting a Keras model with a generic exporter. The conversion is the one FCNKit does:

  Conv2D            -> Conv (kernel (kh, kw, in, out) transposed to (out, in, kh, kw))
  Flatten + Dense   -> Conv whose kernel is the Dense kernel reshaped to (h, w, c, units),
                       Keras's channels_last flatten order, then transposed like a Conv kernel
  later Dense       -> 1x1 Conv
  MaxPooling2D      -> MaxPool
  ZeroPadding2D     -> Pad
  relu / softmax    -> Relu / Softmax over axis 1 (the channels)
  Dropout           -> removed (inference)

The graph is NCHW with input shape [1, C, 'H', 'W'], so any input size runs, and it is saved
as <name>.onnx beside the .h5. Before saving, the script checks it on a small input that is
not square: ONNX Runtime's output must equal a Keras FCN built from the same weights
(channels_last) within 1e-4 relative, and that Keras FCN at the classifier's own input size
must equal the original classifier, which checks the flatten order of the first Dense.

Run: python scripts/bench/export_onnx.py MODEL.h5 [MODEL.h5 ...] [--skip-up-to-date]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import pathlib
import sys
import time

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: no start-up chatter

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
TOLERANCE = 1e-4
SEED = 20261124


# --- Reading the Keras file ------------------------------------------------------------------

@dataclasses.dataclass
class KerasLayer:
    """One layer of the stored model: its class, config and weights in `weight_names` order."""
    kind: str
    name: str
    config: dict
    weights: list[np.ndarray]


def read_keras_h5(path: pathlib.Path) -> tuple[tuple[int, int, int], list[KerasLayer]]:
    """Returns the classifier's input shape (H, W, C) and its layers in order.

    Only a plain chain of layers is supported (a Sequential model, or a Functional one where
    every layer takes the previous layer's output), which covers the benchmark models.
    """
    with h5py.File(path, "r") as file:
        config = json.loads(file.attrs["model_config"])
        stored = file["model_weights"]
        layers = []
        for entry in config["config"]["layers"]:
            name = entry["config"]["name"]
            weights = []
            if name in stored:
                group = stored[name]
                weights = [np.asarray(group[weight_name], dtype=np.float32)
                           for weight_name in _strings(group.attrs.get("weight_names", []))]
            layers.append(KerasLayer(entry["class_name"], name, entry["config"], weights))
        if config["class_name"] == "Functional":
            _check_chain(config["config"]["layers"])
    if layers[0].kind != "InputLayer":
        raise ValueError(f"{path}: expected the first layer to be an InputLayer, found {layers[0].kind}")
    input_config = layers[0].config
    shape = input_config.get("batch_shape") or input_config.get("batch_input_shape")
    if input_config.get("data_format", "channels_last") != "channels_last" or len(shape) != 4:
        raise ValueError(f"{path}: only channels_last image models are supported (input {shape})")
    height, width, channels = shape[1:]
    return (height, width, channels), layers[1:]


def _strings(values) -> list[str]:
    return [value.decode() if isinstance(value, bytes) else str(value) for value in values]


def _check_chain(layer_entries: list[dict]) -> None:
    """Raises unless each layer of a Functional model reads exactly the previous layer."""
    for previous, entry in zip(layer_entries, layer_entries[1:]):
        sources = []
        for node in entry.get("inbound_nodes", []):
            for argument in node.get("args", []):
                for tensor in argument if isinstance(argument, list) else [argument]:
                    sources.append(tensor["config"]["keras_history"][0])
        if sources != [previous["config"]["name"]]:
            raise ValueError(f"layer {entry['config']['name']} reads {sources}: only plain chains are supported")


# --- The fully convolutional form, independent of ONNX and Keras ------------------------------

@dataclasses.dataclass
class Conv:
    name: str
    kernel: np.ndarray            # (kh, kw, in, out), Keras's layout
    bias: np.ndarray | None
    strides: tuple[int, int]
    dilation: tuple[int, int]
    padding: str                  # "valid" or "same" (TensorFlow's: any extra row or column at the end)


@dataclasses.dataclass
class Pad:
    name: str
    pads: tuple[tuple[int, int], tuple[int, int]]   # ((top, bottom), (left, right)) of zeros


@dataclasses.dataclass
class MaxPool:
    name: str
    size: tuple[int, int]
    strides: tuple[int, int]
    padding: str


@dataclasses.dataclass
class Activation:
    name: str
    function: str                 # "relu" or "softmax" (softmax over the channels)


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _spatial(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    """An output side length, as Keras computes it."""
    if padding == "same":
        return math.ceil(size / stride)
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def convolutionalize(input_shape: tuple[int, int, int], layers: list[KerasLayer]) -> list:
    """Turns the classifier's layers into the steps of its fully convolutional form.

    Tracks the activation shape at the classifier's own input size, which fixes the kernel
    size of the convolution that replaces the first Dense after Flatten.
    """
    height, width, channels = input_shape
    flattened = False      # between Flatten and the Dense it feeds
    after_flatten = False  # past that Dense: every later Dense is a 1x1 convolution
    steps: list = []

    def activation(layer: KerasLayer, function: str | None) -> None:
        if function in (None, "linear"):
            return
        if function not in ("relu", "softmax"):
            raise ValueError(f"{layer.name}: activation {function!r} is not supported")
        steps.append(Activation(f"{layer.name}_{function}", function))

    for layer in layers:
        config = layer.config
        if config.get("data_format", "channels_last") != "channels_last":
            raise ValueError(f"{layer.name}: only channels_last layers are supported")
        if layer.kind == "Conv2D":
            if config.get("groups", 1) != 1:
                raise ValueError(f"{layer.name}: grouped convolutions are not supported")
            kernel = layer.weights[0]
            strides, dilation = _pair(config["strides"]), _pair(config["dilation_rate"])
            steps.append(Conv(layer.name, kernel, layer.weights[1] if config["use_bias"] else None,
                              strides, dilation, config["padding"]))
            height = _spatial(height, kernel.shape[0], strides[0], dilation[0], config["padding"])
            width = _spatial(width, kernel.shape[1], strides[1], dilation[1], config["padding"])
            channels = kernel.shape[3]
            activation(layer, config["activation"])
        elif layer.kind == "Dense":
            kernel = layer.weights[0]
            if flattened:
                # channels_last Flatten orders the inputs (h, w, c), so this reshape is exact.
                kernel = kernel.reshape(height, width, channels, kernel.shape[1])
                flattened, after_flatten = False, True
            elif after_flatten or (height, width) == (1, 1):
                kernel = kernel.reshape(1, 1, *kernel.shape)
            else:
                raise ValueError(f"{layer.name}: a Dense on a {height}x{width} map is not supported")
            steps.append(Conv(layer.name, kernel, layer.weights[1] if config["use_bias"] else None,
                              (1, 1), (1, 1), "valid"))
            height, width, channels = 1, 1, kernel.shape[3]
            activation(layer, config["activation"])
        elif layer.kind == "ZeroPadding2D":
            padding = config["padding"]
            pads = (_pair(padding), _pair(padding)) if isinstance(padding, int) else \
                tuple(_pair(side) if isinstance(side, list) else (side, side) for side in padding)
            steps.append(Pad(layer.name, pads))
            height += sum(pads[0])
            width += sum(pads[1])
        elif layer.kind == "MaxPooling2D":
            size = _pair(config["pool_size"])
            strides = _pair(config["strides"] or config["pool_size"])
            steps.append(MaxPool(layer.name, size, strides, config["padding"]))
            height = _spatial(height, size[0], strides[0], 1, config["padding"])
            width = _spatial(width, size[1], strides[1], 1, config["padding"])
        elif layer.kind == "Flatten":
            flattened = True
        elif layer.kind == "Activation":
            activation(layer, config["activation"])
        elif layer.kind == "ReLU":
            activation(layer, "relu")
        elif layer.kind == "Softmax":
            activation(layer, "softmax")
        elif layer.kind == "Dropout":
            continue  # the identity at inference
        else:
            raise ValueError(f"{layer.name}: layer {layer.kind} is not supported")
    return steps


def total_stride(steps: list) -> tuple[int, int]:
    """How many input pixels one output cell moves by (the product of all strides)."""
    rows, columns = 1, 1
    for step in steps:
        if isinstance(step, (Conv, MaxPool)):
            rows, columns = rows * step.strides[0], columns * step.strides[1]
    return rows, columns


# --- ONNX -------------------------------------------------------------------------------------

def build_onnx(name: str, steps: list, channels: int, classes: int) -> onnx.ModelProto:
    """The FCN as an NCHW ONNX graph with input [1, C, 'H', 'W']."""
    nodes, initializers = [], []
    current = "input"
    for step in steps:
        output = step.name
        if isinstance(step, Conv):
            weight = numpy_helper.from_array(np.ascontiguousarray(step.kernel.transpose(3, 2, 0, 1)), f"{step.name}_W")
            inputs = [current, weight.name]
            initializers.append(weight)
            if step.bias is not None:
                initializers.append(numpy_helper.from_array(step.bias, f"{step.name}_B"))
                inputs.append(f"{step.name}_B")
            attributes = dict(kernel_shape=list(step.kernel.shape[:2]), strides=list(step.strides),
                              dilations=list(step.dilation))
            attributes.update(_onnx_padding(step.padding, step.kernel.shape[:2], step.strides, step.dilation))
            nodes.append(helper.make_node("Conv", inputs, [output], name=step.name, **attributes))
        elif isinstance(step, Pad):
            (top, bottom), (left, right) = step.pads
            pads = numpy_helper.from_array(np.array([0, 0, top, left, 0, 0, bottom, right], np.int64), f"{step.name}_pads")
            initializers.append(pads)
            nodes.append(helper.make_node("Pad", [current, pads.name], [output], name=step.name, mode="constant"))
        elif isinstance(step, MaxPool):
            attributes = dict(kernel_shape=list(step.size), strides=list(step.strides))
            attributes.update(_onnx_padding(step.padding, step.size, step.strides, (1, 1)))
            nodes.append(helper.make_node("MaxPool", [current], [output], name=step.name, **attributes))
        elif step.function == "relu":
            nodes.append(helper.make_node("Relu", [current], [output], name=step.name))
        else:
            nodes.append(helper.make_node("Softmax", [current], [output], name=step.name, axis=1))
        current = output
    nodes.append(helper.make_node("Identity", [current], ["scores"], name="scores"))
    graph = helper.make_graph(
        nodes, f"{name}_fcn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, channels, "H", "W"])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, classes, "Ho", "Wo"])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="FCNKit scripts/bench/export_onnx.py")
    onnx.checker.check_model(model)
    return model


def _onnx_padding(padding: str, kernel, strides, dilation) -> dict:
    """ONNX padding attributes equal to a Keras "valid" or "same" padding."""
    if padding == "valid":
        return {}
    if strides == (1, 1):
        # The output size does not depend on the input size: fixed pads, extra at the end.
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return {"pads": [t // 2 for t in totals] + [t - t // 2 for t in totals]}
    return {"auto_pad": "SAME_UPPER"}  # TensorFlow's "same": any odd pixel at the bottom/right


# --- Keras, for the check ---------------------------------------------------------------------

def build_keras(steps: list, channels: int):
    """The same FCN as a channels_last Keras model with input (None, None, C)."""
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((None, None, channels))])
    for step in steps:
        if isinstance(step, Conv):
            layer = layers.Conv2D(step.kernel.shape[3], step.kernel.shape[:2], strides=step.strides,
                                  padding=step.padding, dilation_rate=step.dilation,
                                  use_bias=step.bias is not None, name=step.name)
            model.add(layer)
            layer.set_weights([step.kernel] + ([step.bias] if step.bias is not None else []))
        elif isinstance(step, Pad):
            model.add(layers.ZeroPadding2D(step.pads, name=step.name))
        elif isinstance(step, MaxPool):
            model.add(layers.MaxPooling2D(step.size, step.strides, padding=step.padding, name=step.name))
        else:
            model.add(layers.Activation(step.function, name=step.name))  # softmax: the last axis
    return model


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """The largest absolute difference over the largest magnitude of the expected values."""
    return float(np.max(np.abs(actual - expected)) / max(float(np.max(np.abs(expected))), 1e-30))


def verify(path: pathlib.Path, onnx_model: onnx.ModelProto, steps: list,
           input_shape: tuple[int, int, int]) -> None:
    """Raises unless ONNX Runtime equals the Keras FCN, and the Keras FCN the classifier."""
    import keras
    import onnxruntime

    height, width, channels = input_shape
    rows, columns = total_stride(steps)
    random = np.random.default_rng(SEED)
    fcn = build_keras(steps, channels)

    # 1. At a small size that is not square (a 3x2 grid), ONNX Runtime against the Keras FCN.
    image = random.random((1, height + 2 * rows, width + columns, channels), dtype=np.float32)
    session = onnxruntime.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    from_onnx = session.run(None, {"input": image.transpose(0, 3, 1, 2)})[0].transpose(0, 2, 3, 1)
    from_keras = np.asarray(fcn(image))
    if from_onnx.shape != from_keras.shape:
        raise AssertionError(f"ONNX output {from_onnx.shape} but Keras FCN output {from_keras.shape}")
    error = relative_error(from_onnx, from_keras)
    print(f"  ONNX Runtime vs Keras FCN at {image.shape[1]}x{image.shape[2]}: grid "
          f"{from_onnx.shape[1]}x{from_onnx.shape[2]}, max rel error {error:.2e}")
    if not error <= TOLERANCE:
        raise AssertionError(f"ONNX Runtime differs from the Keras FCN by {error:.2e} (relative)")

    # 2. At the classifier's own size, the Keras FCN against the original classifier.
    image = random.random((1, height, width, channels), dtype=np.float32)
    classifier = keras.saving.load_model(path, compile=False)
    expected = np.asarray(classifier(image))
    actual = np.asarray(fcn(image)).reshape(expected.shape)
    error = relative_error(actual, expected)
    print(f"  Keras FCN vs classifier at {height}x{width}: max rel error {error:.2e}")
    if not error <= TOLERANCE:
        raise AssertionError(f"the Keras FCN differs from the classifier by {error:.2e} (relative)")


# --- Command line -----------------------------------------------------------------------------

def export(path: pathlib.Path, check: bool = True) -> pathlib.Path:
    started = time.perf_counter()
    input_shape, layers = read_keras_h5(path)
    steps = convolutionalize(input_shape, layers)
    classes = next(step for step in reversed(steps) if isinstance(step, Conv)).kernel.shape[3]
    model = build_onnx(path.stem, steps, input_shape[2], classes)
    print(f"{path.name}: {len(model.graph.node)} ONNX nodes, total stride {total_stride(steps)}, {classes} classes")
    if check:
        verify(path, model, steps, input_shape)
    target = path.with_suffix(".onnx")
    partial = target.with_name(target.name + ".partial")
    onnx.save(model, partial)
    partial.replace(target)
    print(f"  wrote {target} ({target.stat().st_size >> 20} MiB) in {time.perf_counter() - started:.1f} s")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", type=pathlib.Path, help="benchmark .h5 files")
    parser.add_argument("--skip-up-to-date", action="store_true",
                        help="skip a model whose .onnx is newer than both the .h5 and this script")
    parser.add_argument("--no-check", action="store_true", help="skip the check against Keras")
    arguments = parser.parse_args()
    script_time = pathlib.Path(__file__).stat().st_mtime
    for path in arguments.models:
        target = path.with_suffix(".onnx")
        if arguments.skip_up_to_date and target.exists() and \
                target.stat().st_mtime > max(path.stat().st_mtime, script_time):
            print(f"{target} is up to date")
            continue
        export(path, check=not arguments.no_check)


if __name__ == "__main__":
    sys.exit(main())
