import ArgumentParser
import FCNConvert
import FCNGeometry
import FCNModel
import FCNRuntime
import FCNVerification
import Foundation

/// `fcn bench`: how fast the fully convolutional form runs, and how much faster it is than
/// classifying every crop.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the fully convolutional form of a model on one input size.",
        discussion: """
            Prints the median time over --runs runs after one warm-up run, GFLOP/s (convolution FLOPs \
            2·Cin·Cout·k·k·Hout·Wout, and 2·in·out for dense layers), and the process's peak memory. \
            --patchwise also times the classifier on the crop behind every grid cell.

            Examples:
              fcn bench models/digits-lenet.h5 --input 240x360 --patchwise
              fcn bench vgg16.h5 --input 500x500 --threads 2 --profile --json
            """)

    @OptionGroup var modelArguments: ModelArguments
    @OptionGroup var conversion: ConversionArguments
    @OptionGroup var runtime: RuntimeArguments

    @Option(help: "The input size (HxW).")
    var input: Size2D

    @Option(help: "Timed runs after the warm-up.")
    var runs = 10

    @Flag(help: "Also time the classifier on every crop and print the FCN's speed-up over it.")
    var patchwise = false

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Also print the time and the kernel (with its instruction set) of each layer, the mean over the timed runs; with --json as its \"layers\".")
    var profile = false

    func validate() throws {
        guard (1...10_000).contains(runs) else { throw ValidationError("--runs must be between 1 and 10000.") }
    }

    func run() throws {
        var model: Model!
        var converted: Model!
        var executor: Executor!
        let startup = BenchResult.Startup(
            loadMs: try Stopwatch.milliseconds { model = try modelArguments.load() },
            convertMs: try Stopwatch.milliseconds { converted = try Convolutionalizer.convert(model, options: conversion.options) },
            prepareMs: try Stopwatch.milliseconds { executor = try runtime.executor(for: converted) })
        var random = SeededRandom(seed: 1)
        let image = try random.image(input, channels: model.network.inputShape.channels, budget: runtime.memoryBudget)
        let tensor = image.tensor(for: model.network)
        let output = try executor.outputShape(inputSize: input)
        let flops = try executor.flops(inputSize: input)
        _ = try executor.run(tensor)
        executor.isProfiling = profile
        var times: [Double] = []
        for _ in 0..<runs {
            times.append(try Stopwatch.milliseconds { _ = try executor.run(tensor) })
        }
        let median = times.sorted()[times.count / 2]
        let patchwiseResult = patchwise ? try timePatchwise(model: model, converted: converted.network, image: image, grid: output.spatial) : nil
        let layerProfile = profile
            ? LayerProfile(network: converted.network, paths: executor.layerPaths,
                           milliseconds: executor.layerMilliseconds.map { $0 / Double(runs) },
                           flops: try executor.layerFlops(inputSize: input))
            : nil
        let result = BenchResult(
            model: model.source.path, input: [input.height, input.width], grid: [output.spatial.height, output.spatial.width],
            threads: executor.threads, instructionSet: executor.instructionSet.rawValue, runs: runs,
            startup: startup, medianMs: median, minMs: times.min() ?? median, timesMs: times, flop: flops, gflops: flops / median / 1e6,
            peakMemoryBytes: PeakMemory.bytes(), patchwise: patchwiseResult.map {
                BenchResult.Patchwise(crops: $0.crops, totalMs: $0.total, perCropMs: $0.total / Double($0.crops),
                                      speedup: $0.total / median)
            },
            layers: layerProfile?.layers)
        if json {
            print(try JSONOutput.text(result))
        } else {
            print(result.text)
            if let layerProfile { print(layerProfile.text) }
        }
    }

    /// Runs the classifier on the crop behind every grid cell, once, after one warm-up crop.
    private func timePatchwise(model: Model, converted: Network, image: MapImage, grid: Size2D) throws -> (crops: Int, total: Double) {
        let classifier = try runtime.executor(for: model)
        let geometry = try NetworkGeometry(network: converted, inputSize: input)
        let size = model.network.inputShape.spatial
        let crops = (0..<grid.height).flatMap { row in (0..<grid.width).map { (row, $0) } }.compactMap { cell in
            geometry.box(row: cell.0, column: cell.1).map {
                image.crop(top: $0.rows.lowerBound, left: $0.columns.lowerBound, size: size).tensor(for: model.network)
            }
        }
        _ = try classifier.run(crops[0])
        let total = try Stopwatch.milliseconds { for crop in crops { _ = try classifier.run(crop) } }
        return (crops.count, total)
    }
}

/// What `fcn bench` measured; its JSON keys are stable.
struct BenchResult: Encodable {
    /// Wall times before the first run: reading the file, convolutionalizing, and preparing the
    /// executor (weights checked, packed and transformed).
    struct Startup: Encodable {
        let loadMs: Double
        let convertMs: Double
        let prepareMs: Double
    }

    struct Patchwise: Encodable {
        let crops: Int
        let totalMs: Double
        let perCropMs: Double
        let speedup: Double
    }

    let model: String
    let input: [Int]
    let grid: [Int]
    let threads: Int
    /// The instruction-set level the kernels ran at ("avx512", "avx2", "baseline").
    let instructionSet: String
    let runs: Int
    let startup: Startup
    let medianMs: Double
    let minMs: Double
    /// Every timed run, in order.
    let timesMs: [Double]
    let flop: Double
    let gflops: Double
    let peakMemoryBytes: Int
    let patchwise: Patchwise?
    /// With --profile: each layer's kernel and mean time.
    let layers: [LayerProfile.Layer]?

    var text: String {
        var lines = [
            "Model: \(model)",
            "Input \(input[0])×\(input[1]) → grid \(grid[0])×\(grid[1]), \(threads) thread\(threads == 1 ? "" : "s"), \(runs) runs, kernels at \(instructionSet)",
            String(format: "Median %.2f ms (min %.2f ms), %.2f GFLOP, %.1f GFLOP/s", medianMs, minMs, flop / 1e9, gflops),
            "Peak memory: \(peakMemoryBytes >> 20) MiB",
            String(format: "Start-up: load %.0f ms, convert %.0f ms, prepare %.0f ms",
                   startup.loadMs, startup.convertMs, startup.prepareMs),
        ]
        if let patchwise {
            lines.append(String(format: "Patchwise: %d crops in %.1f ms (%.2f ms each); the FCN is %.1f× faster",
                                patchwise.crops, patchwise.totalMs, patchwise.perCropMs, patchwise.speedup))
        }
        return lines.joined(separator: "\n")
    }
}

/// Where the time of one run goes, layer by layer, with the kernel each layer ran on.
struct LayerProfile {
    /// One layer of the profile, as `fcn bench --json --profile` writes it.
    struct Layer: Encodable {
        let name: String
        let kind: String
        /// The kernel and its instruction set, e.g. "gemm-packed avx512".
        let path: String
        let ms: Double
        let flop: Double
    }

    let network: Network
    let paths: [String]
    let milliseconds: [Double]
    let flops: [Double]

    var layers: [Layer] {
        network.layers.enumerated().map { index, layer in
            Layer(name: layer.name, kind: layer.operation.kind, path: paths[index], ms: milliseconds[index], flop: flops[index])
        }
    }

    var text: String {
        let total = milliseconds.reduce(0, +)
        var rows = [["layer", "kind", "path", "ms", "share", "GFLOP/s"]]
        for (index, layer) in network.layers.enumerated() {
            let time = milliseconds[index]
            rows.append([
                layer.name, layer.operation.kind, paths[index], String(format: "%.2f", time),
                String(format: "%.1f%%", total > 0 ? 100 * time / total : 0),
                flops[index] > 0 && time > 0 ? String(format: "%.1f", flops[index] / time / 1e6) : "-",
            ])
        }
        rows.append(["total", "", "", String(format: "%.2f", total), "", ""])
        return ([""] + TextTable.lines(rows, rightAligned: [3, 4, 5])).joined(separator: "\n")
    }
}

/// Wall-clock timing.
enum Stopwatch {
    static func milliseconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }
}

/// The process's peak resident memory, from Linux's `/proc/self/status` (VmHWM).
enum PeakMemory {
    static func bytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kilobytes * 1024
    }
}
