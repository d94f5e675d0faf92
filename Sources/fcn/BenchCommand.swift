import ArgumentParser
import FCNConvert
import FCNDensity
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
            --patchwise also times the classifier on the crop behind every grid cell. --density F also times \
            the dense grid by filter rarefaction (one pass) and by shift-and-stitch (F_h·F_w shifted runs), \
            against the plain run.

            Examples:
              fcn bench models/digits-lenet.h5 --input 240x360 --patchwise
              fcn bench vgg16.h5 --input 500x500 --threads 2 --profile --json
              fcn bench vgg16.h5 --input 500x500 --density 2
            """)

    @OptionGroup var modelArguments: ModelArguments
    @OptionGroup var conversion: ConversionArguments
    @OptionGroup var runtime: RuntimeArguments
    @OptionGroup var densityArguments: DensityArguments

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
            convertMs: try Stopwatch.milliseconds {
                try DenseExecutor.checkConversion(of: model.network, options: conversion.options, density: densityArguments.value)
                converted = try Convolutionalizer.convert(model, options: conversion.options)
            },
            prepareMs: try Stopwatch.milliseconds { executor = try runtime.executor(for: converted) })
        var random = SeededRandom(seed: 1)
        let image = try random.image(input, channels: model.network.inputShape.channels, budget: runtime.memoryBudget)
        let tensor = image.tensor(for: model.network)
        let output = try executor.outputShape(inputSize: input)
        let (threads, instructionSet) = (executor.threads, executor.instructionSet.rawValue)
        let flops = try executor.flops(inputSize: input)
        _ = try executor.run(tensor)
        executor.isProfiling = profile
        let (times, median, minimum) = try Stopwatch.runs(runs) { _ = try executor.run(tensor) }
        let layerMilliseconds = executor.layerMilliseconds
        let layerFlops = try executor.layerFlops(inputSize: input)
        let paths = executor.layerPaths
        let denseResult = try densityArguments.density.map { density in
            executor = nil  // its prepared weights go before the rarefied network's are made
            return try timeDensity(density, model: converted, image: image, singleMs: median)
        }
        let patchwiseResult = patchwise ? try timePatchwise(model: model, converted: converted.network, image: image, grid: output.spatial) : nil
        let layerProfile = profile
            ? LayerProfile(network: converted.network, paths: paths,
                           milliseconds: layerMilliseconds.map { $0 / Double(runs) }, flops: layerFlops)
            : nil
        let result = BenchResult(
            model: model.source.path, input: [input.height, input.width], grid: [output.spatial.height, output.spatial.width],
            threads: threads, instructionSet: instructionSet, runs: runs,
            startup: startup, medianMs: median, minMs: minimum, timesMs: times, flop: flops, gflops: flops / median / 1e6,
            peakMemoryBytes: PeakMemory.bytes(), patchwise: patchwiseResult.map {
                BenchResult.Patchwise(crops: $0.crops, totalMs: $0.total, perCropMs: $0.total / Double($0.crops),
                                      speedup: $0.total / median)
            },
            layers: layerProfile?.layers, density: denseResult?.0)
        if json {
            print(try JSONOutput.text(result))
        } else {
            print(result.text)
            if let layerProfile { print(layerProfile.text) }
            if let denseProfile = denseResult?.1 { print("\nThe rarefied network:" + denseProfile.text) }
        }
    }

    /// Times the dense grid at `density`: the rarefied network (median of --runs after a warm-up)
    /// and shift-and-stitch (its F_h·F_w shifted runs, once after a warm-up), each with its own executor.
    private func timeDensity(_ density: Density, model: Model, image: MapImage, singleMs: Double) throws -> (BenchResult.Dense, LayerProfile?) {
        var dense: DenseExecutor? = try runtime.denseExecutor(for: model, density: density)
        let map = try dense!.run(image)
        guard case .rarefied(let layers)? = dense!.lastMethod else { throw ValidationError("--density 1 has nothing to compare") }
        dense!.isProfiling = profile
        let (_, median, minimum) = try Stopwatch.runs(runs) { _ = try dense!.run(image) }
        let rarefied = try dense!.rarefiedNetwork(inputSize: input).network
        let layerProfile = profile
            ? LayerProfile(network: rarefied, paths: dense!.layerPaths, milliseconds: dense!.layerMilliseconds.map { $0 / Double(runs) },
                           flops: try dense!.layerFlops(inputSize: input))
            : nil
        dense = nil
        let stitching = try runtime.denseExecutor(for: model, density: density)
        _ = try stitching.runShiftAndStitch(image)
        let stitchedMs = try Stopwatch.milliseconds { _ = try stitching.runShiftAndStitch(image) }
        return (BenchResult.Dense(
            density: [density.rows, density.columns], grid: [map.size.height, map.size.width], rarefiedLayers: layers,
            medianMs: median, minMs: minimum, timesSingle: median / singleMs,
            shiftAndStitchMs: stitchedMs, timesShiftAndStitch: median / stitchedMs,
            separateRunsEstimateMs: singleMs * Double(density.rows * density.columns), layers: layerProfile?.layers), layerProfile)
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

    /// With --density: the dense grid by filter rarefaction and by shift-and-stitch.
    struct Dense: Encodable {
        let density: [Int]
        let grid: [Int]
        /// The layers whose stride the rarefied network reduced.
        let rarefiedLayers: [String]
        let medianMs: Double
        let minMs: Double
        /// The rarefied median over the plain run's median.
        let timesSingle: Double
        /// One shift-and-stitch (F_h·F_w runs on shifted inputs), after a warm-up.
        let shiftAndStitchMs: Double
        /// The rarefied median over the shift-and-stitch time.
        let timesShiftAndStitch: Double
        /// F_h·F_w times the plain run's median: what separate runs would take at best.
        let separateRunsEstimateMs: Double
        /// With --profile: the rarefied network's layers, kernels and mean times.
        let layers: [LayerProfile.Layer]?
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
    let density: Dense?

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
        if let density {
            let factor = density.density[0] == density.density[1] ? "\(density.density[0])" : "\(density.density[0])x\(density.density[1])"
            lines.append(String(format: "Density %@ → grid %d×%d (rarefied: %@): median %.2f ms (min %.2f ms), %.2f× the plain run",
                                factor, density.grid[0], density.grid[1], density.rarefiedLayers.joined(separator: ", "),
                                density.medianMs, density.minMs, density.timesSingle))
            lines.append(String(format: "Shift-and-stitch (%d runs): %.2f ms, so rarefaction takes %.2f× its time (F² separate runs at the plain time: %.2f ms)",
                                density.density[0] * density.density[1], density.shiftAndStitchMs, density.timesShiftAndStitch,
                                density.separateRunsEstimateMs))
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

    /// The times of `runs` runs of `body` (after the warm-up the caller did), with their median
    /// and minimum, in milliseconds.
    static func runs(_ runs: Int, _ body: () throws -> Void) rethrows -> (times: [Double], median: Double, minimum: Double) {
        var times: [Double] = []
        for _ in 0..<runs { times.append(try milliseconds(body)) }
        let median = times.sorted()[times.count / 2]
        return (times, median, times.min() ?? median)
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
