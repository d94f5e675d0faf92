import FCNGeometry
import FCNImage
import FCNModel
import FCNResults
import FCNRuntime
import FCNSlide
import Foundation

/// What `fcn heatmap` does with slide inputs beyond what it does with images.
struct SlideSettings {
    /// `--level`, `--mpp`: which level the network runs on (default level 0).
    var level: Int?
    var micronsPerPixel: Double?
    /// `--preview-size`: the longer side of the heatmap and overlay PNGs; 0 for none.
    var previewSize: Int
    /// `--tiff-compression jpeg` (default deflate) for the heatmap pyramids.
    var jpegPyramids: Bool
    /// `--max-memory`, in bytes, for the streaming run.
    var memoryBudget: Int
    /// Called with one line of progress per region (the command draws it).
    var report: (String) -> Void
}

/// `fcn heatmap` for whole-slide images and large TIFFs: the slide is read region by region
/// at the chosen level and run by `Executor.runStreaming`; the grid goes straight to disk.
/// Outputs: `<leaf>.grid.npy` (1, H, W, K) float32, per class a pyramidal TIFF
/// `<leaf>.<class>.heatmap.tif` aligned with the slide and, with a preview size, heatmap and
/// overlay PNGs; the manifest maps every cell to level-0 slide pixels (docs/slides.md).
extension HeatmapJob {
    func processSlide(_ path: String, leaf stem: String, into folder: URL) throws -> Staged {
        guard case .plain(let executor) = runner else {
            throw HeatmapInputError(path: path, reason: "--density is not supported on slides yet; leave it out for slides")
        }
        var timings: [String: Double] = [:]
        let slide = try Slide(path: path)
        let level = try slide.chooseLevel(level: slideSettings.level, micronsPerPixel: slideSettings.micronsPerPixel)
        let levelInfo = slide.levels[level]
        let size = Size2D(height: levelInfo.height, width: levelInfo.width)
        let network = model.network
        let minimum = network.inputShape.spatial
        guard size.height >= minimum.height, size.width >= minimum.width else {
            throw HeatmapInputError(path: path, reason: "level \(level) is \(size) pixels, smaller than the model's minimum input \(minimum)")
        }
        let channels = try inputChannels(for: path)
        let geometry = try NetworkGeometry(network: network, inputSize: size)
        guard let last = geometry.layers.last else { throw HeatmapInputError(path: path, reason: "the model has no layers") }
        let output = try executor.outputShape(inputSize: size)
        let grid = output.spatial
        let placement = CellPlacement(startY: last.vertical.start, startX: last.horizontal.start,
                                      jumpY: Double(last.vertical.jump), jumpX: Double(last.horizontal.jump))

        let gridName = "\(stem).grid.npy"
        let sink = try SlideGridSink(path: folder.appendingPathComponent(gridName).path, size: grid, classes: output.channels)
        let source = SlideRegionSource(slide: slide, level: level, preprocessing: preprocessing, channels: channels)
        let megapixels = Double(size.height) * Double(size.width) / 1e6
        let started = DispatchTime.now().uptimeNanoseconds
        let stats: StreamingStats
        do {
            stats = try executor.runStreaming(
                source: source, sink: sink, maxMemory: slideSettings.memoryBudget,
                progress: { progress in
                    slideSettings.report(Self.progressLine(progress, megapixels: megapixels, started: started))
                },
                shouldStop: { StopSignal.requested != nil })
        } catch ExecutionError.stopped {
            throw StopRequested(signal: StopSignal.requested ?? SIGTERM)
        }
        timings["run_ms"] = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
        let probabilities = Self.isProbability(network)
        let (low, high) = probabilities ? (Float(0), Float(1)) : (sink.low.isFinite ? sink.low : 0, sink.high.isFinite ? sink.high : 1)
        let ranking = ClassRanking(sink.tally)
        let chosen = try chosenClasses(ranking: ranking, classes: output.channels)

        // Slide level-0 pixels per pixel of the level the network ran on.
        let downsample = levelInfo.downsample
        let mpp = slide.micronsPerPixel
        let pyramidSize = Size2D(height: (size.height + last.vertical.jump - 1) / last.vertical.jump,
                                 width: (size.width + last.horizontal.jump - 1) / last.horizontal.jump)
        let pyramidScale = (y: Double(size.height) / Double(pyramidSize.height), x: Double(size.width) / Double(pyramidSize.width))
        let preview = Self.previewSize(of: size, longerSide: slideSettings.previewSize)
        let thumbnail = try preview.map { try slide.thumbnail(size: $0) }
        var files: [String] = []
        var entries: [SlideManifest.ClassEntry] = []
        timings["render_ms"] = try Stopwatch.milliseconds {
            for index in chosen {
                try StopRequested.check()
                let name = names.name(index)
                let safe = ClassNames.fileSafe(name)
                let pyramidName = "\(stem).\(safe).heatmap.tif"
                try HeatmapPyramid.write(
                    to: folder.appendingPathComponent(pyramidName).path, grid: sink.file, channel: index, placement: placement,
                    size: pyramidSize, inputPerPixel: pyramidScale, low: low, high: high,
                    micronsPerPixel: mpp.map { $0.x * downsample * pyramidScale.x },
                    description: "FCNKit heatmap of class \(index) (\(name)) for \(URL(fileURLWithPath: path).lastPathComponent); 0-255 = \(low)-\(high)",
                    jpeg: slideSettings.jpegPyramids)
                files.append(pyramidName)
                var pictures: (heatmap: String, overlay: String)?
                if let preview, let thumbnail {
                    let field = try HeatmapRenderer.field(
                        grid: sink.file, channel: index, placement: placement, size: preview,
                        inputPerPixel: (Double(size.height) / Double(preview.height), Double(size.width) / Double(preview.width)),
                        rows: 0..<preview.height)
                    // The slide's previews use the grid's one range (as its pyramids do) and the default colour map.
                    let range = ScoreRange(low: low, high: high > low ? high : low + 1)
                    let heatmap = HeatmapRenderer.colored(field, size: preview, range: range, colorMap: .viridis)
                    let names = (heatmap: "\(stem).\(safe).heatmap.png", overlay: "\(stem).\(safe).overlay.png")
                    try heatmap.writePNG(to: folder.appendingPathComponent(names.heatmap).path)
                    try HeatmapRenderer.overlay(heatmap, on: thumbnail).writePNG(to: folder.appendingPathComponent(names.overlay).path)
                    files += [names.heatmap, names.overlay]
                    pictures = names
                }
                let peak = (row: ranking.peakCells[index] / grid.width, column: ranking.peakCells[index] % grid.width)
                let centre = placement.centre(row: peak.row, column: peak.column)
                entries.append(SlideManifest.ClassEntry(
                    index: index, name: name, peakScore: ranking.peaks[index], peakCell: [peak.row, peak.column],
                    peakLevel0Pixel: [downsample * (centre.y + 0.5) - 0.5, downsample * (centre.x + 0.5) - 0.5],
                    pyramid: pyramidName, heatmap: pictures?.heatmap, overlay: pictures?.overlay))
            }
        }
        files.append(gridName)
        let transform = SlideManifest.Transform(placement: placement, downsample: downsample, micronsPerPixel: mpp)
        let manifest = SlideManifest(
            model: model.source.path, slide: path, format: slide.format,
            levels: slide.levels.map { SlideManifest.Level(width: $0.width, height: $0.height, downsample: $0.downsample) },
            level: level, downsample: downsample, levelSize: [size.height, size.width],
            micronsPerPixel: mpp.map { [$0.y, $0.x] }, background: String(format: "%06x", slide.background),
            preprocessing: preprocessing, grid: [grid.height, grid.width, output.channels],
            stride: [last.vertical.jump, last.horizontal.jump], offset: [placement.startY, placement.startX],
            receptiveField: [last.vertical.receptiveField, last.horizontal.receptiveField],
            cellToLevel0: transform, cellsWithoutScore: sink.nanCells,
            pyramid: SlideManifest.Pyramid(levels: HeatmapPyramid.levelSizes(pyramidSize).map { [$0.height, $0.width] },
                                           level0PixelsPerPixel: [downsample * pyramidScale.y, downsample * pyramidScale.x],
                                           values: "0-255 = scale.low-scale.high, 0 also where a cell has no score",
                                           compression: slideSettings.jpegPyramids ? "jpeg" : "deflate"),
            scale: HeatmapManifest.Scale(low: low, high: high, meaning: probabilities ? "softmax probability" : "raw score, min to max of the grid"),
            colorMap: "viridis", classes: entries, gridFile: gridName,
            streaming: SlideManifest.Streaming(regions: stats.regions, bands: stats.bands, columnStrips: stats.columnStrips,
                                               plannedBytes: stats.plannedBytes),
            timingsMs: timings, files: files)
        return Staged(files: files, manifest: try JSONOutput.data(manifest), timingsMs: timings)
    }

    /// The preview's size: the level scaled so that its longer side is `longerSide` (nil for 0).
    static func previewSize(of size: Size2D, longerSide: Int) -> Size2D? {
        guard longerSide > 0 else { return nil }
        let factor = min(1, Double(longerSide) / Double(max(size.height, size.width)))
        return Size2D(height: max(1, Int((Double(size.height) * factor).rounded())), width: max(1, Int((Double(size.width) * factor).rounded())))
    }

    /// "regions 12/240, 35.2 Mpx/s, ETA 1m12s".
    static func progressLine(_ progress: StreamingProgress, megapixels: Double, started: UInt64) -> String {
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let fraction = Double(progress.cellsDone) / Double(max(progress.cellsTotal, 1))
        let rate = seconds > 0 ? megapixels * fraction / seconds : 0
        let remaining = fraction > 0 ? seconds * (1 - fraction) / fraction : 0
        return "regions \(progress.regionsDone)/\(progress.regionsTotal), \(String(format: "%.1f", rate)) Mpx/s, ETA \(ProgressBar.duration(remaining))"
    }
}

/// The JSON written beside a slide's results; keys documented in docs/slides.md.
struct SlideManifest: Encodable {
    struct Level: Encodable {
        let width: Int
        let height: Int
        let downsample: Double
    }

    /// Cell (row i, column j) → the centre of its receptive field in level-0 slide pixels
    /// (pixel centres at integer coordinates): x = x.scale · j + x.offset, y = y.scale · i + y.offset;
    /// `matrix` is the same as a 2×3 affine taking (j, i, 1) to (x, y), and `micronsMatrix`
    /// takes (j, i, 1) to microns from the slide's top-left pixel centre when the slide has mpp.
    struct Transform: Encodable {
        struct Axis: Encodable {
            let scale: Double
            let offset: Double
        }

        let x: Axis
        let y: Axis
        let matrix: [[Double]]
        let micronsMatrix: [[Double]]?

        init(placement: CellPlacement, downsample: Double, micronsPerPixel: (x: Double, y: Double)?) {
            let x = Axis(scale: downsample * placement.jumpX, offset: downsample * (placement.startX + 0.5) - 0.5)
            let y = Axis(scale: downsample * placement.jumpY, offset: downsample * (placement.startY + 0.5) - 0.5)
            (self.x, self.y) = (x, y)
            matrix = [[x.scale, 0, x.offset], [0, y.scale, y.offset]]
            micronsMatrix = micronsPerPixel.map { mpp in
                [[x.scale * mpp.x, 0, x.offset * mpp.x], [0, y.scale * mpp.y, y.offset * mpp.y]]
            }
        }
    }

    struct Pyramid: Encodable {
        let levels: [[Int]]
        /// Slide level-0 pixels per level-0 pixel of the heatmap pyramid, (y, x).
        let level0PixelsPerPixel: [Double]
        let values: String
        let compression: String
    }

    struct Streaming: Encodable {
        let regions: Int
        let bands: Int
        let columnStrips: Int
        let plannedBytes: Int
    }

    struct ClassEntry: Encodable {
        let index: Int
        let name: String
        let peakScore: Float
        let peakCell: [Int]
        /// The peak cell's centre in level-0 slide pixels, (y, x).
        let peakLevel0Pixel: [Double]
        let pyramid: String
        let heatmap: String?
        let overlay: String?
    }

    let model: String
    let slide: String
    let format: String
    let levels: [Level]
    let level: Int
    let downsample: Double
    let levelSize: [Int]
    /// Microns per level-0 pixel, (y, x).
    let micronsPerPixel: [Double]?
    let background: String
    let preprocessing: Preprocessing
    let grid: [Int]
    let stride: [Int]
    let offset: [Double]
    let receptiveField: [Int]
    let cellToLevel0: Transform
    let cellsWithoutScore: Int
    let pyramid: Pyramid
    let scale: HeatmapManifest.Scale
    let colorMap: String
    let classes: [ClassEntry]
    let gridFile: String
    let streaming: Streaming
    let timingsMs: [String: Double]
    /// The result set's files but the manifest (docs/heatmaps.md, "Result sets").
    let files: [String]
}
