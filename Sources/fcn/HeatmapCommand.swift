import ArgumentParser
import FCNConvert
import FCNGeometry
import FCNImage
import FCNModel
import FCNResults
import FCNRuntime
import FCNTensorIO
import Foundation

/// `fcn heatmap`: class heatmaps for images, aligned with the pixels the network looked at.
struct HeatmapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heatmap",
        abstract: "Run a classifier as an FCN over images and write class heatmaps, overlays, the score grid and a manifest.",
        discussion: """
            For each image and class: <image>.<class>.heatmap.png and <image>.<class>.overlay.png, with a \
            legend strip (colour bar and its numbers, class, model, scale), and once per image \
            <image>.grid.npy and <image>.json (the manifest, with the scale's numbers). Each cell's \
            score sits at the centre of its receptive field, interpolated bilinearly between centres. \
            Preprocessing presets are described in docs/heatmaps.md.

            Examples:
              fcn heatmap models/digits-lenet.h5 models/demo-scene.png -o heatmaps --class 7
              fcn heatmap model.h5 photos/ --glob '*.jpg' -o out --top 3 --resume
              fcn heatmap logits.h5 scene.png -o out --class cat --scale per-class --colormap magma --output-size 720
            """)

    @OptionGroup var modelArguments: ModelArguments
    @OptionGroup var runtime: RuntimeArguments
    @OptionGroup var densityArguments: DensityArguments

    @Argument(help: "PNG or JPEG images, slides (SVS, NDPI, MRXS, tiled or striped TIFF, … recognised by content), or folders to walk for them (see --glob).")
    var images: [String]

    @Option(name: .shortAndLong, help: "The folder to write into (made if missing).")
    var output = "heatmaps"

    @Option(help: "Which files of a folder argument to take, matched against their path inside it; repeat for several (default: images, .npy sequences and slides; see docs/slides.md).")
    var glob: [String] = []

    @Option(help: "Take shard I of N (0 ≤ I < N) of the inputs: those at positions I, I+N, I+2N, … of the whole sorted list.")
    var shard: String?

    @Flag(help: "Replace results of an earlier run (by default the run refuses to start).")
    var overwrite = false

    @Flag(help: "Skip inputs whose results are complete (manifest and every file it lists present); redo the others.")
    var resume = false

    @Option(name: .customLong("class"), help: "A class to draw, by index or name; repeat for several (default: the --top classes).")
    var classes: [String] = []

    @Option(help: "Draw the K classes that win the most cells (highest score there), skipping a class labelled background; ties by peak score (default 3; not with --class).")
    var top: Int?

    @Option(parsing: .unconditional, help: "The colour scale: auto (probability for models ending in softmax, else per-class), probability (0 to 1), per-class (each class's own min to max), global (the whole grid's min to max), or LO,HI (e.g. -5,5).")
    var scale = "auto"

    @Option(help: "The colour map of heatmaps and overlays (docs/heatmaps.md compares them).")
    var colormap: ColorMap = .viridis

    @Option(help: "The heatmap's opacity in the overlays, 0 to 1.")
    var alpha: Float = HeatmapRenderer.defaultOpacity

    @Flag(help: "No legend strip under the heatmaps and overlays (pictures exactly the output size).")
    var noLegend = false

    @Option(help: "The pictures' longer side in pixels, \(PictureStyle.longerSideLimits.lowerBound) to \(PictureStyle.longerSideLimits.upperBound) (default: the image's own size, enlarged to \(PictureStyle.minimumLongerSide) when smaller).")
    var outputSize: Int?

    @Flag(help: "Do not write the score grid <image>.grid.npy (the manifest's grid_file is then null).")
    var noGrid = false

    @Option(help: "Class names, one per line (default: <model>-labels.txt or labels.txt beside the model).")
    var labels: String?

    @Option(help: "Preprocessing preset: raw, unit (x/255), caffe, tf, torch.")
    var preprocess: Preprocessing.Preset = .unit

    @Option(help: "Per-channel means to subtract after scaling, comma-separated (overrides the preset's).")
    var mean: String?

    @Option(help: "Per-channel standard deviations to divide by, comma-separated (overrides the preset's).")
    var std: String?

    @Flag(help: "Feed channels as BGR.")
    var bgr = false

    @Flag(help: "Convert images to gray (the model's channel count decides otherwise).")
    var gray = false

    @Option(help: "Resize each image so that its shorter side has this many pixels first.")
    var resize: Int?

    @Option(help: "Refuse images with more pixels than this.")
    var maxPixels = PixelImage.defaultMaximumPixels

    @Option(help: "Slides: the pyramid level to run on (default 0, full resolution).")
    var level: Int?

    @Option(help: "Slides: run on the level with this many microns per pixel (within 2 %; the slide must record its resolution).")
    var mpp: Double?

    @Option(help: "Slides: the longer side of the heatmap and overlay PNGs (0: none; the pyramidal TIFFs are always written).")
    var previewSize = 1024

    @Option(help: "Slides: compression of the heatmap pyramids: deflate (lossless) or jpeg.")
    var tiffCompression: TIFFCompression = .deflate

    @Flag(help: "Print one JSON line per input on stdout as it finishes (its index.jsonl entry: status, outputs, timings, error) instead of 'wrote' lines.")
    var json = false

    @Flag(name: .shortAndLong, help: "Print only errors: no progress bar, notes or 'wrote' lines (index.jsonl still lists every result).")
    var quiet = false

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("Give at least one image.") }
        if let top, top < 1 { throw ValidationError("--top must be at least 1.") }
        if top != nil, !classes.isEmpty {
            throw ValidationError("--class and --top both choose the classes to draw; give one of them.")
        }
        do { _ = try ColorScale(parsing: scale) } catch { throw ValidationError("\(error)") }
        guard alpha.isFinite, (0...1).contains(alpha) else {
            throw ValidationError("--alpha \(alpha): the overlay's opacity must be between 0 (image only) and 1 (heatmap only).")
        }
        if let outputSize, !PictureStyle.longerSideLimits.contains(outputSize) {
            throw ValidationError("--output-size \(outputSize): the pictures' longer side must be \(PictureStyle.longerSideLimits.lowerBound) to \(PictureStyle.longerSideLimits.upperBound) pixels.")
        }
        if overwrite, resume { throw ValidationError("--overwrite and --resume contradict each other; give one of them.") }
        if let shard {
            do { _ = try Shard(parsing: shard) } catch { throw ValidationError("\(error)") }
        }
        if let std, let values = Self.numbers(std), values.contains(where: { $0 <= 0 }) {
            throw ValidationError("--std \(std): standard deviations must be positive (they divide the pixel values).")
        }
        let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "npy", "svs", "tif", "tiff", "ndpi", "mrxs", "scn", "bif", "vms"]
        let modelExtensions: Set<String> = ["h5", "hdf5", "keras"]
        if imageExtensions.contains(Self.pathExtension(modelArguments.model)),
           let model = images.first(where: { modelExtensions.contains(Self.pathExtension($0)) }) {
            throw ValidationError("'\(modelArguments.model)' looks like an image and '\(model)' like a model: the model comes first (fcn heatmap MODEL IMAGE…).")
        }
        if let resize, resize < 1 { throw ValidationError("--resize must be positive.") }
        if let level, level < 0 { throw ValidationError("--level must be 0 or more.") }
        if let mpp, !(mpp > 0 && mpp.isFinite) { throw ValidationError("--mpp must be a positive number of microns per pixel.") }
        if level != nil, mpp != nil { throw ValidationError("--level and --mpp both choose the slide level; give one of them.") }
        guard (0...16_384).contains(previewSize) else { throw ValidationError("--preview-size must be between 0 and 16384.") }
        guard maxPixels >= 1 else { throw ValidationError("--max-pixels must be positive.") }
        for list in [mean, std].compactMap({ $0 }) where Self.numbers(list) == nil {
            throw ValidationError("'\(list)' is not a comma-separated list of numbers.")
        }
    }

    private static func pathExtension(_ path: String) -> String { URL(fileURLWithPath: path).pathExtension.lowercased() }

    static func numbers(_ text: String) -> [Float]? {
        let values = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        return values.isEmpty || values.contains(nil) ? nil : values.map { $0! }
    }

    func run() throws {
        StopSignal.install()
        Note.quiet = quiet
        let folder = try ResultFolder(path: output)
        let note = Note.print
        let inputs = try InputList.collect(images, patterns: glob.isEmpty ? InputList.defaultPatterns : glob, excluding: output, note: note)
        let share = try shard.map { try Shard(parsing: $0).share(of: inputs) } ?? inputs
        let (todo, skipped) = try folder.plan(share, policy: overwrite ? .overwrite : resume ? .resume : .refuse)

        let model = try modelArguments.load()
        let converted = try Convolutionalizer.convert(model)
        let density = densityArguments.value
        if !density.isSingle, converted.network.isSequence {
            throw HeatmapInputError(path: "--density", reason: "dense grids of 1-D classifiers are not supported yet; leave --density out")
        }
        let runner: HeatmapJob.Runner = density.isSingle ? .plain(try runtime.executor(for: converted))
                                                         : .dense(try runtime.denseExecutor(for: converted, density: density))
        let names = try ClassNames(explicitPath: labels, modelPath: modelArguments.model, recorded: model.source.classNames)
        try checkCounts(of: converted.network, names: names)
        let requested = classes.reduce(into: [String]()) { kept, name in
            if kept.contains(name) { note("--class \(name) is given more than once; drawn once") } else { kept.append(name) }
        }
        var progress = ProgressBar(total: todo.count, enabled: !quiet)
        var current = (position: 0, label: "")
        let slideSettings = SlideSettings(
            level: level, micronsPerPixel: mpp, previewSize: previewSize, jpegPyramids: tiffCompression == .jpeg,
            memoryBudget: runtime.memoryBudget,
            report: { line in progress.update(done: current.position, label: "\(current.label): \(line)") })
        let job = HeatmapJob(
            model: converted, runner: runner, names: names, requested: requested, top: top ?? 3,
            style: PictureStyle(colorMap: colormap, scale: try ColorScale(parsing: scale), opacity: alpha,
                                legend: !noLegend, longerSide: outputSize),
            writeGrid: !noGrid,
            preprocessing: preprocessing, grayInput: gray, resize: resize, maximumPixels: maxPixels, slideSettings: slideSettings)
        try job.checkRequestedClasses()

        if let signal = StopSignal.requested { try stop(signal, finished: 0, of: todo.count) }
        let created = try folder.create()
        let index = BatchIndex(folder: output)
        /// Each input's line goes to the index, and with --json to stdout as it is decided.
        func record(_ entry: BatchIndex.Entry) throws {
            try index.append(entry)
            if json { FileHandle.standardOutput.write(BatchIndex.line(entry)) }
        }
        for input in skipped {
            try record(BatchIndex.Entry(input: input.path, result: input.name, status: .skipped,
                                        outputs: folder.outputs(of: input.name) ?? [],
                                        timingsMs: [:], error: nil))
        }
        if !skipped.isEmpty { note("\(skipped.count) of \(share.count) inputs already have complete results (--resume); skipped") }
        var finished = 0
        var failures: [any Error] = []
        for (position, input) in todo.enumerated() {
            if let signal = StopSignal.requested { try stop(signal, finished: finished, of: todo.count) }
            current = (position, URL(fileURLWithPath: input.path).lastPathComponent)
            progress.update(done: position, label: current.label)
            do {
                let staging = try folder.stage()
                let staged = try job.process(input.path, leaf: input.leaf, into: URL(fileURLWithPath: staging.path))
                try StopRequested.check()
                let outputs = try folder.commit(staging, name: input.name, files: staged.files, manifest: staged.manifest)
                progress.clear()
                try record(BatchIndex.Entry(input: input.path, result: input.name, status: .ok, outputs: outputs,
                                            timingsMs: staged.timingsMs, error: nil))
                finished += 1
                // Written straight to the descriptor, so a pipe sees each line as its image finishes.
                if !quiet, !json { FileHandle.standardOutput.write(Data("\(input.path): wrote \(outputs.joined(separator: ", "))\n".utf8)) }
            } catch let stopped as StopRequested {
                progress.clear()
                try stop(stopped.signal, finished: finished, of: todo.count)
            } catch {
                progress.clear()
                failures.append(error)
                try record(BatchIndex.Entry(input: input.path, result: input.name, status: .failed, outputs: [],
                                            timingsMs: [:], error: "\(error)"))
                if todo.count > 1 { FileHandle.standardError.write(Data("Error: \(error)\n".utf8)) }
            }
        }
        progress.finish()
        if let signal = StopSignal.requested { try stop(signal, finished: finished, of: todo.count) }
        if created, finished == 0, skipped.isEmpty { Self.removeIndexAlone(in: folder) }
        if todo.count == 1, let only = failures.first { throw only }
        if !failures.isEmpty { throw HeatmapFailures(failed: failures.count, total: todo.count, folder: output) }
    }

    /// Refuses --mean/--std lists and labels files whose lengths do not match the model.
    private func checkCounts(of network: Network, names: ClassNames) throws {
        let channels = gray ? 1 : network.inputShape.channels
        for (option, list) in [("--mean", mean), ("--std", std)] {
            guard let list, let count = Self.numbers(list)?.count, count != 1, count != channels else { continue }
            throw HeatmapInputError(path: "\(option) \(list)", reason: "\(count) values but the model takes \(channels) channel\(channels == 1 ? "" : "s"); give one value, or one per channel")
        }
        try names.checkCount(classes: (try? network.outputShapes())?.last?.channels ?? 0)
    }

    /// Ends the run after a stop request with one line on what is finished, exiting 128 + signal.
    private func stop(_ signal: Int32, finished: Int, of total: Int) throws -> Never {
        let rest = total - finished
        FileHandle.standardError.write(Data((
            "Stopped by \(StopSignal.name(of: signal)): \(finished) of \(total) images finished, their results complete in \(output); "
            + "\(rest) not written (no partial files left); run again with --resume to finish\n").utf8))
        throw ExitCode(StopSignal.exitStatus(for: signal))
    }

    /// Removes the output folder this run made when it holds only this run's failure lines,
    /// so a failed run leaves nothing behind.
    private static func removeIndexAlone(in folder: ResultFolder) {
        guard (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) == [BatchIndex.fileName] else { return }
        unlink(BatchIndex(folder: folder.path).path)
        folder.removeIfEmpty()
    }

    private var preprocessing: Preprocessing {
        var result = Preprocessing(preset: preprocess)
        if let mean { result.mean = Self.numbers(mean)! }
        if let std { result.std = Self.numbers(std)! }
        if bgr { result.bgr = true }
        return result
    }
}

extension Preprocessing.Preset: ExpressibleByArgument {}
extension ColorMap: ExpressibleByArgument {}

/// `--tiff-compression`.
enum TIFFCompression: String, ExpressibleByArgument {
    case deflate, jpeg
}

/// The error `fcn heatmap` exits with when some of several images failed.
struct HeatmapFailures: Error, CustomStringConvertible {
    let failed: Int
    let total: Int
    let folder: String
    var description: String {
        failed == total
            ? "all \(total) images failed (see above); nothing was written"
            : "\(failed) of \(total) images failed (see above); "
                + (total - failed == 1 ? "the other one was written to \(folder)" : "the other \(total - failed) were written to \(folder)")
    }
}
