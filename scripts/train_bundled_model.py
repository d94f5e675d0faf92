#!/usr/bin/env python3
"""Trains the digit classifier that FCNKit bundles as its demo, and writes into models/:

    digits-lenet.h5     the Keras 3 model, legacy full-model HDF5 (model.save(...h5))
    digits-lenet-labels.txt   the 11 class names, one per line: 0..9, background
    demo-scene.png      a 240x360 grayscale canvas of MNIST test digits
    demo-scene.json     where each digit of the scene is, in pixels and in FCN cells
    README.md           the model card, with this run's numbers, seeds and versions

The classifier sees a 28x28 grayscale patch (white digit on black, pixels x/255) and answers
one of 11 classes: the digits 0-9, or 10 = "background". No layer pads, so once its Dense
layers are rewritten as convolutions the network is exactly this classifier applied to every
28x28 crop of a larger image, with a stride of 4 px.

Run from the repository root (needs numpy, h5py, tensorflow and Keras 3):
    python scripts/train_bundled_model.py --mnist ../shared/data/mnist.npz
The outputs are generated: do not edit them, rerun the script. The script exits with status 1
if a target (test accuracy, scene self-check) is missed.
"""
import argparse
import json
import math
import os
import pathlib
import platform
import struct
import sys
import time
import zlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out

import h5py  # noqa: E402  (imported for its version number; Keras writes the .h5 with it)
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
GENERATOR = "scripts/train_bundled_model.py"

# Seeds. Every random choice comes from one of these.
DATA_SEED = 1729       # training set: jitter, background patches, shuffling
HELDOUT_SEED = 1730    # held-out synthetic background made from the MNIST test digits
SCENE_SEED = 1731      # demo scene: which test digits, where
KERAS_SEED = 1729      # keras.utils.set_random_seed: weight initialisation, dropout, batches

# Geometry of the classifier and of its FCN.
PATCH = 28             # input size, and the FCN's receptive field
STRIDE = 4             # FCN cell stride (two 2x2 max pools)
PATCH_CENTRE = (PATCH - 1) / 2   # 13.5: a crop's centre, in pixels from its top-left corner
CLASSES = [str(d) for d in range(10)] + ["background"]
BACKGROUND = 10

# Training data.
MAX_JITTER = 2         # digits are shifted by up to +-2 px in each direction
MIN_BG_OFFSET = 8      # a background crop's centre is >= 8 px (Chebyshev) from every digit centre
MAX_BG_OFFSET = 26     # digits further away than this would barely reach into the crop
BACKGROUND_COUNTS = {  # per kind; the 60,000 training digits are the other classes
    "blank": 3000,
    "faint noise": 6000,
    "scattered partial digits": 21000,
    "between two digits": 10000,
}
HELDOUT_COUNTS = {"blank": 500, "faint noise": 1500,
                  "scattered partial digits": 5000, "between two digits": 3000}
NOISY_FRACTION = 0.1   # share of all training patches (any class) that get faint noise on top
EPOCHS = 8
BATCH_SIZE = 256
PEAK_LEARNING_RATE = 2e-3   # Adam, cosine decay to zero over the whole run
VALIDATION_SPLIT = 0.05

# Demo scene.
SCENE_HEIGHT, SCENE_WIDTH = 240, 360
SCENE_DIGITS = 14      # one of each digit, plus 4 more at random
MIN_SPACING = 40       # digit centres are >= 40 px apart (Chebyshev, so also Euclidean)
QUIET_DISTANCE = 14    # cells this far (Chebyshev) from every digit centre should be background

# Targets; the script fails if one is missed.
MIN_TEST_ACCURACY = 0.98
MIN_SCENE_HITS = 0.90
MIN_QUIET_BACKGROUND = 0.90


# ---------------------------------------------------------------------------------------------
# Data


def load_mnist(path):
    """The four MNIST arrays as stored: uint8 images (0 = black), labels 0-9."""
    with np.load(path) as f:
        return {name: f[name] for name in ("x_train", "y_train", "x_test", "y_test")}


def to_unit(pixels):
    """The model's preprocessing: uint8 grey levels to float32 in [0, 1]."""
    return pixels.astype(np.float32) / 255.0


def jitter(images, rng, max_shift=MAX_JITTER):
    """Each image shifted by a random whole number of pixels in [-max_shift, max_shift] on both
    axes, filling with black (no wrap-around)."""
    n = len(images)
    padded = np.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    starts = rng.integers(0, 2 * max_shift + 1, size=(n, 2))
    rows = starts[:, 0, None] + np.arange(PATCH)            # (n, 28)
    cols = starts[:, 1, None] + np.arange(PATCH)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def paste_max(canvas, image, top, left):
    """Max-blends image onto canvas with its top-left corner at (top, left), in place."""
    h, w = image.shape
    region = canvas[top:top + h, left:left + w]
    np.maximum(region, image, out=region)


def chebyshev(offset):
    return max(abs(offset[0]), abs(offset[1]))


def random_offset(rng, low=MIN_BG_OFFSET, high=MAX_BG_OFFSET):
    """A digit-centre offset (rows, cols) from a crop's centre, Chebyshev length in [low, high]."""
    while True:
        offset = tuple(int(v) for v in rng.integers(-high, high + 1, size=2))
        if chebyshev(offset) >= low:
            return offset


def scattered_offsets(rng):
    """One to three digits scattered around the crop, none nearer than MIN_BG_OFFSET."""
    return [random_offset(rng) for _ in range(rng.integers(1, 4))]


def between_offsets(rng):
    """Two digits on roughly opposite sides of the crop: the crop sits in the gap between
    neighbours."""
    first = random_offset(rng)
    while True:
        second = (-first[0] + int(rng.integers(-3, 4)), -first[1] + int(rng.integers(-3, 4)))
        if MIN_BG_OFFSET <= chebyshev(second) <= MAX_BG_OFFSET:
            return [first, second]


def partial_digit_crops(images, n, rng, offsets_for):
    """n background crops, each cut from the centre of a small canvas on which digits (drawn
    from images) sit at the offsets that offsets_for(rng) returns."""
    margin = MAX_BG_OFFSET
    crops = np.empty((n, PATCH, PATCH), np.float32)
    for i in range(n):
        canvas = np.zeros((PATCH + 2 * margin,) * 2, np.float32)
        for d_row, d_col in offsets_for(rng):
            digit = images[rng.integers(len(images))]
            paste_max(canvas, digit, margin + d_row, margin + d_col)
        crops[i] = canvas[margin:margin + PATCH, margin:margin + PATCH]
    return crops


def faint_noise_patches(n, rng):
    """Empty patches with a faint grey level and faint Gaussian noise (at most ~0.35)."""
    level = rng.uniform(0.0, 0.08, size=(n, 1, 1))
    sigma = rng.uniform(0.01, 0.08, size=(n, 1, 1))
    noise = rng.standard_normal((n, PATCH, PATCH)) * sigma
    return np.clip(level + noise, 0.0, 1.0).astype(np.float32)


def add_faint_noise(x, rng, fraction=NOISY_FRACTION):
    """Adds faint Gaussian noise to a random share of the patches, in place, so that noise is no
    cue for "background"."""
    chosen = rng.random(len(x)) < fraction
    sigma = rng.uniform(0.01, 0.05, size=(int(chosen.sum()), 1, 1))
    noisy = x[chosen] + rng.standard_normal(x[chosen].shape) * sigma
    x[chosen] = np.clip(noisy, 0.0, 1.0)


def background_patches(images, counts, rng):
    """Synthetic background of every kind, in the numbers counts asks for, from the given
    digit images."""
    makers = {
        "blank": lambda n: np.zeros((n, PATCH, PATCH), np.float32),
        "faint noise": lambda n: faint_noise_patches(n, rng),
        "scattered partial digits": lambda n: partial_digit_crops(images, n, rng, scattered_offsets),
        "between two digits": lambda n: partial_digit_crops(images, n, rng, between_offsets),
    }
    return np.concatenate([makers[kind](n) for kind, n in counts.items()])


def training_set(mnist, rng):
    """Jittered training digits plus background, shuffled, as (x[..., None], y)."""
    images = to_unit(mnist["x_train"])
    digits = jitter(images, rng)
    background = background_patches(images, BACKGROUND_COUNTS, rng)
    x = np.concatenate([digits, background])
    y = np.concatenate([mnist["y_train"].astype(np.int64), np.full(len(background), BACKGROUND)])
    add_faint_noise(x, rng)
    order = rng.permutation(len(x))
    return x[order, :, :, None], y[order]


# ---------------------------------------------------------------------------------------------
# Model


def build_model(training_steps):
    """LeNet-style classifier. Every convolution and pool is 'valid' (no padding). Compiled for
    training_steps optimizer steps."""
    model = keras.Sequential(
        [
            keras.Input(shape=(PATCH, PATCH, 1), name="image"),
            keras.layers.Conv2D(16, 5, activation="relu", name="conv1"),     # 24x24x16
            keras.layers.MaxPooling2D(2, name="pool1"),                      # 12x12x16
            keras.layers.Conv2D(32, 5, activation="relu", name="conv2"),     # 8x8x32
            keras.layers.MaxPooling2D(2, name="pool2"),                      # 4x4x32
            keras.layers.Flatten(name="flatten"),                            # 512
            keras.layers.Dense(128, activation="relu", name="fc1"),
            keras.layers.Dropout(0.3, name="dropout"),
            keras.layers.Dense(len(CLASSES), activation="softmax", name="fc2"),
        ],
        name="digits_lenet",
    )
    schedule = keras.optimizers.schedules.CosineDecay(PEAK_LEARNING_RATE, training_steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train(model, x, y):
    """Fits the model; returns the Keras history and the wall-clock seconds it took."""
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=EPOCHS,
                        validation_split=VALIDATION_SPLIT, verbose=2)
    return history.history, time.perf_counter() - start


def predict_classes(model, x):
    return np.argmax(model.predict(x, batch_size=1024, verbose=0), axis=-1)


def test_accuracy(model, mnist):
    """Accuracy on the MNIST test digits (argmax over all 11 classes, so "background" is wrong),
    and how many test digits were called background."""
    predicted = predict_classes(model, to_unit(mnist["x_test"])[..., None])
    correct = int((predicted == mnist["y_test"]).sum())
    return {"correct": correct, "total": len(predicted),
            "accuracy": correct / len(predicted),
            "called_background": int((predicted == BACKGROUND).sum())}


def background_precision_recall(model, mnist):
    """Precision and recall of "background" on the MNIST test digits plus held-out synthetic
    background made from the test digits (never seen in training)."""
    rng = np.random.default_rng(HELDOUT_SEED)
    digits = to_unit(mnist["x_test"])
    background = background_patches(digits, HELDOUT_COUNTS, rng)
    x = np.concatenate([digits, background])[..., None]
    is_background = np.arange(len(x)) >= len(mnist["x_test"])
    said_background = predict_classes(model, x) == BACKGROUND
    true_positives = int((said_background & is_background).sum())
    return {"precision": true_positives / max(1, int(said_background.sum())),
            "recall": true_positives / int(is_background.sum()),
            "background_patches": int(is_background.sum()), "digits": len(mnist["x_test"])}


# ---------------------------------------------------------------------------------------------
# Demo scene


def place_digits(rng, count):
    """Top-left corners for count digits on the scene, on multiples of STRIDE (so each digit's
    centre is exactly an FCN cell's centre), centres >= MIN_SPACING apart (Chebyshev)."""
    tops = np.arange(0, SCENE_HEIGHT - PATCH + 1, STRIDE)
    lefts = np.arange(0, SCENE_WIDTH - PATCH + 1, STRIDE)
    corners = []
    for _ in range(100000):
        corner = (int(rng.choice(tops)), int(rng.choice(lefts)))
        if all(chebyshev((corner[0] - t, corner[1] - l)) >= MIN_SPACING for t, l in corners):
            corners.append(corner)
            if len(corners) == count:
                return corners
    raise RuntimeError("could not place the scene's digits; lower SCENE_DIGITS")


def make_scene(x_test, y_test):
    """The demo scene (uint8, black background) and a record of each pasted test digit: one
    digit of each class plus random extras, at random cell-aligned positions."""
    rng = np.random.default_rng(SCENE_SEED)
    indices = [int(rng.choice(np.flatnonzero(y_test == d))) for d in range(10)]
    indices += [int(i) for i in rng.choice(len(y_test), SCENE_DIGITS - 10, replace=False)]
    indices = [indices[i] for i in rng.permutation(len(indices))]
    scene = np.zeros((SCENE_HEIGHT, SCENE_WIDTH), np.uint8)
    digits = []
    for index, (top, left) in zip(indices, place_digits(rng, len(indices))):
        paste_max(scene, x_test[index], top, left)
        digits.append({"label": int(y_test[index]), "test_index": index, "top": top, "left": left,
                       "center_row": top + PATCH_CENTRE, "center_col": left + PATCH_CENTRE,
                       "cell_row": top // STRIDE, "cell_col": left // STRIDE})
    return scene, digits


def write_png(path, pixels):
    """Writes a uint8 2-D array as an 8-bit grayscale PNG (no filtering, zlib level 9)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    height, width = pixels.shape
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit, grayscale
    raw = b"".join(b"\x00" + row.tobytes() for row in np.ascontiguousarray(pixels, np.uint8))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


# ---------------------------------------------------------------------------------------------
# Self-check: the model as an FCN over the scene


def sliding_window_scores(model, image):
    """Class probabilities for every 28x28 crop at stride 4, shape (rows, cols, 11): what the
    FCN computes, cell (i, j) seeing rows 4i..4i+27 and columns 4j..4j+27."""
    windows = np.lib.stride_tricks.sliding_window_view(image, (PATCH, PATCH))[::STRIDE, ::STRIDE]
    rows, cols = windows.shape[:2]
    crops = windows.reshape(rows * cols, PATCH, PATCH, 1)
    return model.predict(crops, batch_size=1024, verbose=0).reshape(rows, cols, len(CLASSES))


def fully_convolutional(model):
    """The same network with fc1 as a 4x4 convolution and fc2 as a 1x1 convolution (softmax
    over channels), taking images of any size."""
    fc1_kernel, fc1_bias = model.get_layer("fc1").get_weights()
    fc2_kernel, fc2_bias = model.get_layer("fc2").get_weights()
    flat_shape = model.get_layer("pool2").output.shape[1:]          # (4, 4, 32)
    fcn = keras.Sequential([
        keras.Input(shape=(None, None, 1)),
        *[type(layer).from_config(layer.get_config())       # conv1, pool1, conv2, pool2 as is
          for layer in (model.get_layer(n) for n in ("conv1", "pool1", "conv2", "pool2"))],
        keras.layers.Conv2D(fc1_kernel.shape[1], flat_shape[:2], activation="relu", name="fc1"),
        keras.layers.Conv2D(fc2_kernel.shape[1], 1, activation="softmax", name="fc2"),
    ])
    for name in ("conv1", "conv2"):
        fcn.get_layer(name).set_weights(model.get_layer(name).get_weights())
    fcn.get_layer("fc1").set_weights([fc1_kernel.reshape(*flat_shape, -1), fc1_bias])
    fcn.get_layer("fc2").set_weights([fc2_kernel.reshape(1, 1, *fc2_kernel.shape), fc2_bias])
    return fcn


def scene_check(scores, digits):
    """(a) placed digits whose centre cell's top class is the digit; (b) share of cells at least
    QUIET_DISTANCE px (Chebyshev) from every digit centre whose top class is background."""
    top_class = scores.argmax(axis=-1)
    hits = sum(int(top_class[d["cell_row"], d["cell_col"]] == d["label"]) for d in digits)
    rows, cols = top_class.shape
    centres_r = STRIDE * np.arange(rows)[:, None] + PATCH_CENTRE
    centres_c = STRIDE * np.arange(cols)[None, :] + PATCH_CENTRE
    distance = np.full(top_class.shape, np.inf)
    for d in digits:
        distance = np.minimum(distance, np.maximum(np.abs(centres_r - d["center_row"]),
                                                   np.abs(centres_c - d["center_col"])))
    quiet = distance >= QUIET_DISTANCE
    quiet_background = int((top_class[quiet] == BACKGROUND).sum())
    return {"hits": hits, "digits": len(digits), "hit_rate": hits / len(digits),
            "quiet_cells": int(quiet.sum()), "quiet_background": quiet_background,
            "quiet_rate": quiet_background / int(quiet.sum()), "grid": [rows, cols]}


def heatmap_text(scores, digits):
    """The top class of every cell as text, one line per cell row ('.' = background), then
    the digits' centre cells for reading it."""
    top_class = scores.argmax(axis=-1)
    lines = ["".join("." if c == BACKGROUND else str(c) for c in row) for row in top_class]
    lines.append("digit centres (cell row, col: label): " + ", ".join(
        f"({d['cell_row']},{d['cell_col']}: {d['label']})" for d in digits))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Outputs


def versions():
    return {"python": platform.python_version(), "numpy": np.__version__,
            "keras": keras.__version__, "tensorflow": tf.__version__, "h5py": h5py.__version__}


def write_scene_json(path, digits):
    record = {"generator": GENERATOR, "seed": SCENE_SEED, "image": "demo-scene.png",
              "height": SCENE_HEIGHT, "width": SCENE_WIDTH, "stride": STRIDE,
              "receptive_field": PATCH, "digits": digits}
    path.write_text(json.dumps(record, indent=2) + "\n")


def architecture_table(model):
    """One line per layer: name, type, output shape, parameters."""
    lines = ["| layer | type | output | parameters |", "|---|---|---|---|"]
    for layer in model.layers:
        shape = "x".join(str(s) for s in layer.output.shape[1:])
        lines.append(f"| {layer.name} | {type(layer).__name__} | {shape} | {layer.count_params():,} |")
    return "\n".join(lines)


def write_model_card(path, model, results):
    """models/README.md: what the model is, how it was made, and this run's numbers. Bullets
    and paragraphs with numbers in them are single lines, so they read the same whatever the
    numbers."""
    test, bg, scene = results["test"], results["background"], results["scene"]
    n_background = sum(BACKGROUND_COUNTS.values())
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in BACKGROUND_COUNTS.items())
    text = f"""# digits-lenet: the bundled demo model

Generated by `{GENERATOR}`; do not edit, rerun the script.

`digits-lenet.h5` is a small LeNet-style digit classifier for FCNKit's demo. It labels a
28x28 grayscale patch as one of 11 classes (`digits-lenet-labels.txt`): the digits 0-9 and
10 = `background`. No convolution or pool pads, so the network converted to an FCN (fc1 as a
4x4 convolution, fc2 as a 1x1 convolution) is exactly the classifier applied to every 28x28
crop of a larger image: receptive field 28x28 px, stride 4 px; cell (i, j) sees rows
4i..4i+27 and columns 4j..4j+27 and is centred at (4i+13.5, 4j+13.5).

Saved with Keras {keras.__version__} as a legacy full-model HDF5 file (`model.save("digits-lenet.h5")`): architecture, weights, training config and optimizer state.

## Architecture

{architecture_table(model)}

Total: {model.count_params():,} parameters. ReLU after conv1, conv2 and fc1; softmax on fc2.
Dropout 0.3 is active in training only. Every convolution and pool is `valid` (no padding).

## Input

One channel, white digit on black, pixel values scaled to [0, 1] (`x / 255`), the MNIST
convention. No mean/std normalisation.

## Training

- Digits: the 60,000 MNIST training images, each shifted at random by up to +-{MAX_JITTER} px on both axes, so cells close to a digit's centre recognise it too.
- Background: {n_background:,} patches ({n_background / (n_background + 60000):.0%} of the data): {kinds}.
- Partial-digit patches are crops of small canvases of max-blended training digits, with every digit centre {MIN_BG_OFFSET} to {MAX_BG_OFFSET} px (Chebyshev) from the crop centre; "between two digits" puts two neighbours on roughly opposite sides of the crop.
- Faint Gaussian noise on {NOISY_FRACTION:.0%} of all patches, digits included, so noise is no cue for background.
- Adam, learning rate {PEAK_LEARNING_RATE:g} with cosine decay to 0, batch {BATCH_SIZE}, {EPOCHS} epochs; {VALIDATION_SPLIT:.0%} of the patches held out for validation (final validation accuracy {results["history"]["val_accuracy"][-1]:.2%}).
- Training took {results["train_seconds"]:.0f} s wall clock on {os.cpu_count()} CPU cores.
- Seeds: training data {DATA_SEED}, held-out background {HELDOUT_SEED}, scene {SCENE_SEED}, `keras.utils.set_random_seed({KERAS_SEED})`; TensorFlow op determinism is on.
- Versions: {", ".join(f"{k} {v}" for k, v in versions().items())}.

## Results

- MNIST test split (10,000 centred digits; argmax over all 11 classes, so `background` counts as wrong): **{test["accuracy"]:.2%}** ({test["correct"]:,}/{test["total"]:,} right; test digits called background: {test["called_background"]}).
- `background` on the test digits plus {bg["background_patches"]:,} held-out synthetic background patches made from the test digits: precision {bg["precision"]:.2%}, recall {bg["recall"]:.2%}.
- Demo scene, FCN grid {scene["grid"][0]}x{scene["grid"][1]}: the top class at a digit's centre cell is right for {scene["hits"]}/{scene["digits"]} digits; {scene["quiet_background"]:,}/{scene["quiet_cells"]:,} cells ({scene["quiet_rate"]:.1%}) whose centre is at least {QUIET_DISTANCE} px (Chebyshev) from every digit centre are `background`.
- The FCN built in Keras from the same weights gives the crop-by-crop scores (max difference {results["fcn_difference"]:.1e}); the saved `.h5`, loaded back, gives the scores of the trained model (max difference {results["reload_difference"]:.1e}).

## Demo scene

`demo-scene.png` is {SCENE_HEIGHT} rows x {SCENE_WIDTH} columns, black, with {SCENE_DIGITS} MNIST test digits (one of each class, the rest random) max-blended in. Each digit's top-left corner is on a multiple of 4 px, so its centre (top+13.5, left+13.5) is exactly the centre of FCN cell (top/4, left/4). Centres are at least {MIN_SPACING} px apart (Chebyshev, hence also Euclidean), so digits never touch. `demo-scene.json` lists each digit: label, MNIST test index, top, left, centre and cell.

## Data and licence

Trained on MNIST, by Yann LeCun and Corinna Cortes, with Christopher J.C. Burges, derived
from NIST Special Databases 1 and 3. MNIST is commonly cited as licensed under CC BY-SA 3.0.
The demo scene contains MNIST test images. Attribute MNIST as above wherever the model or
the scene is used or redistributed.

## Regenerating

From the repository root:

```sh
python scripts/train_bundled_model.py --mnist ../shared/data/mnist.npz
```

`--out DIR` writes elsewhere (default `models/`). The script records the library versions it
ran with (above), and exits with an error if a target is missed:

- MNIST test accuracy >= {MIN_TEST_ACCURACY:.0%};
- scene: digit centre cells right >= {MIN_SCENE_HITS:.0%}, cells far from digits `background` >= {MIN_QUIET_BACKGROUND:.0%};
- the Keras FCN, and the saved file loaded back, match the trained model's crop-by-crop scores.

With the same versions on the same machine a rerun gives the same weights; other versions or
CPUs may give slightly different numbers.
"""
    path.write_text(text)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", type=pathlib.Path, default=REPO.parent / "shared/data/mnist.npz",
                        help="MNIST in Keras's npz layout (default: ../shared/data/mnist.npz "
                             "from the repository root)")
    parser.add_argument("--out", type=pathlib.Path, default=REPO / "models",
                        help="output directory (default: models/)")
    return parser.parse_args()


def main():
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(KERAS_SEED)
    tf.config.experimental.enable_op_determinism()
    print("versions:", versions())

    mnist = load_mnist(args.mnist)
    x, y = training_set(mnist, np.random.default_rng(DATA_SEED))
    print(f"training set: {len(x):,} patches, {np.mean(y == BACKGROUND):.1%} background")

    steps_per_epoch = math.ceil(len(x) * (1 - VALIDATION_SPLIT) / BATCH_SIZE)
    model = build_model(EPOCHS * steps_per_epoch)
    model.summary()
    history, seconds = train(model, x, y)
    print(f"training took {seconds:.0f} s")

    results = {"history": history, "train_seconds": seconds,
               "test": test_accuracy(model, mnist),
               "background": background_precision_recall(model, mnist)}
    print("MNIST test:", results["test"])
    print("background on held-out synthetic patches:", results["background"])

    scene, digits = make_scene(mnist["x_test"], mnist["y_test"])
    image = to_unit(scene)
    scores = sliding_window_scores(model, image)
    fcn_scores = fully_convolutional(model).predict(image[None, :, :, None], verbose=0)[0]
    results["fcn_difference"] = float(np.abs(fcn_scores - scores).max())
    results["scene"] = scene_check(scores, digits)
    print(heatmap_text(scores, digits))
    print("scene check:", results["scene"])
    print(f"FCN vs crop-by-crop: max |difference| {results['fcn_difference']:.2e}")

    model.save(args.out / "digits-lenet.h5")
    saved = keras.models.load_model(args.out / "digits-lenet.h5")
    results["reload_difference"] = float(np.abs(sliding_window_scores(saved, image) - scores).max())
    print(f"saved file vs trained model on the scene: max |difference| "
          f"{results['reload_difference']:.2e}")
    write_png(args.out / "demo-scene.png", scene)
    write_scene_json(args.out / "demo-scene.json", digits)
    (args.out / "digits-lenet-labels.txt").write_text("\n".join(CLASSES) + "\n")
    write_model_card(args.out / "README.md", model, results)
    for name in ("digits-lenet.h5", "digits-lenet-labels.txt", "demo-scene.png", "demo-scene.json",
                 "README.md"):
        print(f"wrote {args.out / name} ({(args.out / name).stat().st_size:,} bytes)")

    missed = [name for name, ok in [
        (f"test accuracy >= {MIN_TEST_ACCURACY:.0%}", results["test"]["accuracy"] >= MIN_TEST_ACCURACY),
        (f"scene hits >= {MIN_SCENE_HITS:.0%}", results["scene"]["hit_rate"] >= MIN_SCENE_HITS),
        (f"quiet cells background >= {MIN_QUIET_BACKGROUND:.0%}",
         results["scene"]["quiet_rate"] >= MIN_QUIET_BACKGROUND),
        ("FCN equals crop-by-crop", results["fcn_difference"] < 1e-4),
        ("saved file equals trained model", results["reload_difference"] < 1e-6)] if not ok]
    if missed:
        sys.exit("TARGETS MISSED: " + "; ".join(missed))
    print("all targets met")


if __name__ == "__main__":
    main()
