#!/usr/bin/env python3
"""Writes the slide fixtures of the FCNSlide and fcn heatmap tests into Tests/Fixtures/slides/,
and (with --benchmark SIZE) large benchmark slides outside the repository. Generated, do not
edit the outputs.

Fixtures (a few hundred KB in all):
  pyramid.tif     1536x2048 RGB, tiled 256x256, JPEG q90, three levels (1, 1/2, 1/4) as
                  reduced-resolution directories, 0.5 um/px in the resolution tags: OpenSlide
                  opens it as generic-tiff with openslide.mpp-x = 0.5.
  striped.tif     300x400 RGB in strips of 16 rows, deflate, no resolution: OpenSlide refuses
                  strips, so it goes through libtiff; --mpp on it must be refused.
  truncated.tif   pyramid.tif cut to its first 40%: the header reads, tiles do not.
  corrupt.tif     a TIFF header followed by garbage.
  not-a-slide.svs random bytes with a slide's extension.
  slides.json     sizes, levels, mpp and a few pixels of each readable fixture as decoded by
                  tifffile + imagecodecs (the reference the tests compare with).

Benchmark (--benchmark SIZE --out DIR): DIR/bench-SIZE.tif, SIZE x SIZE RGB, tiled 256,
JPEG q80, levels down to < 2048 px, 0.25 um/px. Tiles are drawn from 64 pre-encoded tiles,
so writing 50,000^2 takes a few minutes and little memory.

Run: /work/venv/bin/python scripts/golden/make_slide_fixtures.py
     /work/venv/bin/python scripts/golden/make_slide_fixtures.py --benchmark 50000 --out /work/slides
(needs numpy, tifffile==2025.10.16, imagecodecs==2025.8.2)
"""
import argparse
import json
import pathlib

import imagecodecs
import numpy as np
import tifffile

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests/Fixtures/slides"
SEED = 13


def tissue(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A slide-like RGB picture: pale background, pink blobs of 'tissue', dark digit-like strokes."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.full((height, width, 3), (243, 241, 245), np.float32)
    mask = np.zeros((height, width), np.float32)
    for _ in range(9):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        ry, rx = rng.uniform(height / 10, height / 4), rng.uniform(width / 10, width / 4)
        mask = np.maximum(mask, np.clip(1.5 - ((y - cy) / ry) ** 2 - ((x - cx) / rx) ** 2, 0, 1))
    texture = rng.normal(0, 1, (height // 8 + 1, width // 8 + 1)).repeat(8, 0).repeat(8, 1)[:height, :width]
    pink = np.stack([210 + 12 * texture, 120 + 20 * texture, 170 + 12 * texture], -1)
    image = image * (1 - mask[..., None]) + pink * mask[..., None]
    for _ in range(60):
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(6, 14)
        ring = np.abs(np.hypot(y - cy, x - cx) - r) < 2.5
        image[ring] = (60, 30, 90)
    return np.clip(image, 0, 255).astype(np.uint8)


def halve(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    return image[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).mean((1, 3)).round().astype(np.uint8)


def write_pyramid(path: pathlib.Path, levels: list, mpp: float, quality: int) -> None:
    resolution = (1e4 / mpp, 1e4 / mpp)
    with tifffile.TiffWriter(path, bigtiff=False) as tif:
        for index, level in enumerate(levels):
            tif.write(level, photometric="rgb", tile=(256, 256), compression="jpeg", compressionargs={"level": quality},
                      subfiletype=1 if index else 0, resolution=resolution, resolutionunit="CENTIMETER",
                      metadata=None)


def fixtures() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    base = tissue(1536, 2048, rng)
    levels = [base, halve(base), halve(halve(base))]
    write_pyramid(OUT / "pyramid.tif", levels, mpp=0.5, quality=90)
    striped = tissue(300, 400, rng)
    tifffile.imwrite(OUT / "striped.tif", striped, photometric="rgb", rowsperstrip=16, compression="zlib", metadata=None)
    whole = (OUT / "pyramid.tif").read_bytes()
    (OUT / "truncated.tif").write_bytes(whole[: int(len(whole) * 0.4)])
    (OUT / "corrupt.tif").write_bytes(b"II*\x00" + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    (OUT / "not-a-slide.svs").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())

    reference = {"generator": "scripts/golden/make_slide_fixtures.py", "seed": SEED,
                 "versions": {"tifffile": tifffile.__version__, "imagecodecs": imagecodecs.__version__, "numpy": np.__version__},
                 "slides": {}}
    samples = [(0, 0), (100, 200), (777, 1333), (1535, 2047)]
    with tifffile.TiffFile(OUT / "pyramid.tif") as tif:
        pages = [page.asarray() for page in tif.pages]
    reference["slides"]["pyramid.tif"] = {
        "levels": [[p.shape[0], p.shape[1]] for p in pages], "mppX": 0.5, "mppY": 0.5,
        "pixels": [{"level": lv, "row": r // 2 ** lv, "column": c // 2 ** lv, "rgb": pages[lv][r // 2 ** lv, c // 2 ** lv].tolist()}
                   for lv in range(3) for r, c in samples]}
    stored = tifffile.imread(OUT / "striped.tif")
    reference["slides"]["striped.tif"] = {
        "levels": [[300, 400]], "mppX": None, "mppY": None,
        "pixels": [{"level": 0, "row": r, "column": c, "rgb": stored[r, c].tolist()} for r, c in [(0, 0), (15, 17), (16, 3), (299, 399)]]}
    (OUT / "slides.json").write_text(json.dumps(reference, indent=1) + "\n")
    for path in sorted(OUT.iterdir()):
        print(f"{path.relative_to(OUT.parents[2])}: {path.stat().st_size} bytes")


def benchmark(size: int, out: pathlib.Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    sheet = tissue(2048, 2048, rng)
    pool = [imagecodecs.jpeg_encode(sheet[r:r + 256, c:c + 256], level=80) for r in range(0, 2048, 256) for c in range(0, 2048, 256)]
    path = out / f"bench-{size}.tif"
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        width, level = size, 0
        while True:
            tiles_y, tiles_x = -(-width // 256), -(-width // 256)
            order = rng.integers(0, len(pool), tiles_y * tiles_x)
            tif.write((pool[i] for i in order), shape=(width, width, 3), dtype=np.uint8, photometric="rgb",
                      tile=(256, 256), compression="jpeg", subfiletype=1 if level else 0,
                      resolution=(1e4 / (0.25 * 2 ** level),) * 2, resolutionunit="CENTIMETER", metadata=None)
            if width < 2048:
                break
            width, level = width // 4, level + 2
    print(f"{path}: {path.stat().st_size / 2**20:.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--benchmark", type=int)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("/work/slides"))
    arguments = parser.parse_args()
    if arguments.benchmark:
        benchmark(arguments.benchmark, arguments.out)
    else:
        fixtures()
