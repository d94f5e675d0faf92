#!/usr/bin/env python3
"""Writes Tests/Fixtures/hostile/: small files that declare or reach for more than they hold,
for the reader tests that prove each is refused (docs/security.md). Generated, do not edit
the output.

Run: python scripts/golden/make_hostile_fixtures.py   (needs h5py and numpy)
"""
import json
import pathlib
import shutil
import struct
import zlib

import h5py
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/Fixtures/hostile"
LENET = ROOT / "Tests/Fixtures/models/k3_lenet.h5"
CONVERTED_LENET = ROOT / "Tests/Fixtures/converted/k3_lenet.fcn.h5"
# 40 recognisable bytes (ten float32) that must never show up in anything fcn writes.
SECRET = b"TOP-SECRET:do-not-copy-these-bytes-out!!"


def huge_declared() -> None:
    """Chunked datasets that are never written: 10^12 elements, and dims whose product overflows."""
    with h5py.File(OUT / "huge_declared.h5", "w") as f:
        f.create_dataset("huge", shape=(10**6, 10**6), dtype="f4", chunks=(1, 1))
        f.create_dataset("overflow", shape=(2**32, 2**32, 16), dtype="f4", chunks=(1, 1, 1))
        f.create_dataset("empty_bias", data=h5py.Empty("f4"))
        f.create_dataset("fine", data=np.arange(6, dtype="f4").reshape(2, 3))


def outside_storage() -> None:
    """A dataset whose raw data is an external 'secret' file, a virtual dataset, and links that
    point outside the file."""
    secret = OUT / "secret.bin"
    secret.write_bytes(np.full(4, 42.0, dtype="<f4").tobytes())
    with h5py.File(OUT / "outside_storage.h5", "w") as f:
        f.create_dataset("external", shape=(4,), dtype="<f4", external=[("secret.bin", 0, 16)])
        layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
        layout[:] = h5py.VirtualSource("secret_source.h5", "data", shape=(4,))
        f.create_virtual_dataset("virtual", layout)
        f.create_dataset("plain", data=np.ones(4, dtype="f4"))
        f["soft"] = h5py.SoftLink("/plain")
        f["elsewhere"] = h5py.ExternalLink("secret_source.h5", "/data")
    with h5py.File(OUT / "secret_source.h5", "w") as f:
        f.create_dataset("data", data=np.full(4, 42.0, dtype="f4"))


def wide_group() -> None:
    """One group with 50,000 hard links to one small dataset."""
    with h5py.File(OUT / "wide_group.h5", "w", libver="latest") as f:
        target = f.create_dataset("target", data=np.zeros(1, dtype="f4"))
        group = f.create_group("wide")
        for index in range(50_000):
            group[f"link{index:05d}"] = target


def hostile_names() -> None:
    """A group whose name holds a newline and a terminal escape that clears the screen."""
    with h5py.File(OUT / "hostile_names.h5", "w") as f:
        f.create_group("evil\n\x1b[2J\x1b[Hname")


def lenet_variant(name: str) -> h5py.File:
    """A copy of the LeNet fixture (a Keras 3 full model) to make one weight hostile in."""
    shutil.copyfile(LENET, OUT / name)
    return h5py.File(OUT / name, "r+")


def hostile_models() -> None:
    """LeNet with its fc2 bias stored in an external 'secret' file, with its fc2 kernel an
    external link to 'fifo.h5' (the test makes a FIFO of that name beside a copy), and with its
    fc2 bias a NULL dataspace. A converted LeNet whose recorded input size is absurd, and one
    that lost it (as a Keras re-save does)."""
    assert len(SECRET) == 40
    (OUT / "lenet_secret.bin").write_bytes(SECRET)
    weights = "model_weights/fc2/lenet/fc2/"
    with lenet_variant("lenet_external_bias.h5") as f:
        del f[weights + "bias"]
        f.create_dataset(weights + "bias", shape=(10,), dtype="<f4", external=[("lenet_secret.bin", 0, 40)])
    with lenet_variant("lenet_fifo_link.h5") as f:
        del f[weights + "kernel"]
        f[weights + "kernel"] = h5py.ExternalLink("fifo.h5", "/kernel")
    with lenet_variant("lenet_null_bias.h5") as f:
        del f[weights + "bias"]
        f.create_dataset(weights + "bias", data=h5py.Empty("f4"))
    shutil.copyfile(CONVERTED_LENET, OUT / "lenet_huge_input.fcn.h5")
    with h5py.File(OUT / "lenet_huge_input.fcn.h5", "r+") as f:
        f.attrs["fcnkit_input_size"] = "99999999999x99999999999"
    shutil.copyfile(CONVERTED_LENET, OUT / "lenet_no_input.fcn.h5")
    with h5py.File(OUT / "lenet_no_input.fcn.h5", "r+") as f:
        del f.attrs["fcnkit_input_size"]


def patched_once(data: bytes, old: bytes, new: bytes) -> bytes:
    """`data` with the one occurrence of `old` replaced by `new` (of the same length)."""
    assert data.count(old) == 1 and len(old) == len(new)
    return data.replace(old, new)


def oversized_storage() -> None:
    """Found by the campaign (a k3_functional.h5 with 14 bytes changed peaked at 2.3 GiB before it
    was refused): LeNet whose fc2 bias (10 values) declares numbers of 256 MiB each, and one
    whose bias's contiguous storage claims 2.4 GB. libhdf5 sizes its read and conversion
    buffers by these fields, so they are checked against the shape before any read. The bias
    is stored big-endian so that its datatype message is the only one of its kind in the file."""
    weights = "model_weights/fc2/lenet/fc2/"
    for name in ("lenet_huge_type_bias.h5", "lenet_huge_storage_bias.h5"):
        with lenet_variant(name) as f:
            values = f[weights + "bias"][()]
            del f[weights + "bias"]
            bias = f.create_dataset(weights + "bias", data=values.astype(">f4"))
            address, size = bias.id.get_offset(), bias.id.get_storage_size()
        data = (OUT / name).read_bytes()
        if name == "lenet_huge_type_bias.h5":
            # Datatype message: version 1, floating point; big-endian; IEEE bits; size 4 bytes.
            data = patched_once(data, bytes([0x11, 0x21, 0x1F, 0x00]) + struct.pack("<I", 4),
                                bytes([0x11, 0x21, 0x1F, 0x00]) + struct.pack("<I", 1 << 28))
        else:
            # Data layout message version 3, contiguous: address, size.
            data = patched_once(data, bytes([3, 1]) + struct.pack("<QQ", address, size),
                                bytes([3, 1]) + struct.pack("<QQ", address, 2_399_141_892))
        (OUT / name).write_bytes(data)


def lenet_config() -> dict:
    with h5py.File(LENET, "r") as f:
        return json.loads(f.attrs["model_config"])


def with_layer(config: dict, index: int, layer: dict) -> dict:
    """`config` with `layer` inserted before layer `index`."""
    copy = json.loads(json.dumps(config))
    copy["config"]["layers"].insert(index, layer)
    return copy


def with_setting(config: dict, layer_name: str, key: str, value) -> dict:
    """`config` with one setting of one layer replaced."""
    copy = json.loads(json.dumps(config))
    for layer in copy["config"]["layers"]:
        if layer["config"].get("name") == layer_name:
            layer["config"][key] = value
    return copy


def strided_same(config: dict, layer_names: list, stride: int) -> dict:
    """`config` with these layers given `stride` and 'same' padding."""
    for name in layer_names:
        config = with_setting(with_setting(config, name, "strides", [stride, stride]), name, "padding", "same")
    return config


def padding_layer(name: str, padding) -> dict:
    return {"class_name": "ZeroPadding2D", "config": {"name": name, "padding": padding, "data_format": "channels_last"}}


def hostile_settings() -> None:
    """Architecture files (LeNet's config) with one layer setting out of range, each with the
    fragment its one-line error must contain, in settings/manifest.json. The first file of each
    is also a full model (the LeNet weights under the hostile config) for convert."""
    base = lenet_config()
    huge = 10**12
    cases = {
        "zeropad_negative": (with_layer(base, 2, padding_layer("pad", -3)), "padding"),
        "zeropad_negative_side": (with_layer(base, 2, padding_layer("pad", [[0, 1], [-7, 2]])), "padding"),
        "zeropad_huge": (with_layer(base, 2, padding_layer("pad", huge)), "padding"),
        # Four paddings of 2^20 and a conv of 2^20 filters: a map whose element count overflows.
        "zeropad_overflow": (with_setting(
            with_layer(with_layer(with_layer(with_layer(base, 2, padding_layer("p1", 1 << 20)), 2, padding_layer("p2", 1 << 20)),
                                  2, padding_layer("p3", 1 << 20)), 2, padding_layer("p4", 1 << 20)),
            "conv2", "filters", 1 << 20), "values"),
        "strides_zero": (with_setting(base, "conv1", "strides", [0, 1]), "strides"),
        "strides_negative": (with_setting(base, "conv1", "strides", -2), "strides"),
        "strides_huge": (with_setting(base, "pool1", "strides", [huge, huge]), "strides"),
        "kernel_negative": (with_setting(base, "conv1", "kernel_size", [-5, 5]), "kernel_size"),
        "kernel_huge": (with_setting(base, "conv1", "kernel_size", 2**40), "kernel_size"),
        "kernel_fraction": (with_setting(base, "conv1", "kernel_size", [2.5, 5]), "kernel_size"),
        "kernel_rank3": (with_setting(base, "conv1", "kernel_size", [5, 5, 5]), "kernel_size"),
        "dilation_zero": (with_setting(base, "conv1", "dilation_rate", 0), "dilation_rate"),
        "groups_negative": (with_setting(base, "conv1", "groups", -1), "groups"),
        "filters_huge": (with_setting(base, "conv2", "filters", huge), "filters"),
        "filters_string": (with_setting(base, "conv2", "filters", "many"), "filters"),
        "units_zero": (with_setting(base, "fc1", "units", 0), "units"),
        "units_negative": (with_setting(base, "fc2", "units", -10), "units"),
        "pool_negative": (with_setting(base, "pool1", "pool_size", [-2, 2]), "pool_size"),
        "input_huge": (with_setting(base, "image", "batch_shape", [None, 1 << 20, 1 << 20, 1 << 20]), "input"),
        # Strides of 2^20 on four 'same' layers: a jump of 2^80 pixels.
        "strides_compound": (strided_same(base, ["conv1", "pool1", "conv2", "pool2"], 1 << 20), "pixels"),
    }
    # Found by the campaign: a functional layer whose inbound node's args became a number was
    # wired to the layer before it, as in a Sequential model, and inspect said nothing (exit 0).
    vgg = json.loads((ROOT / "Tests/Fixtures/models/vgg16.json").read_text())
    vgg["config"]["layers"][2]["inbound_nodes"][0]["args"] = 1e308
    cases["inbound_unwired"] = (vgg, "names no layer in its inbound_nodes")
    folder = OUT / "settings"
    folder.mkdir(exist_ok=True)
    manifest = {}
    for name, (config, fragment) in cases.items():
        (folder / f"{name}.json").write_text(json.dumps(config))
        manifest[f"{name}.json"] = fragment
    # The same first case as a full model, for convert.
    with lenet_variant("settings/zeropad_negative.h5") as f:
        f.attrs["model_config"] = json.dumps(cases["zeropad_negative"][0])
    caffe = (ROOT / "Tests/Fixtures/models/caffe_quick.prototxt").read_text()
    caffe_cases = {
        "caffe_pad_negative": (caffe.replace("pad: 2", "pad: -3", 1), "pad"),
        "caffe_stride_zero": (caffe.replace("stride: 1", "stride: 0", 1), "stride"),
        "caffe_num_output_huge": (caffe.replace("num_output: 8", "num_output: 99999999999999", 1), "num_output"),
        "caffe_kernel_text": (caffe.replace("kernel_size: 5", "kernel_size: five", 1), "kernel_size"),
        "caffe_input_negative": (caffe.replace("dim: 22", "dim: -22", 1), "input"),
        "caffe_input_text": (caffe.replace("dim: 22", "dim: twenty", 1), "input"),
    }
    for name, (text, fragment) in caffe_cases.items():
        (folder / f"{name}.prototxt").write_text(text)
        manifest[f"{name}.prototxt"] = fragment
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def huge_caffe_blob() -> None:
    """caffe_quick with conv1's weights a never-written chunked dataset of 2^30 values (4 GiB
    declared, within the reader's element limit, a few KB on disk): refused by its shape before
    a byte of it is read."""
    shutil.copyfile(ROOT / "Tests/Fixtures/models/caffe_quick.caffemodel.h5", OUT / "caffe_huge_blob.caffemodel.h5")
    with h5py.File(OUT / "caffe_huge_blob.caffemodel.h5", "r+") as f:
        del f["data/conv1/0"]
        f.create_dataset("data/conv1/0", shape=(1 << 15, 1 << 15), dtype="f4", chunks=(1, 1 << 10))
    shutil.copyfile(ROOT / "Tests/Fixtures/models/caffe_quick.prototxt", OUT / "caffe_huge_blob.prototxt")


def deep_and_bombs() -> None:
    """Architecture files nested 40,000 levels deep (prototxt, JSON, YAML) and a 400-byte YAML
    'billion laughs' whose aliases expand to 10^9 nodes."""
    depth = 40_000
    (OUT / "deep.prototxt").write_text("name: \"deep\"\n" + "a {" * depth + "}" * depth + "\n")
    (OUT / "deep.json").write_text("[" * depth + "]" * depth)
    (OUT / "deep.yaml").write_text("[" * depth + "]" * depth + "\n")
    (OUT / "deep_block.yaml").write_text("- " * depth + "x\n")
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append("class_name: Sequential")
    lines.append("config: *a9")
    (OUT / "alias_bomb.yaml").write_text("\n".join(lines) + "\n")


def conv_only_caffe() -> None:
    """A Caffe net of convolutions only (its output is a map, not one cell) with weights, for verify."""
    (OUT / "conv_only.prototxt").write_text(
        'name: "conv_only"\ninput: "data"\ninput_shape { dim: 1 dim: 3 dim: 12 dim: 12 }\n'
        'layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 4 kernel_size: 3 } }\n'
        'layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }\n'
        'layer { name: "conv2" type: "Convolution" bottom: "conv1" top: "conv2" convolution_param { num_output: 2 kernel_size: 3 } }\n')
    rng = np.random.default_rng(11)
    with h5py.File(OUT / "conv_only.caffemodel.h5", "w") as f:
        f["data/conv1/0"] = rng.standard_normal((4, 3, 3, 3)).astype("f4")
        f["data/conv1/1"] = rng.standard_normal(4).astype("f4")
        f["data/conv2/0"] = rng.standard_normal((2, 4, 3, 3)).astype("f4")
        f["data/conv2/1"] = rng.standard_normal(2).astype("f4")


def npy_header(text: str) -> bytes:
    header = text.encode("latin1")
    header += b" " * ((64 - (10 + len(header) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def hostile_npy() -> None:
    """.npy inputs whose headers NumPy itself refuses or reads otherwise than a lax parser would;
    each holds LeNet's 28×28×1 of data, so that a parser dropping what it does not understand
    would run them. Listed with the fragment of their error in npy/manifest.json."""
    data = np.zeros((28, 28, 1), dtype="<f4").tobytes()
    cases = {
        "shape_overflow": ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 28, 28, 1), }", "shape"),
        "shape_word": ("{'descr': '<f4', 'fortran_order': False, 'shape': (abc, 28, 28, 1), }", "shape"),
        "shape_negative": ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 28, 28, 1), }", "shape"),
        "shape_nested": ("{'descr': '<f4', 'fortran_order': False, 'shape': ((28, 28), 1), }", "shape"),
        "shape_no_tuple": ("{'descr': '<f4', 'fortran_order': False, 'shape': 784, }", "shape"),
        "duplicate_descr": ("{'descr': '<f4', 'fortran_order': False, 'shape': (28, 28, 1), 'descr': '>f8', }", "descr"),
        "duplicate_shape": ("{'descr': '<f4', 'fortran_order': False, 'shape': (28, 28, 1), 'shape': (1,), }", "shape"),
        "unknown_key": ("{'descr': '<f4', 'fortran_order': False, 'shape': (28, 28, 1), 'evil': 1, }", "evil"),
        "descr_in_value": ("{'fortran_order': False, 'shape': (28, 28, 1), 'x': \"'descr': '<f4'\", }", "descr"),
        "fortran_word": ("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (28, 28, 1), }", "fortran_order"),
        "not_a_dict": ("['descr', '<f4']", "dictionary"),
        "unclosed": ("{'descr': '<f4', 'fortran_order': False, 'shape': (28, 28, 1", "shape"),
    }
    folder = OUT / "npy"
    folder.mkdir(exist_ok=True)
    manifest = {}
    for name, (header, fragment) in cases.items():
        (folder / f"{name}.npy").write_bytes(npy_header(header) + data)
        manifest[f"{name}.npy"] = fragment
    # Found by the fuzzer: a header length 5 short, so the data would start 5 bytes early.
    short = bytearray(npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 28, 28, 1), }") + data)
    short[8] -= 5
    (folder / "header_length_short.npy").write_bytes(bytes(short))
    manifest["header_length_short.npy"] = "newline"
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def png_chunk(kind: bytes, payload: bytes, length: int | None = None) -> bytes:
    size = len(payload) if length is None else length
    return struct.pack(">I", size) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def hostile_png() -> None:
    """A 61-byte PNG whose tEXt chunk claims 2 GB, and one whose zTXt inflates to 64 MB."""
    header = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    (OUT / "huge_text_chunk.png").write_bytes(header + png_chunk(b"tEXt", b"k\x00v", length=0x7FFFFFF0))
    bomb = zlib.compress(b"\x00" * (64 << 20), 9)
    pixels = png_chunk(b"IDAT", zlib.compress(b"\x00\x00"))
    (OUT / "ztxt_bomb.png").write_bytes(header + png_chunk(b"zTXt", b"k\x00\x00" + bomb) + pixels + png_chunk(b"IEND", b""))


def hostile_jpeg() -> None:
    """The fuzzer's reproducer of a JPEG that decoded with exit 0: the seed rgb40x36.jpg cut to
    1649 of its 1754 bytes (the end of its scan and its EOI marker gone) with six entropy-coded
    bytes changed. Every row still decodes (libjpeg fills in); libjpeg's warning about the
    missing end comes only from jpeg_finish_decompress."""
    data = bytearray((OUT / "seeds/rgb40x36.jpg").read_bytes()[:1649])
    for position, value in [(697, 65), (776, 110), (1039, 94), (1367, 133), (1378, 235), (1590, 232)]:
        data[position] = value
    (OUT / "cut_end.jpg").write_bytes(bytes(data))


def libhdf5_fault() -> None:
    """Found by the ASan campaign: one byte of the tf.keras graph fixture changed (offset 2133,
    in the global heap that holds its model_config string) makes libhdf5 1.10.8 itself fault
    in H5HG_read while H5Aread converts the string (SIGSEGV in process). Only the isolated
    reader turns that into a message."""
    data = bytearray((ROOT / "Tests/Fixtures/graphs/bn_after_dense_tfkeras.h5").read_bytes())
    data[2133] = 217
    (OUT / "global_heap_fault.h5").write_bytes(bytes(data))


def libhdf5_spin() -> None:
    """Found by the ASan campaign: one byte of k3_gap.h5 changed (offset 8201, a size in the
    global heap of its string attributes) makes libhdf5 1.10.8 loop for ever in its global-heap
    cache (H5HG_read → H5C_protect), using CPU: the reader's CPU limit stops it."""
    data = bytearray((ROOT / "Tests/Fixtures/models/k3_gap.h5").read_bytes())
    data[8201] = 128
    (OUT / "global_heap_spin.h5").write_bytes(bytes(data))


def fuzz_seeds() -> None:
    """Images large enough for the fixture classifiers (LeNet takes 28×28), as seeds of the
    fuzzer's PNG and JPEG generators (scripts/fuzz): RGB and gray PNGs, baseline and
    progressive JPEGs."""
    from PIL import Image

    folder = OUT / "seeds"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(5)
    rgb = Image.fromarray(rng.integers(0, 256, (40, 36, 3), dtype=np.uint8), "RGB")
    rgb.save(folder / "rgb40x36.png")
    rgb.convert("L").save(folder / "gray40x36.png")
    rgb.save(folder / "rgb40x36.jpg", quality=80)
    rgb.save(folder / "rgb40x36.progressive.jpg", quality=80, progressive=True)
    rgb.convert("L").save(folder / "gray40x36.jpg", quality=90)
    rgb.convert("RGBA").save(folder / "rgba40x36.png")
    rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(folder / "palette40x36.png")
    Image.fromarray((rng.integers(0, 65536, (40, 36))).astype(np.uint16)).save(folder / "gray16_40x36.png")
    rgb.save(folder / "interlaced40x36.png", interlace=1)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    huge_declared()
    outside_storage()
    wide_group()
    hostile_names()
    hostile_models()
    oversized_storage()
    hostile_settings()
    huge_caffe_blob()
    deep_and_bombs()
    conv_only_caffe()
    hostile_npy()
    hostile_png()
    fuzz_seeds()
    hostile_jpeg()
    libhdf5_fault()
    libhdf5_spin()


if __name__ == "__main__":
    main()
