#!/usr/bin/env python3
"""Writes the benchmark models as Keras 3 legacy .h5 files with seeded random weights:
LeNet (Caffe's LeNet-5 variant), classic single-tower AlexNet and VGG16. They are too large
to commit (AlexNet about 240 MB, VGG16 about 530 MB), so this script makes them on demand.

AlexNet uses Caffe's ceil rounding in its three max pools. Keras pools round down, so each
pool is preceded by one row and column of zeros at the bottom and right: after a ReLU every
value is at least 0, so this gives exactly the windows and maxima of ceil rounding at every
input size (227² → 6×6 at pool5, 451² → 13×13, 500² → 15×15).

Run: python scripts/bench/make_models.py [--out DIR] [--only lenet,alexnet,vgg16]
"""
import argparse
import pathlib

import keras
from keras import layers

SEED = 20261124


def lenet() -> keras.Model:
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(20, 5, name="conv1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(50, 5, name="conv2"),
        layers.MaxPooling2D(2, name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(500, activation="relu", name="ip1"),
        layers.Dense(10, activation="softmax", name="ip2"),
    ], name="lenet")


def alexnet() -> keras.Model:
    def ceil_pool(name):
        return [layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"{name}_ceil"), layers.MaxPooling2D(3, 2, name=name)]

    return keras.Sequential([
        keras.Input((227, 227, 3)),
        layers.Conv2D(96, 11, strides=4, activation="relu", name="conv1"),
        *ceil_pool("pool1"),
        layers.ZeroPadding2D(2, name="conv2_pad"),
        layers.Conv2D(256, 5, activation="relu", name="conv2"),
        *ceil_pool("pool2"),
        layers.Conv2D(384, 3, padding="same", activation="relu", name="conv3"),
        layers.Conv2D(384, 3, padding="same", activation="relu", name="conv4"),
        layers.Conv2D(256, 3, padding="same", activation="relu", name="conv5"),
        *ceil_pool("pool5"),
        layers.Flatten(name="flatten"),
        layers.Dense(4096, activation="relu", name="fc6"),
        layers.Dropout(0.5, name="drop6"),
        layers.Dense(4096, activation="relu", name="fc7"),
        layers.Dropout(0.5, name="drop7"),
        layers.Dense(1000, activation="softmax", name="fc8"),
    ], name="alexnet")


def vgg16() -> keras.Model:
    return keras.applications.VGG16(weights=None)


BUILDERS = {"lenet": lenet, "alexnet": alexnet, "vgg16": vgg16}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    repo = pathlib.Path(__file__).resolve().parents[2]
    parser.add_argument("--out", type=pathlib.Path, default=repo / ".build-bench" / "models")
    parser.add_argument("--only", default=",".join(BUILDERS))
    arguments = parser.parse_args()
    arguments.out.mkdir(parents=True, exist_ok=True)
    for name in arguments.only.split(","):
        keras.utils.set_random_seed(SEED)
        model = BUILDERS[name]()
        path = arguments.out / f"{name}.h5"
        model.save(path)
        print(f"{path}: {model.count_params()} parameters, {path.stat().st_size >> 20} MiB "
              f"(Keras {keras.__version__}, seed {SEED})")


if __name__ == "__main__":
    main()
