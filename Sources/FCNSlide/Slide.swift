import COpenSlide
import Foundation

/// One resolution of a slide: its size in pixels and how many level-0 pixels one of its
/// pixels spans along each axis (OpenSlide's downsample).
public struct SlideLevel: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let downsample: Double

    public init(width: Int, height: Int, downsample: Double) {
        self.width = width
        self.height = height
        self.downsample = downsample
    }
}

/// Reads regions of one pyramid level as 8-bit RGB; the two implementations are OpenSlide's
/// and libtiff's.
protocol SlideBackend: AnyObject {
    var format: String { get }
    var levels: [SlideLevel] { get }
    /// Microns per level-0 pixel (x, y), when the file records them.
    var micronsPerPixel: (x: Double, y: Double)? { get }
    /// 0xRRGGBB, what transparent pixels are composited on.
    var background: UInt32 { get }
    /// Fills `rgb` ((height, width, 3), rows top to bottom) with the region of `level` whose
    /// top-left pixel is (`top`, `left`); the region lies inside the level.
    func read(level: Int, top: Int, left: Int, height: Int, width: Int, into rgb: UnsafeMutablePointer<UInt8>) throws(SlideError)
}

/// A whole-slide image or large TIFF, opened by its content: OpenSlide for the formats it
/// recognises (Aperio SVS, Hamamatsu, MIRAX, Leica, Ventana, generic tiled TIFF, …), libtiff
/// for other tiled or striped (Big)TIFF files. Nothing is decoded until a region is asked for.
public final class Slide {
    public let path: String
    /// "openslide:<vendor>" or "libtiff".
    public var format: String { backend.format }
    /// Level 0 (full resolution) first.
    public var levels: [SlideLevel] { backend.levels }
    /// Microns per level-0 pixel (x, y), when the file records them.
    public var micronsPerPixel: (x: Double, y: Double)? { backend.micronsPerPixel }
    /// The colour (0xRRGGBB) that transparent and unscanned pixels are composited on: the
    /// slide's `openslide.background-color`, else white.
    public var background: UInt32 { backend.background }
    private let backend: any SlideBackend

    /// The most pixels one `readRGB` may return (256 MiB of RGB).
    public static let maximumRegionPixels = 1 << 26

    /// Opens `path`: through OpenSlide when it recognises the file, else through libtiff when
    /// it is a TIFF, else refuses.
    public init(path: String) throws(SlideError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw .missing(path: path)
        }
        self.path = path
        if let vendor = openslide_detect_vendor(path) {
            backend = try OpenSlideBackend(path: path, vendor: String(cString: vendor))
        } else if Self.hasTIFFSignature(path) {
            backend = try TIFFBackend(path: path)
        } else {
            throw .unsupportedFormat(path: path)
        }
        // Bands of whole rows are read at once (thumbnails, regions): a row must fit a read.
        guard let widest = backend.levels.map(\.width).max(), widest <= SlideRegionSource.chunkPixels else {
            throw .unreadable(path: path, reason: "a level is wider than \(SlideRegionSource.chunkPixels) pixels, more than FCNKit reads")
        }
    }

    /// Whether the file starts like a TIFF or BigTIFF (either byte order), or like a format
    /// only OpenSlide reads; what `fcn heatmap` uses to send an input down the slide path.
    public static func isSlide(path: String) -> Bool {
        openslide_detect_vendor(path) != nil || hasTIFFSignature(path)
    }

    static func hasTIFFSignature(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 4)) ?? Data())
        return [[0x49, 0x49, 0x2A, 0x00], [0x4D, 0x4D, 0x00, 0x2A], [0x49, 0x49, 0x2B, 0x00], [0x4D, 0x4D, 0x00, 0x2B]].contains(head)
    }

    /// The region of `level` whose top-left pixel is (`top`, `left`), `height` × `width`
    /// pixels, as RGB ((height, width, 3), rows top to bottom). Parts outside the level are the
    /// background colour.
    ///
    /// - Precondition: `level` is a level of the slide; the sizes are positive and at most
    ///   `maximumRegionPixels` pixels in all.
    public func readRGB(level: Int, top: Int, left: Int, height: Int, width: Int) throws(SlideError) -> [UInt8] {
        precondition(levels.indices.contains(level), "no level \(level)")
        precondition(height > 0 && width > 0 && height * width <= Self.maximumRegionPixels, "region of \(height)×\(width) pixels")
        let size = levels[level]
        var rgb = [UInt8](repeating: 0, count: height * width * 3)
        let inside = (rows: max(top, 0)..<min(top + height, size.height), columns: max(left, 0)..<min(left + width, size.width))
        if inside.rows.count < height || inside.columns.count < width {
            for index in 0..<(height * width) {
                rgb[index * 3] = UInt8(background >> 16 & 0xFF)
                rgb[index * 3 + 1] = UInt8(background >> 8 & 0xFF)
                rgb[index * 3 + 2] = UInt8(background & 0xFF)
            }
        }
        guard !inside.rows.isEmpty, !inside.columns.isEmpty else { return rgb }
        if inside.rows.count == height, inside.columns.count == width {
            try rgb.withUnsafeMutableBufferPointer { (buffer) throws(SlideError) in
                try backend.read(level: level, top: top, left: left, height: height, width: width, into: buffer.baseAddress!)
            }
            return rgb
        }
        let part = try readRGB(level: level, top: inside.rows.lowerBound, left: inside.columns.lowerBound,
                               height: inside.rows.count, width: inside.columns.count)
        for (row, y) in inside.rows.enumerated() {
            let target = ((y - top) * width + inside.columns.lowerBound - left) * 3
            rgb[target..<(target + inside.columns.count * 3)] = part[(row * inside.columns.count * 3)..<((row + 1) * inside.columns.count * 3)]
        }
        return rgb
    }
}
