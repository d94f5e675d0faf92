#!/usr/bin/env python3
"""Writes a logits copy of the bundled model: models/digits-lenet.h5 with its last layer's
softmax removed (fc2's activation set to linear; the same weights), as a Keras legacy .h5, and
the labels beside it as <stem>-labels.txt. fcn heatmap then sees raw scores, as for any model
exported without its final softmax; docs/heatmaps.md draws its logits pictures with it.

Checks, with Keras as the reference, that softmax(copy(x)) equals the bundled model's output on
every 28x28 crop (stride 4) of models/demo-scene.png, and prints the logits' range there.

Run: /work/venv/bin/python scripts/golden/make_logits_model.py [OUT]   (default /tmp/digits-lenet-logits.h5;
     needs Keras 3, numpy, Pillow; not committed: about 330 KB)
"""
import os
import pathlib
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]


def main() -> None:
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/digits-lenet-logits.h5")
    model = keras.models.load_model(REPO / "models/digits-lenet.h5", compile=False)
    config = model.get_config()
    last = config["layers"][-1]["config"]
    assert last["name"] == "fc2" and last["activation"] == "softmax", last
    last["activation"] = "linear"
    copy = keras.Sequential.from_config(config)
    copy.set_weights(model.get_weights())

    scene = np.asarray(Image.open(REPO / "models/demo-scene.png").convert("L"), dtype=np.float32) / 255
    crops = np.stack([scene[y:y + 28, x:x + 28] for y in range(0, scene.shape[0] - 27, 4)
                      for x in range(0, scene.shape[1] - 27, 4)])[..., None]
    probabilities = model.predict(crops, verbose=0)
    logits = copy.predict(crops, verbose=0)
    error = np.abs(keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1)) - probabilities).max()
    assert error < 1e-5, error
    print(f"{len(crops)} crops of the scene: softmax(logits) matches the bundled model to {error:.1e}; "
          f"logits from {logits.min():.2f} to {logits.max():.2f}")

    copy.save(out)
    labels = out.with_name(out.stem + "-labels.txt")
    shutil.copyfile(REPO / "models/digits-lenet-labels.txt", labels)
    print(f"wrote {out} and {labels}")


if __name__ == "__main__":
    main()
