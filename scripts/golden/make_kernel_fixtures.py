#!/usr/bin/env python3
"""Writes Tests/Fixtures/kernels/: small seeded inputs and TensorFlow/Keras/NumPy outputs for
the graph kernels (MergeKernel, GroupedConvolutionKernel, NormalizationKernel, ResizeKernel,
ExtendedActivation), read by Tests/FCNRuntimeTests/GraphKernelTests.swift.

Generated files: do not edit. Regenerate with
    /work/venv/bin/python scripts/golden/make_kernel_fixtures.py
All arrays are float32, HWC without a batch axis; manifest.json lists each case's kernel,
parameters and arrays, and records the versions and the seed.
"""
import json
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

SEED = 20261202
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "kernels")
rng = np.random.default_rng(SEED)
cases = []


def rand(*shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def add_case(name, kind, arrays, **params):
    files = {}
    for key, value in arrays.items():
        file = f"{name}.{key}.npy"
        np.save(os.path.join(OUT, file), np.ascontiguousarray(np.asarray(value, dtype=np.float32)))
        files[key] = file
    cases.append(dict(name=name, kind=kind, arrays=files, **params))


def batch(x):
    return x[None]


# --- Merges: Keras merge layers; broadcast multiply and subtract of (1, 1, C) by NumPy
def merges():
    a, b, c = rand(5, 7, 6), rand(5, 7, 6), rand(5, 7, 6)
    s = rand(1, 1, 6)
    layers = dict(add=keras.layers.Add(), average=keras.layers.Average(),
                  maximum=keras.layers.Maximum(), minimum=keras.layers.Minimum(), multiply=keras.layers.Multiply())
    for merge, layer in layers.items():
        out = np.asarray(layer([batch(a), batch(b), batch(c)]))[0]
        add_case(f"merge_{merge}", "merge", dict(in0=a, in1=b, in2=c, out=out), merge=merge)
    out = np.asarray(keras.layers.Subtract()([batch(a), batch(b)]))[0]
    add_case("merge_subtract", "merge", dict(in0=a, in1=b, out=out), merge="subtract")
    add_case("merge_multiply_broadcast", "merge", dict(in0=a, in1=s, out=a * s), merge="multiply")
    add_case("merge_add_broadcast_first", "merge", dict(in0=s, in1=b, in2=c, out=s + b + c), merge="add")
    x, y, z = rand(5, 7, 3), rand(5, 7, 4), rand(5, 7, 2)
    out = np.asarray(keras.layers.Concatenate(axis=-1)([batch(x), batch(y), batch(z)]))[0]
    add_case("concatenate", "concatenate", dict(in0=x, in1=y, in2=z, out=out))


def pad(x, padding):
    top, bottom, left, right = padding
    return np.pad(x, ((top, bottom), (left, right), (0, 0)))


def conv_reference(x, kernel, bias, groups, strides, dilation, padding, activation):
    """Keras Conv2D(groups=G) on the explicitly padded input; per-group tf.nn.conv2d if the CPU kernel refuses groups."""
    cin, cout = x.shape[-1], kernel.shape[-1]
    xp = batch(pad(x, padding))
    try:
        layer = keras.layers.Conv2D(cout, kernel.shape[:2], strides=strides, dilation_rate=dilation, groups=groups,
                                    use_bias=bias is not None, activation=activation)
        layer.build(xp.shape)
        layer.set_weights([kernel] + ([bias] if bias is not None else []))
        return np.asarray(layer(xp))[0], "keras.layers.Conv2D(groups)"
    except Exception:  # noqa: BLE001 - fall back to explicit groups
        gi, go = cin // groups, cout // groups
        parts = [tf.nn.conv2d(xp[..., g * gi:(g + 1) * gi], kernel[..., g * go:(g + 1) * go], strides=strides,
                              padding="VALID", dilations=dilation) for g in range(groups)]
        y = tf.concat(parts, axis=-1)
        if bias is not None:
            y = y + bias
        y = keras.activations.get(activation)(y)
        return np.asarray(y)[0], "tf.nn.conv2d per group"


def grouped():
    specs = [
        # name, input (H, W, Cin), Cout, groups, kernel, strides, dilation, padding (t, b, l, r), bias, activation
        ("gconv_g2_stride2", (9, 11, 4), 6, 2, (3, 3), (2, 2), (1, 1), (1, 2, 0, 1), True, "linear"),
        ("gconv_g3_dilation2", (8, 7, 6), 9, 3, (3, 2), (1, 1), (2, 2), (2, 1, 1, 2), True, "relu"),
        ("gconv_g2_nobias_stride21", (7, 10, 6), 4, 2, (2, 3), (2, 1), (1, 1), (0, 1, 2, 0), False, "linear"),
        ("gconv_g1", (6, 7, 3), 5, 1, (3, 3), (1, 2), (1, 1), (1, 1, 1, 1), True, "linear"),
    ]
    for name, shape, cout, groups, k, strides, dilation, padding, has_bias, activation in specs:
        x = rand(*shape)
        kernel = rand(k[0], k[1], shape[2] // groups, cout)
        bias = rand(cout) if has_bias else None
        out, how = conv_reference(x, kernel, bias, groups, strides, dilation, padding, activation)
        arrays = dict(input=x, weights=kernel, out=out)
        if bias is not None:
            arrays["bias"] = bias
        add_case(name, "groupedConvolution", arrays, groups=groups, kernelSize=list(k), strides=list(strides),
                 dilation=list(dilation), padding=list(padding), activation=activation, reference=how)
    depthwise = [
        # name, input, multiplier, kernel, strides, dilation, padding, bias, activation
        ("depthwise_m1_stride2", (9, 10, 5), 1, (3, 3), (2, 2), (1, 1), (1, 1, 0, 1), True, "linear"),
        ("depthwise_m2_dilation2", (7, 9, 3), 2, (3, 3), (1, 1), (2, 2), (2, 2, 2, 1), True, "relu"),
        ("depthwise_m2_nobias", (6, 8, 4), 2, (2, 3), (1, 2), (1, 1), (0, 1, 1, 1), False, "linear"),
    ]
    for name, shape, m, k, strides, dilation, padding, has_bias, activation in depthwise:
        x = rand(*shape)
        kernel = rand(k[0], k[1], shape[2], m)  # Keras DepthwiseConv2D layout
        bias = rand(shape[2] * m) if has_bias else None
        layer = keras.layers.DepthwiseConv2D(k, strides=strides, dilation_rate=dilation, depth_multiplier=m,
                                             use_bias=has_bias, activation=activation)
        xp = batch(pad(x, padding))
        layer.build(xp.shape)
        layer.set_weights([kernel] + ([bias] if has_bias else []))
        out = np.asarray(layer(xp))[0]
        arrays = dict(input=x, weights=kernel, out=out)
        if bias is not None:
            arrays["bias"] = bias
        add_case(name, "groupedConvolution", arrays, groups=shape[2], kernelSize=list(k), strides=list(strides),
                 dilation=list(dilation), padding=list(padding), activation=activation,
                 reference="keras.layers.DepthwiseConv2D")


def normalizations():
    x = rand(5, 6, 7, low=-3, high=2)
    gamma, beta = rand(7, low=0.5, high=1.5), rand(7)
    layer = keras.layers.LayerNormalization(axis=-1, epsilon=1e-3)
    layer.build((1, 5, 6, 7))
    layer.set_weights([gamma, beta])
    add_case("layer_norm", "layerNormalization", dict(input=x, gamma=gamma, beta=beta, out=np.asarray(layer(batch(x)))[0]),
             epsilon=1e-3)
    layer = keras.layers.LayerNormalization(axis=-1, epsilon=1e-5, center=False, scale=False)
    add_case("layer_norm_plain", "layerNormalization", dict(input=x, out=np.asarray(layer(batch(x)))[0]), epsilon=1e-5)
    # Caffe LRN across channels = TF's LRN with depth_radius (n − 1)/2 and alpha / n (odd n).
    for n, alpha, beta_, k, channels in [(5, 0.5, 0.75, 1.5, 9), (3, 1e-1, 0.6, 1.0, 4)]:
        x = rand(4, 3, channels, low=-2, high=2)
        out = tf.nn.local_response_normalization(batch(x), depth_radius=(n - 1) // 2, bias=k, alpha=alpha / n, beta=beta_)
        add_case(f"lrn_n{n}", "lrn", dict(input=x, out=np.asarray(out)[0]), window=n, alpha=alpha, beta=beta_, k=k)
    x = rand(3, 5, 6)
    scale, shift = rand(6), rand(6)
    add_case("affine", "affine", dict(input=x, scale=scale, shift=shift, out=x * scale + shift))


def resizes():
    x = rand(7, 9, 3)
    for interpolation in ["bilinear", "nearest"]:
        for size, crop in [((12, 5), False), ((4, 6), False), ((15, 20), False), ((5, 5), True), ((6, 13), True), ((3, 2), True)]:
            layer = keras.layers.Resizing(size[0], size[1], interpolation=interpolation, crop_to_aspect_ratio=crop)
            out = np.asarray(layer(batch(x)))[0]
            add_case(f"resize_{interpolation}_{size[0]}x{size[1]}{'_crop' if crop else ''}", "resize",
                     dict(input=x, out=out), interpolation=interpolation, size=list(size), crop=crop)


def activations():
    x = np.concatenate([np.linspace(-7, 7, 281, dtype=np.float32), rand(200, low=-4, high=4),
                        np.array([-3, 3, 0, -0.0, 1e-4, -1e-4], dtype=np.float32)]).astype(np.float32)
    functions = dict(
        geluExact=lambda v: keras.activations.gelu(v, approximate=False),
        geluTanh=lambda v: keras.activations.gelu(v, approximate=True),
        hardSwish=keras.activations.hard_swish,
        hardSigmoid=keras.activations.hard_sigmoid,
        swish=keras.activations.silu,
    )
    for name, function in functions.items():
        add_case(f"activation_{name}", "activation", dict(input=x, out=np.asarray(function(tf.constant(x)))), activation=name)
    x = rand(4, 5, 6)
    alpha = rand(6, low=-0.5, high=0.8)
    layer = keras.layers.PReLU(shared_axes=[1, 2])
    layer.build((1, 4, 5, 6))
    layer.set_weights([alpha.reshape(1, 1, 6)])
    add_case("prelu", "prelu", dict(input=x, alpha=alpha, out=np.asarray(layer(batch(x)))[0]))


def main():
    os.makedirs(OUT, exist_ok=True)
    for file in os.listdir(OUT):
        if file.endswith(".npy"):
            os.remove(os.path.join(OUT, file))
    merges()
    grouped()
    normalizations()
    resizes()
    activations()
    manifest = dict(
        generated="by scripts/golden/make_kernel_fixtures.py; do not edit",
        command="/work/venv/bin/python scripts/golden/make_kernel_fixtures.py",
        versions=dict(python=sys.version.split()[0], numpy=np.__version__, tensorflow=tf.__version__, keras=keras.__version__),
        seed=SEED, layout="HWC float32, no batch axis; padding is [top, bottom, left, right]",
        cases=cases)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"{len(cases)} cases, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
