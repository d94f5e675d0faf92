import FCNGeometry
import FCNImage
import FCNModel
import FCNResults
import FCNRuntime
import FCNSlide
import FCNTensorIO
import Foundation

/// Class names from a labels file (one per line), or the indices when there is none.
struct ClassNames {
    let names: [String]?
    /// The labels file read, if any.
    let path: String?

    /// Reads `explicitPath`, or else `<model stem>-labels.txt` or `labels.txt` beside the model.
    init(explicitPath: String?, modelPath: String) throws {
        let model = URL(fileURLWithPath: modelPath)
        let stem = model.deletingPathExtension().lastPathComponent
        let candidates = explicitPath.map { [$0] } ?? [
            model.deletingLastPathComponent().appendingPathComponent("\(stem)-labels.txt").path,
            model.deletingLastPathComponent().appendingPathComponent("labels.txt").path,
        ]
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            if let explicitPath { throw HeatmapInputError(path: explicitPath, reason: "no such file") }
            names = nil
            self.path = nil
            return
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw HeatmapInputError(path: path, reason: "not UTF-8 text")
        }
        self.path = path
        names = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .reversed().drop { $0.isEmpty }.reversed()
    }

    func name(_ index: Int) -> String {
        guard let names, index < names.count, !names[index].isEmpty else { return String(index) }
        return names[index]
    }

    /// The index of a class given by number or name.
    func index(of requested: String, classes: Int) throws -> Int {
        if let index = Int(requested) {
            guard (0..<classes).contains(index) else {
                throw HeatmapInputError(path: "--class", reason: "class \(index) is out of range: the model has classes 0 to \(classes - 1)")
            }
            return index
        }
        guard let index = names?.firstIndex(of: requested), index < classes else {
            let known = names.map { $0.prefix(classes).joined(separator: ", ") } ?? "no labels file; use class numbers 0 to \(classes - 1)"
            throw HeatmapInputError(path: "--class", reason: "no class named '\(requested)'; known: \(known)")
        }
        return index
    }
}

/// A problem with one input of `fcn heatmap` (an image, the labels, a class, the output folder).
struct HeatmapInputError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "\(path): \(reason)" }
}

/// What one `fcn heatmap` run does to each image.
struct HeatmapJob {
    let model: Model
    let executor: Executor
    let names: ClassNames
    let requested: [String]
    let top: Int
    let preprocessing: Preprocessing
    let grayInput: Bool
    let resize: Int?
    let maximumPixels: Int
    let slideSettings: SlideSettings

    /// The channels of the network's output: its classes.
    private var classCount: Int { ((try? model.network.outputShapes())?.last?.channels) ?? 0 }

    /// Fails early, before any image, on a class the model does not have.
    func checkRequestedClasses() throws {
        for name in requested { _ = try names.index(of: name, classes: classCount) }
    }

    /// What processing one image staged: its files (named `<leaf>.…`), the manifest listing
    /// them, and the time each stage took.
    struct Staged {
        let files: [String]
        let manifest: Data
        let timingsMs: [String: Double]
    }

    /// Processes one image into `folder` (a staging folder), naming its files `<leaf>.…`;
    /// stops between classes when a signal asked to (`StopRequested`).
    func process(_ path: String, leaf stem: String, into folder: URL) throws -> Staged {
        if model.network.isSequence { return try processSequence(path, leaf: stem, into: folder) }
        if Slide.isSlide(path: path) { return try processSlide(path, leaf: stem, into: folder) }
        var timings: [String: Double] = [:]
        var original: PixelImage!
        timings["decode_ms"] = try Stopwatch.milliseconds { original = try PixelImage.read(path: path, maximumPixels: maximumPixels) }
        let image = resize.map { original.resized(shorterSide: $0) } ?? original!
        let network = model.network
        let minimum = network.inputShape.spatial
        guard image.size.height >= minimum.height, image.size.width >= minimum.width else {
            throw HeatmapInputError(path: path, reason: "the image is \(image.size) pixels\(resize == nil ? "" : " after resizing"), "
                              + "smaller than the model's minimum input \(minimum)")
        }
        let channels = try inputChannels(for: path)
        let input = preprocessing.input(from: image, channels: channels)
        var gridTensor: Tensor!
        timings["run_ms"] = try Stopwatch.milliseconds { gridTensor = try executor.run(input.tensor(for: network)) }
        let grid = MapImage(framework: gridTensor, format: network.dataFormat)
        let geometry = try NetworkGeometry(network: network, inputSize: image.size)
        guard let last = geometry.layers.last else { throw HeatmapInputError(path: path, reason: "the model has no layers") }
        let placement = CellPlacement(startY: last.vertical.start, startX: last.horizontal.start,
                                      jumpY: Double(last.vertical.jump), jumpX: Double(last.horizontal.jump))
        let peaks = (0..<grid.channels).map { Self.peak(of: $0, in: grid) }
        let chosen = requested.isEmpty
            ? Array(peaks.indices.sorted { peaks[$0].value > peaks[$1].value }.prefix(top))
            : try requested.map { try names.index(of: $0, classes: grid.channels) }
        let probabilities = Self.isProbability(network)
        let (low, high) = probabilities ? (Float(0), Float(1)) : (grid.values.min() ?? 0, grid.values.max() ?? 1)

        var written: [String] = []
        var entries: [HeatmapManifest.ClassEntry] = []
        let inputPerPixel = (Double(image.size.height) / Double(original.size.height), Double(image.size.width) / Double(original.size.width))
        timings["render_ms"] = try Stopwatch.milliseconds {
            for index in chosen {
                try StopRequested.check()
                let name = names.name(index)
                let safe = name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }
                let field = HeatmapRenderer.field(grid: grid, channel: index, placement: placement, size: original.size,
                                                  inputPerPixel: inputPerPixel)
                let heatmap = HeatmapRenderer.colored(field, size: original.size, low: low, high: high)
                let heatmapName = "\(stem).\(String(safe)).heatmap.png"
                let overlayName = "\(stem).\(String(safe)).overlay.png"
                try heatmap.writePNG(to: folder.appendingPathComponent(heatmapName).path)
                try HeatmapRenderer.overlay(heatmap, on: original).writePNG(to: folder.appendingPathComponent(overlayName).path)
                written += [heatmapName, overlayName]
                let peak = peaks[index]
                let centre = placement.centre(row: peak.row, column: peak.column)
                entries.append(HeatmapManifest.ClassEntry(
                    index: index, name: name, peakScore: peak.value, peakCell: [peak.row, peak.column],
                    peakPixel: [centre.y / inputPerPixel.0, centre.x / inputPerPixel.1], heatmap: heatmapName, overlay: overlayName))
            }
        }
        let gridName = "\(stem).grid.npy"
        try NumPyFile.write(gridTensor, to: folder.appendingPathComponent(gridName).path)
        let manifest = HeatmapManifest(
            model: model.source.path, image: path, imageSize: [original.size.height, original.size.width],
            inputSize: [image.size.height, image.size.width], preprocessing: preprocessing, grid: [grid.size.height, grid.size.width],
            stride: [last.vertical.jump, last.horizontal.jump], offset: [placement.startY, placement.startX],
            receptiveField: [last.vertical.receptiveField, last.horizontal.receptiveField],
            scale: HeatmapManifest.Scale(low: low, high: high, meaning: probabilities ? "softmax probability" : "raw score, min to max of the grid"),
            colorMap: "viridis", classes: entries, gridFile: gridName, timingsMs: timings,
            files: written + [gridName])
        return Staged(files: written + [gridName], manifest: try JSONOutput.data(manifest), timingsMs: timings)
    }

    /// The channels the network is fed from an image or slide: 1 (gray) or 3 (RGB), which must
    /// be the model's.
    func inputChannels(for path: String) throws -> Int {
        let network = model.network
        let channels = grayInput ? 1 : network.inputShape.channels
        guard channels == 1 || channels == 3 else {
            throw HeatmapInputError(path: path, reason: "the model takes \(channels) channels; images give 1 (gray) or 3 (RGB)")
        }
        guard channels == network.inputShape.channels else {
            throw HeatmapInputError(path: path, reason: "--gray makes 1 channel but the model takes \(network.inputShape.channels)")
        }
        return channels
    }

    private static func peak(of channel: Int, in grid: MapImage) -> (value: Float, row: Int, column: Int) {
        var best = (value: -Float.infinity, row: 0, column: 0)
        for row in 0..<grid.size.height {
            for column in 0..<grid.size.width {
                let value = grid.values[(row * grid.size.width + column) * grid.channels + channel]
                if value > best.value { best = (value, row, column) }
            }
        }
        return best
    }

    /// Whether the network ends in a softmax (scores are probabilities in [0, 1]).
    static func isProbability(_ network: Network) -> Bool {
        for layer in network.layers.reversed() {
            switch layer.operation {
            case .activation(let activation): return activation == .softmax
            case .convolution(let convolution): return convolution.activation == .softmax
            case .dense(let dense): return dense.activation == .softmax
            case .dropout, .reshape: continue
            case .pooling, .zeroPadding, .flatten, .batchNormalization, .globalPooling, .merge, .concatenate, .layerNormalization,
                 .channelAffine, .parametricReLU, .localResponseNormalization, .resize:
                return false
            }
        }
        return false
    }
}

/// The JSON written beside each image's pictures; keys documented in docs/heatmaps.md.
struct HeatmapManifest: Encodable {
    struct ClassEntry: Encodable {
        let index: Int
        let name: String
        let peakScore: Float
        let peakCell: [Int]
        let peakPixel: [Double]
        let heatmap: String
        let overlay: String
    }

    struct Scale: Encodable {
        let low: Float
        let high: Float
        let meaning: String
    }

    let model: String
    let image: String
    let imageSize: [Int]
    let inputSize: [Int]
    let preprocessing: Preprocessing
    let grid: [Int]
    let stride: [Int]
    let offset: [Double]
    let receptiveField: [Int]
    let scale: Scale
    let colorMap: String
    let classes: [ClassEntry]
    let gridFile: String
    let timingsMs: [String: Double]
    /// Every file of this image's result set but the manifest, relative to its folder; the
    /// result set is complete when all are present (docs/heatmaps.md).
    let files: [String]
}
