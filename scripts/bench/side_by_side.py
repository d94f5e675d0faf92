#!/usr/bin/env python3
"""Times FCNKit (`fcn bench`) against ONNX Runtime on the same fully convolutional networks.

For each workload it first checks that both compute the same score grid: `fcn run` on the
file `fcn convert` writes and ONNX Runtime on the graph export_onnx.py writes get the same
random input (NHWC for fcn, NCHW for ORT), and the outputs must agree within 1e-4 of the
largest score. Then, for each thread count, it alternates `fcn bench --json` and an ONNX
Runtime measurement in a fresh child process, in --rounds rounds (fcn first in odd rounds, ORT
first in even ones), each with a share of the timed runs after one warm-up run. A shared
machine speeds up and slows down over seconds; fine alternation lets both see the same
conditions. The table gives the median over all timed runs of each, and their peak memory as
the process's VmHWM (fcn: its own; ORT: the child's, which includes the Python interpreter and
numpy), the largest over the rounds.

ONNX Runtime runs with intra_op_num_threads = N, inter_op_num_threads = 1, sequential
execution and all graph optimizations.

Expects the models (make_models.py), their .onnx files (export_onnx.py) and a release build
of fcn; scripts/bench/run does all of that first. Prints a Markdown table and writes it as
JSON to .build-bench/side_by_side.json.
"""
from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]
TOLERANCE = 1e-4
SEED = 20261124

Workload = collections.namedtuple("Workload", "model height width runs")

# Timed runs are chosen so that each measurement takes seconds, not minutes, on 2 cores.
WORKLOADS = [
    Workload("lenet", 512, 512, 20),
    Workload("alexnet", 451, 451, 20),
    Workload("alexnet", 500, 500, 20),
    Workload("vgg16", 500, 500, 8),
    Workload("vgg16", 1024, 1024, 4),
]
DISPLAY_NAMES = {"lenet": "LeNet", "alexnet": "AlexNet", "vgg16": "VGG16"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- ONNX Runtime ------------------------------------------------------------------------------

def ort_session(model: pathlib.Path, threads: int, optimized_path: pathlib.Path | None = None):
    """An ONNX Runtime CPU session configured as the benchmark uses it."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only
    if optimized_path is not None:
        options.optimized_model_filepath = str(optimized_path)
    return onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def ort_child(arguments: argparse.Namespace) -> None:
    """One ORT measurement, run in its own process so that its VmHWM is its own peak."""
    started = time.perf_counter()
    session = ort_session(arguments.model, arguments.threads)
    session_ms = (time.perf_counter() - started) * 1e3
    name = session.get_inputs()[0].name
    channels = session.get_inputs()[0].shape[1]
    random = np.random.default_rng()
    image = random.random((1, channels, arguments.height, arguments.width), dtype=np.float32)
    output = session.run(None, {name: image})[0]  # warm-up
    times = []
    for _ in range(arguments.runs):
        started = time.perf_counter()
        session.run(None, {name: image})
        times.append((time.perf_counter() - started) * 1e3)
    print(json.dumps({
        "median_ms": statistics.median(times), "min_ms": min(times), "times_ms": times, "grid": list(output.shape[2:]),
        "session_ms": session_ms, "peak_memory_bytes": vm_hwm_bytes(),
    }))


def vm_hwm_bytes() -> int:
    """This process's peak resident memory, as fcn bench reads its own."""
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def measure_ort(model: pathlib.Path, workload: Workload, threads: int, runs: int) -> dict:
    command = [sys.executable, __file__, "--ort-child", "--model", str(model), "--height", str(workload.height),
               "--width", str(workload.width), "--threads", str(threads), "--runs", str(runs)]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- fcn ---------------------------------------------------------------------------------------

def measure_fcn(fcn: pathlib.Path, model: pathlib.Path, workload: Workload, threads: int, runs: int) -> dict:
    command = [str(fcn), "bench", str(model), "--input", f"{workload.height}x{workload.width}",
               "--threads", str(threads), "--runs", str(runs), "--json"]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def measure_alternately(fcn: pathlib.Path, model: pathlib.Path, onnx_model: pathlib.Path, workload: Workload,
                        threads: int, runs: int, rounds: int) -> tuple[dict, dict]:
    """Both measurements in alternating rounds, pooled: every run's time, the median and minimum
    over all of them, and the largest peak memory."""
    rounds = max(1, min(rounds, runs))
    results = {"fcn": [], "ort": []}
    for round_index in range(rounds):
        share = runs // rounds + (1 if round_index < runs % rounds else 0)
        order = ["fcn", "ort"] if round_index % 2 == 0 else ["ort", "fcn"]
        for side in order:
            if side == "fcn":
                results["fcn"].append(measure_fcn(fcn, model, workload, threads, share))
            else:
                results["ort"].append(measure_ort(onnx_model, workload, threads, share))

    def pooled(measurements: list[dict]) -> dict:
        merged = dict(measurements[-1])
        times = [time for measurement in measurements for time in measurement["times_ms"]]
        merged.update(times_ms=times, median_ms=statistics.median(times), min_ms=min(times), runs=len(times),
                      peak_memory_bytes=max(measurement["peak_memory_bytes"] for measurement in measurements))
        return merged

    fcn_result, ort_result = pooled(results["fcn"]), pooled(results["ort"])
    if "flop" in fcn_result:
        fcn_result["gflops"] = fcn_result["flop"] / fcn_result["median_ms"] / 1e6
    return fcn_result, ort_result


def converted_model(fcn: pathlib.Path, model: pathlib.Path, work: pathlib.Path) -> pathlib.Path:
    """The file `fcn convert` writes for the model, made again when the model or fcn is newer."""
    target = work / f"{model.stem}.fcn.h5"
    if not target.exists() or target.stat().st_mtime < max(model.stat().st_mtime, fcn.stat().st_mtime):
        subprocess.run([str(fcn), "convert", str(model), "-o", str(target)], check=True, capture_output=True)
    return target


# --- The check that both compute the same grid ---------------------------------------------------

def check_outputs(fcn: pathlib.Path, model: pathlib.Path, onnx_model: pathlib.Path, workload: Workload,
                  work: pathlib.Path, optimized_path: pathlib.Path | None) -> dict:
    """Runs fcn and ORT on one random input and returns both grids and the relative error."""
    converted = converted_model(fcn, model, work)
    session = ort_session(onnx_model, threads=2, optimized_path=optimized_path)
    channels = session.get_inputs()[0].shape[1]
    stem = work / f"{model.stem}-{workload.height}x{workload.width}"
    image = np.random.default_rng(SEED).random((1, workload.height, workload.width, channels), dtype=np.float32)
    np.save(f"{stem}.input.npy", image)
    subprocess.run([str(fcn), "run", str(converted), f"{stem}.input.npy", "-o", f"{stem}.fcn.npy", "--threads", "2"],
                   check=True, capture_output=True)
    from_fcn = np.load(f"{stem}.fcn.npy")
    from_ort = session.run(None, {session.get_inputs()[0].name: image.transpose(0, 3, 1, 2)})[0].transpose(0, 2, 3, 1)
    del session
    if from_fcn.shape != from_ort.shape:
        return {"fcn_shape": list(from_fcn.shape), "ort_shape": list(from_ort.shape), "max_rel_error": None}
    error = float(np.max(np.abs(from_fcn - from_ort)) / max(float(np.max(np.abs(from_ort))), 1e-30))
    return {"fcn_shape": list(from_fcn.shape), "ort_shape": list(from_ort.shape), "max_rel_error": error}


def optimized_ops(path: pathlib.Path) -> dict:
    """How many nodes of each kind ORT's optimized graph has (domain:op)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    counts = collections.Counter(f"{node.domain + ':' if node.domain else ''}{node.op_type}" for node in graph.node)
    return dict(sorted(counts.items()))


# --- Report -------------------------------------------------------------------------------------

COLUMNS = ["workload", "threads", "grid", "fcn ms", "ORT ms", "fcn/ORT", "fcn GFLOP/s",
           "fcn peak MiB", "ORT peak MiB", "max rel error"]


def table(rows: list[dict]) -> str:
    cells = [[
        row["workload"], str(row["threads"]), row["grid_text"], f"{row['fcn']['median_ms']:.1f}",
        f"{row['ort']['median_ms']:.1f}", f"{row['ratio']:.2f}", f"{row['fcn']['gflops']:.1f}",
        f"{row['fcn']['peak_memory_bytes'] / 2**20:.0f}", f"{row['ort']['peak_memory_bytes'] / 2**20:.0f}",
        "n/a" if row["max_rel_error"] is None else f"{row['max_rel_error']:.1e}",
    ] for row in rows]
    widths = [max(len(column), *(len(line[index]) for line in cells)) for index, column in enumerate(COLUMNS)]
    numeric = [False, True, False] + [True] * 7

    def line(values):
        return "| " + " | ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric)) + " |"

    rule = "| " + " | ".join("-" * (w - 1) + (":" if n else "-") for w, n in zip(widths, numeric)) + " |"
    return "\n".join([line(COLUMNS), rule] + [line(values) for values in cells])


def environment(fcn: pathlib.Path) -> dict:
    import onnxruntime

    def git(*arguments):
        return subprocess.run(["git", "-C", str(REPOSITORY), *arguments], capture_output=True, text=True).stdout.strip()

    cpu = next((line.split(":", 1)[1].strip() for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "onnxruntime": onnxruntime.__version__, "numpy": np.__version__, "python": platform.python_version(),
        "fcn": str(fcn), "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(git("status", "--porcelain", "--untracked-files=no")),
        "cpu": cpu, "cores": os.cpu_count(),
    }


# --- Command line -------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fcn", type=pathlib.Path, default=REPOSITORY / ".build" / "release" / "fcn")
    parser.add_argument("--models", type=pathlib.Path, default=REPOSITORY / ".build-bench" / "models",
                        help="where the .h5 and .onnx files are")
    parser.add_argument("--out", type=pathlib.Path, default=REPOSITORY / ".build-bench" / "side_by_side.json")
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated (default 1,2)")
    parser.add_argument("--only", help="models to run, comma-separated (lenet, alexnet, vgg16)")
    parser.add_argument("--runs", type=int, help="timed runs for every workload (default: per workload)")
    parser.add_argument("--rounds", type=int, default=8,
                        help="alternations of fcn and ORT the timed runs are shared among (default 8)")
    # The child process that takes one ORT measurement.
    parser.add_argument("--ort-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", type=pathlib.Path, help=argparse.SUPPRESS)
    parser.add_argument("--height", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--width", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.ort_child:
        arguments.threads = int(arguments.threads)
        ort_child(arguments)
        return 0

    fcn = arguments.fcn.absolute()
    threads = [int(value) for value in arguments.threads.split(",")]
    workloads = [w for w in WORKLOADS if not arguments.only or w.model in arguments.only.split(",")]
    work = arguments.out.parent / "side_by_side"
    work.mkdir(parents=True, exist_ok=True)
    meta = environment(fcn)
    meta["load_average_before"] = os.getloadavg()
    log(f"ONNX Runtime {meta['onnxruntime']}, fcn at {meta['commit']}"
        f"{' with uncommitted changes' if meta['uncommitted_changes'] else ''}, {meta['cpu']}, "
        f"load average {meta['load_average_before'][0]:.2f} before")

    rows, optimized, failures = [], {}, []
    for workload in workloads:
        model = arguments.models / f"{workload.model}.h5"
        onnx_model = model.with_suffix(".onnx")
        name = f"{DISPLAY_NAMES.get(workload.model, workload.model)} {workload.height}x{workload.width}"
        runs = arguments.runs or workload.runs

        # The optimized graph is saved once per model, to show what ORT made of it.
        optimized_path = work / f"{workload.model}.ort-optimized.onnx" if workload.model not in optimized else None
        started = time.perf_counter()
        check = check_outputs(fcn, model, onnx_model, workload, work, optimized_path)
        if optimized_path is not None:
            optimized[workload.model] = optimized_ops(optimized_path)
            optimized_path.unlink()
        error = check["max_rel_error"]
        log(f"{name}: fcn {check['fcn_shape']} vs ORT {check['ort_shape']} (NHWC), max rel error "
            f"{'n/a' if error is None else f'{error:.1e}'} ({time.perf_counter() - started:.0f} s)")
        if error is None or not error <= TOLERANCE:
            failures.append(f"{name}: outputs differ ({check})")

        for count in threads:
            fcn_result, ort_result = measure_alternately(fcn, model, onnx_model, workload, count, runs, arguments.rounds)
            grids = {tuple(fcn_result["grid"]), tuple(ort_result["grid"]), tuple(check["fcn_shape"][1:3]),
                     tuple(check["ort_shape"][1:3])}
            if len(grids) != 1:
                failures.append(f"{name}, {count} threads: grids differ {sorted(grids)}")
            row = {
                "workload": name, "model": workload.model, "input": [workload.height, workload.width],
                "threads": count, "runs": runs, "grid": fcn_result["grid"],
                "grid_text": "x".join(map(str, fcn_result["grid"])) if len(grids) == 1 else "MISMATCH",
                "fcn": fcn_result, "ort": ort_result, "ratio": fcn_result["median_ms"] / ort_result["median_ms"],
                "max_rel_error": error,
            }
            rows.append(row)
            log(f"  {count} thread{'s' if count > 1 else ''}: fcn {fcn_result['median_ms']:.1f} ms, "
                f"ORT {ort_result['median_ms']:.1f} ms ({row['ratio']:.2f})")

    meta["load_average_after"] = os.getloadavg()
    log(f"load average {meta['load_average_after'][0]:.2f} after")
    report = table(rows)
    print(report)
    for failure in failures:
        print(f"FAILED: {failure}")
    arguments.out.write_text(json.dumps({
        "environment": meta, "ort_optimized_graph_ops": optimized, "tolerance": TOLERANCE,
        "rows": rows, "table": report, "failures": failures,
    }, indent=2) + "\n")
    log(f"wrote {arguments.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
