#!/bin/sh
# Makes docs/images/density-1.png and density-4.png: the bundled digit model's class-6 heatmaps
# of an 80×60 crop of the demo scene (around its middle "6"), at density 1 and 4, each enlarged 4× (nearest neighbour)
# so the cells can be seen. Run from the repository root after `swift build -c release`.
# Needs Python with Pillow (the reference venv has it) for the crop and the enlargement only;
# the heatmaps themselves are `fcn heatmap`'s.
set -eu
python=${PYTHON:-/work/venv/bin/python}
fcn=${FCN:-.build/release/fcn}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -c "
from PIL import Image
Image.open('models/demo-scene.png').crop((150, 90, 230, 150)).save('$work/scene-crop.png')
"
for density in 1 4; do
    "$fcn" heatmap models/digits-lenet.h5 "$work/scene-crop.png" -o "$work/d$density" --class 6 --density "$density" --quiet
    "$python" -c "
from PIL import Image
image = Image.open('$work/d$density/scene-crop.6.heatmap.png')
image.resize((image.width * 4, image.height * 4), Image.NEAREST).save('docs/images/density-$density.png', optimize=True)
"
done
