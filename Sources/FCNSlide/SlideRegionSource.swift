import FCNImage
import FCNModel
import FCNRuntime

/// One level of a slide as the network's input: regions read from the slide as RGB and
/// preprocessed exactly as `fcn heatmap` preprocesses an image (`Preprocessing.input`).
public final class SlideRegionSource: RegionSource {
    public let slide: Slide
    public let level: Int
    public let preprocessing: Preprocessing
    public let channels: Int
    public var height: Int { slide.levels[level].height }
    public var width: Int { slide.levels[level].width }

    /// The most pixels decoded and converted at once within one `read` (1 Mi), which bounds the
    /// temporaries of a read whatever region the runtime asks for.
    static let chunkPixels = 1 << 20

    /// - Precondition: `level` is one of the slide's; `channels` is 1 (gray by luma) or 3.
    public init(slide: Slide, level: Int, preprocessing: Preprocessing, channels: Int) {
        precondition(slide.levels.indices.contains(level) && (channels == 1 || channels == 3), "bad level or channels")
        (self.slide, self.level, self.preprocessing, self.channels) = (slide, level, preprocessing, channels)
    }

    public func read(rows: Range<Int>, columns: Range<Int>, into target: UnsafeMutableBufferPointer<Float>) throws {
        precondition(target.count == rows.count * columns.count * channels, "target of the wrong size")
        let chunkRows = max(1, Self.chunkPixels / columns.count)
        for top in stride(from: rows.lowerBound, to: rows.upperBound, by: chunkRows) {
            let height = min(chunkRows, rows.upperBound - top)
            let pixels = try slide.readRGB(level: level, top: top, left: columns.lowerBound, height: height, width: columns.count)
            let image = PixelImage(size: Size2D(height: height, width: columns.count), channels: 3, pixels: pixels)
            let input = preprocessing.input(from: image, channels: channels)
            input.values.withUnsafeBufferPointer { values in
                (target.baseAddress! + (top - rows.lowerBound) * columns.count * channels).update(from: values.baseAddress!, count: values.count)
            }
        }
    }
}

extension Slide {
    /// The level `fcn heatmap` runs on: `level` when given (checked), else for `micronsPerPixel`
    /// the coarsest level at least as fine as it, which must be within 2 % of it (no resampling),
    /// else level 0.
    public func chooseLevel(level: Int?, micronsPerPixel target: Double?) throws(SlideError) -> Int {
        if let level {
            guard levels.indices.contains(level) else { throw .levelOutOfRange(path: path, level: level, levels: levels.count) }
            return level
        }
        guard let target else { return 0 }
        guard let mpp = micronsPerPixel else { throw .noResolution(path: path) }
        let perLevel = levels.map { mpp.x * $0.downsample }
        let tolerance = 0.02
        guard let best = perLevel.indices.filter({ perLevel[$0] <= target * (1 + tolerance) }).max(by: { perLevel[$0] < perLevel[$1] }),
              perLevel[best] >= target * (1 - tolerance) else {
            throw .noLevel(path: path, mpp: target, available: perLevel)
        }
        return best
    }

    /// The slide scaled to `size` (each pixel the mean of the pixels it covers), read band by
    /// band from the coarsest level at least `size` large, so memory stays bounded for any slide.
    public func thumbnail(size: Size2D) throws(SlideError) -> PixelImage {
        let level = levels.indices.last { levels[$0].width >= size.width && levels[$0].height >= size.height } ?? 0
        let source = levels[level]
        var sums = [UInt32](repeating: 0, count: size.height * size.width * 3)
        var counts = [UInt32](repeating: 0, count: size.height * size.width)
        let bandRows = max(1, SlideRegionSource.chunkPixels / source.width)
        let targetColumn = (0..<source.width).map { min(size.width - 1, $0 * size.width / source.width) }
        for top in stride(from: 0, to: source.height, by: bandRows) {
            let height = min(bandRows, source.height - top)
            let rgb = try readRGB(level: level, top: top, left: 0, height: height, width: source.width)
            for y in 0..<height {
                let row = min(size.height - 1, (top + y) * size.height / source.height)
                for x in 0..<source.width {
                    let cell = row * size.width + targetColumn[x]
                    counts[cell] += 1
                    for channel in 0..<3 { sums[cell * 3 + channel] += UInt32(rgb[(y * source.width + x) * 3 + channel]) }
                }
            }
        }
        let pixels = sums.indices.map { UInt8((sums[$0] + counts[$0 / 3] / 2) / max(counts[$0 / 3], 1)) }
        return PixelImage(size: size, channels: 3, pixels: pixels)
    }
}
