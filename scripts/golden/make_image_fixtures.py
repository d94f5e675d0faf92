#!/usr/bin/env python3
"""Writes the image fixtures of the FCNImage tests into Tests/Fixtures/images/: small PNGs and
JPEGs of every kind fcn heatmap must read (8- and 16-bit, gray, RGB, RGBA, paletted) and the
broken ones it must refuse, plus images.json with what Pillow decodes from each (the
reference). Generated, do not edit the outputs.

Run: python scripts/golden/make_image_fixtures.py   (needs numpy and Pillow)
"""
import json
import pathlib
import struct
import zlib

import numpy as np
import PIL
from PIL import Image

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests/Fixtures/images"
SEED = 7


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def handmade_png(width: int, height: int, rows: bytes) -> bytes:
    """A gray 8-bit PNG whose header may claim any size, with `rows` as its image data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(rows))
            + png_chunk(b"IEND", b""))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    random = np.random.default_rng(SEED)
    gray = random.integers(0, 256, (13, 17), dtype=np.uint8)
    rgb = random.integers(0, 256, (11, 19, 3), dtype=np.uint8)
    references = {}

    def save(name: str, image: Image.Image, **options) -> None:
        image.save(OUT / name, **options)
        decoded = Image.open(OUT / name)
        mode = "L" if decoded.mode in ("L", "LA", "I;16", "I") else "RGB"
        if decoded.mode in ("I;16", "I"):
            array = (np.asarray(decoded, dtype=np.uint32) >> 8).astype(np.uint8)  # libpng's strip to 8 bits
        else:
            array = np.asarray(decoded.convert(mode), dtype=np.uint8)
        references[name] = {"height": array.shape[0], "width": array.shape[1],
                            "channels": 1 if array.ndim == 2 else 3, "pixels": array.flatten().tolist()}

    save("gray8.png", Image.fromarray(gray, "L"))
    save("rgb8.png", Image.fromarray(rgb, "RGB"))
    save("rgba8.png", Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)]), "RGBA"))
    save("gray16.png", Image.fromarray(gray.astype(np.uint16) * 256 + 100))
    save("palette.png", Image.fromarray(rgb, "RGB").quantize(colors=16))
    save("rgb.jpg", Image.fromarray(rgb, "RGB"), quality=95)
    save("gray.jpg", Image.fromarray(gray, "L"), quality=95)

    whole_png = (OUT / "rgb8.png").read_bytes()
    (OUT / "truncated.png").write_bytes(whole_png[: len(whole_png) // 2])
    big_jpeg = Image.fromarray(random.integers(0, 256, (64, 64, 3), dtype=np.uint8), "RGB")
    big_jpeg.save(OUT / "whole.jpg", quality=90)
    whole_jpg = (OUT / "whole.jpg").read_bytes()
    (OUT / "truncated.jpg").write_bytes(whole_jpg[: len(whole_jpg) // 2])
    (OUT / "whole.jpg").unlink()
    (OUT / "not-an-image.png").write_text("this is text, not pixels\n")
    (OUT / "zero-width.png").write_bytes(handmade_png(0, 4, b""))
    (OUT / "huge.png").write_bytes(handmade_png(100_000, 100_000, b"\x00" * 16))
    (OUT / "images.json").write_text(json.dumps({
        "_generated_by": "scripts/golden/make_image_fixtures.py; generated, do not edit",
        "versions": {"pillow": PIL.__version__, "numpy": np.__version__}, "seed": SEED,
        "decoded": references}, indent=1) + "\n")
    print("wrote", sorted(path.name for path in OUT.iterdir()))


if __name__ == "__main__":
    main()
