import FCNDensity
import FCNGeometry
import FCNImage
import FCNModel
import FCNResults
import FCNRuntime
import FCNSlide
import FCNTensorIO
import Foundation

/// A problem with one input of `fcn heatmap` or `fcn convert` (an image, the labels, a class, the output folder).
struct HeatmapInputError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "\(path): \(reason)" }
}

/// What one `fcn heatmap` run does to each image.
struct HeatmapJob {
    /// What computes the score grid.
    enum Runner {
        /// The network's own grid.
        case plain(Executor)
        /// With --density above 1: the dense grid, in one pass of the rarefied network.
        case dense(DenseExecutor)
    }

    let model: Model
    let runner: Runner
    let names: ClassNames
    let requested: [String]
    let top: Int
    let style: PictureStyle
    /// Whether to write the score grid (`<leaf>.grid.npy`; off with --no-grid).
    let writeGrid: Bool
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
        timings["decode_ms"] = try Stopwatch.milliseconds {
            do {
                original = try PixelImage.read(path: path, maximumPixels: maximumPixels)
            } catch ImageError.tooLarge(_, let size, let limit) {
                throw HeatmapInputError(path: path, reason: "the image is \(size.width)x\(size.height) pixels, more than --max-pixels \(limit); "
                                        + "raise the limit (decoding takes 3 bytes per pixel) or give a smaller image")
            }
        }
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
        let grid: MapImage
        let axes: (vertical: AxisGeometry, horizontal: AxisGeometry)
        switch runner {
        case .dense(let dense):
            var map: MapImage!
            timings["run_ms"] = try Stopwatch.milliseconds { map = try dense.run(input) }
            let denseGrid = try dense.grid(inputSize: image.size)
            (grid, gridTensor, axes) = (map, map.framework(network.dataFormat), (denseGrid.vertical, denseGrid.horizontal))
        case .plain(let executor):
            timings["run_ms"] = try Stopwatch.milliseconds { gridTensor = try executor.run(input.tensor(for: network)) }
            grid = MapImage(framework: gridTensor, format: network.dataFormat)
            let geometry = try NetworkGeometry(network: network, inputSize: image.size)
            guard let last = geometry.layers.last else { throw HeatmapInputError(path: path, reason: "the model has no layers") }
            axes = (last.vertical, last.horizontal)
        }
        let placement = CellPlacement(startY: axes.vertical.start, startX: axes.horizontal.start,
                                      jumpY: Double(axes.vertical.jump), jumpX: Double(axes.horizontal.jump))
        let ranking = ClassRanking(values: grid.values, classes: grid.channels)
        let chosen = try chosenClasses(ranking: ranking, classes: grid.channels)
        let probabilities = Self.isProbability(network)
        let scale = style.scale.resolved(probabilities: probabilities)

        var written: [String] = []
        var entries: [HeatmapManifest.ClassEntry] = []
        let base = original.resized(by: style.pictureFactor(for: original.size))
        let inputPerPixel = (Double(image.size.height) / Double(base.size.height), Double(image.size.width) / Double(base.size.width))
        let imagePerInput = (Double(original.size.height) / Double(image.size.height), Double(original.size.width) / Double(image.size.width))
        let caption = HeatmapLegend.caption(modelFile: URL(fileURLWithPath: model.source.path).lastPathComponent, scale: scale)
        timings["render_ms"] = try Stopwatch.milliseconds {
            for index in chosen {
                try StopRequested.check()
                let name = names.name(index)
                let safe = ClassNames.fileSafe(name)
                let field = HeatmapRenderer.field(grid: grid, channel: index, placement: placement, size: base.size,
                                                  inputPerPixel: inputPerPixel)
                let range = scale.range(ofClass: index, in: grid)
                let pictures = style.pictures(field: field, on: base, range: range,
                                              title: HeatmapLegend.title(classIndex: index, name: name), caption: caption)
                let heatmapName = "\(stem).\(safe).heatmap.png"
                let overlayName = "\(stem).\(safe).overlay.png"
                try pictures.heatmap.writePNG(to: folder.appendingPathComponent(heatmapName).path)
                try pictures.overlay.writePNG(to: folder.appendingPathComponent(overlayName).path)
                written += [heatmapName, overlayName]
                let peak = (row: ranking.peakCells[index] / grid.size.width, column: ranking.peakCells[index] % grid.size.width)
                let centre = placement.centre(row: peak.row, column: peak.column)
                entries.append(HeatmapManifest.ClassEntry(
                    index: index, name: name, cellShare: ranking.shares[index], peakScore: ranking.peaks[index], peakCell: [peak.row, peak.column],
                    peakPixel: [centre.y * imagePerInput.0, centre.x * imagePerInput.1], scale: [range.low, range.high],
                    heatmap: heatmapName, overlay: overlayName))
            }
        }
        let gridName = writeGrid ? "\(stem).grid.npy" : nil
        if let gridName { try NumPyFile.write(gridTensor, to: folder.appendingPathComponent(gridName).path) }
        let files = written + [gridName].compactMap { $0 }
        let manifest = HeatmapManifest(
            model: model.source.path, image: path, imageSize: [original.size.height, original.size.width],
            inputSize: [image.size.height, image.size.width], pictureSize: [base.size.height, base.size.width],
            legend: style.legend, preprocessing: preprocessing, grid: [grid.size.height, grid.size.width],
            stride: [axes.vertical.jump, axes.horizontal.jump], offset: [placement.startY, placement.startX],
            receptiveField: [axes.vertical.receptiveField, axes.horizontal.receptiveField],
            density: runner.density,
            scale: HeatmapManifest.ScaleUsed(mode: scale.description, requested: style.scale.description,
                                             meaning: Self.meaning(of: scale, probabilities: probabilities)),
            colorMap: style.colorMap.rawValue, alpha: style.opacity, classes: entries, gridFile: gridName, timingsMs: timings,
            files: files)
        return Staged(files: files, manifest: try JSONOutput.data(manifest), timingsMs: timings)
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

    /// The classes to draw: those asked for with --class, else the --top best by `ranking`.
    func chosenClasses(ranking: ClassRanking, classes: Int) throws -> [Int] {
        guard requested.isEmpty else { return try requested.map { try names.index(of: $0, classes: classes) } }
        return ranking.top(top, name: names.name)
    }

    /// What the ends of the colour bar mean under `scale`, for the manifest.
    private static func meaning(of scale: ColorScale, probabilities: Bool) -> String {
        let scores = probabilities ? "softmax probability" : "raw score (logit)"
        switch scale {
        case .auto, .probability: return "\(scores), 0 to 1"
        case .perClass: return "\(scores), each class's own minimum to maximum over the grid"
        case .global: return "\(scores), minimum to maximum of the whole grid, shared by all classes"
        case .fixed: return "\(scores), the range given with --scale"
        }
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

extension HeatmapJob.Runner {
    /// The density of the grid it makes, (rows, columns).
    var density: [Int] {
        switch self {
        case .plain: return [1, 1]
        case .dense(let dense): return [dense.density.rows, dense.density.columns]
        }
    }
}

/// The JSON written beside each image's pictures; keys documented in docs/heatmaps.md.
struct HeatmapManifest: Encodable {
    struct ClassEntry: Encodable {
        let index: Int
        let name: String
        /// The fraction of grid cells whose highest score is this class's (what --top ranks by).
        let cellShare: Double
        let peakScore: Float
        let peakCell: [Int]
        let peakPixel: [Double]
        /// The scores at the colour bar's ends, [low, high].
        let scale: [Float]
        let heatmap: String
        let overlay: String
    }

    struct Scale: Encodable {
        let low: Float
        let high: Float
        let meaning: String
    }

    /// The colour scale the pictures use: `mode` is what `requested` (--scale) resolved to;
    /// each class's numbers are in its entry.
    struct ScaleUsed: Encodable {
        let mode: String
        let requested: String
        let meaning: String
    }

    let model: String
    let image: String
    let imageSize: [Int]
    let inputSize: [Int]
    /// The pictures' size without the legend, [height, width].
    let pictureSize: [Int]
    let legend: Bool
    let preprocessing: Preprocessing
    let grid: [Int]
    let stride: [Int]
    let offset: [Double]
    let receptiveField: [Int]
    /// Output cells per cell of the network's own grid, (rows, columns); `stride` is the jump over it.
    let density: [Int]
    let scale: ScaleUsed
    let colorMap: String
    /// The heatmap's opacity in the overlays.
    let alpha: Float
    let classes: [ClassEntry]
    /// The score grid's file, or null with --no-grid.
    @NullWhenAbsent var gridFile: String?
    let timingsMs: [String: Double]
    /// Every file of this image's result set but the manifest, relative to its folder; the
    /// result set is complete when all are present (docs/heatmaps.md).
    let files: [String]
}
