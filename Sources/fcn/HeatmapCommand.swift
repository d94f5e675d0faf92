import ArgumentParser
import FCNConvert
import FCNGeometry
import FCNImage
import FCNModel
import FCNRuntime
import FCNTensorIO
import Foundation

/// `fcn heatmap`: class heatmaps for images, aligned with the pixels the network looked at.
struct HeatmapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heatmap",
        abstract: "Run a classifier as an FCN over images and write class heatmaps, overlays, the score grid and a manifest.",
        discussion: """
            For each image and class: <image>.<class>.heatmap.png (viridis; the scale is in the manifest), \
            <image>.<class>.overlay.png, and once per image <image>.grid.npy and <image>.json. Each cell's \
            score sits at the centre of its receptive field, interpolated bilinearly between centres. \
            Preprocessing presets are described in docs/heatmaps.md.
            """)

    @OptionGroup var modelArguments: ModelArguments
    @OptionGroup var runtime: RuntimeArguments

    @Argument(help: "PNG or JPEG images.")
    var images: [String]

    @Option(name: .shortAndLong, help: "The folder to write into (made if missing).")
    var output = "heatmaps"

    @Option(name: .customLong("class"), help: "A class to draw, by index or name; repeat for several (default: the --top classes).")
    var classes: [String] = []

    @Option(help: "Draw the K classes with the highest peak score.")
    var top = 3

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

    @Flag(help: "No progress bar.")
    var quiet = false

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("Give at least one image.") }
        guard top >= 1 else { throw ValidationError("--top must be at least 1.") }
        if let resize, resize < 1 { throw ValidationError("--resize must be positive.") }
        guard maxPixels >= 1 else { throw ValidationError("--max-pixels must be positive.") }
        for list in [mean, std].compactMap({ $0 }) where Self.numbers(list) == nil {
            throw ValidationError("'\(list)' is not a comma-separated list of numbers.")
        }
    }

    static func numbers(_ text: String) -> [Float]? {
        let values = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        return values.isEmpty || values.contains(nil) ? nil : values.map { $0! }
    }

    func run() throws {
        let model = try modelArguments.load()
        let converted = try Convolutionalizer.convert(model)
        let executor = try runtime.executor(for: converted)
        let names = try ClassNames(explicitPath: labels, modelPath: modelArguments.model)
        let job = HeatmapJob(
            model: converted, executor: executor, names: names, requested: classes, top: top,
            preprocessing: preprocessing, grayInput: gray, resize: resize, maximumPixels: maxPixels, outputFolder: output)
        try job.prepareOutputFolder()
        try job.checkRequestedClasses()
        var progress = ProgressBar(total: images.count, enabled: !quiet)
        var failures: [String] = []
        for (index, image) in images.enumerated() {
            progress.update(done: index, label: URL(fileURLWithPath: image).lastPathComponent)
            do {
                let written = try job.process(image)
                progress.clear()
                print("\(image): wrote \(written.joined(separator: ", "))")
            } catch {
                progress.clear()
                failures.append("\(error)")
                FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            }
        }
        progress.finish()
        if !failures.isEmpty {
            throw HeatmapFailures(failed: failures.count, total: images.count)
        }
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

/// The error `fcn heatmap` exits with when some images failed; the others were written.
struct HeatmapFailures: Error, CustomStringConvertible {
    let failed: Int
    let total: Int
    var description: String { "\(failed) of \(total) images failed (see above); the others were written" }
}
