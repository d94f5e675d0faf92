import COpenSlide
import Foundation

/// A slide read through OpenSlide, which returns premultiplied ARGB; pixels are composited
/// on the slide's background colour as OpenSlide's documentation says viewers should.
final class OpenSlideBackend: SlideBackend {
    let format: String
    let levels: [SlideLevel]
    let micronsPerPixel: (x: Double, y: Double)?
    let background: UInt32
    private let path: String
    private let handle: OpaquePointer

    init(path: String, vendor: String) throws(SlideError) {
        guard let handle = openslide_open(path) else { throw .unsupportedFormat(path: path) }
        self.path = path
        self.handle = handle
        format = "openslide:\(vendor)"
        if let error = openslide_get_error(handle) {
            let reason = String(cString: error)
            openslide_close(handle)
            throw .unreadable(path: path, reason: reason)
        }
        var levels: [SlideLevel] = []
        for level in 0..<max(0, openslide_get_level_count(handle)) {
            var width: Int64 = -1
            var height: Int64 = -1
            openslide_get_level_dimensions(handle, level, &width, &height)
            let downsample = openslide_get_level_downsample(handle, level)
            guard width > 0, height > 0, width < 1 << 31, height < 1 << 31, downsample >= 1 else { continue }
            levels.append(SlideLevel(width: Int(width), height: Int(height), downsample: downsample))
        }
        self.levels = levels
        func property(_ name: String) -> String? { openslide_get_property_value(handle, name).map { String(cString: $0) } }
        // OpenSlide 3.4 leaves openslide.mpp-x unset for generic TIFF; its resolution tags then say it.
        let micronsPerUnit: Double? = switch property("tiff.ResolutionUnit") {
        case "centimeter": 10_000
        case "inch": 25_400
        default: nil
        }
        func microns(_ axis: String) -> Double? {
            if let mpp = property("openslide.mpp-\(axis.lowercased())").flatMap(Double.init) { return mpp }
            guard let micronsPerUnit, let perUnit = property("tiff.\(axis)Resolution").flatMap(Double.init) else { return nil }
            return micronsPerUnit / perUnit
        }
        if let x = microns("X"), let y = microns("Y"), x > 0, y > 0, x.isFinite, y.isFinite {
            micronsPerPixel = (x, y)
        } else {
            micronsPerPixel = nil
        }
        background = property("openslide.background-color").flatMap { UInt32($0, radix: 16) }.map { $0 & 0xFF_FFFF } ?? 0xFF_FFFF
        guard !levels.isEmpty else {
            openslide_close(handle)
            throw .unreadable(path: path, reason: "OpenSlide finds no level with a valid size")
        }
    }

    deinit { openslide_close(handle) }

    func read(level: Int, top: Int, left: Int, height: Int, width: Int, into rgb: UnsafeMutablePointer<UInt8>) throws(SlideError) {
        var argb = [UInt32](repeating: 0, count: height * width)
        // OpenSlide places regions by their top-left corner in level-0 pixels.
        let downsample = levels[level].downsample
        let x = Int64((Double(left) * downsample).rounded())
        let y = Int64((Double(top) * downsample).rounded())
        openslide_read_region(handle, &argb, x, y, Int32(level), Int64(width), Int64(height))
        if let error = openslide_get_error(handle) { throw .unreadable(path: path, reason: String(cString: error)) }
        let back = [background >> 16 & 0xFF, background >> 8 & 0xFF, background & 0xFF]
        for index in 0..<(height * width) {
            let pixel = argb[index]
            let transparency = 255 - (pixel >> 24)
            for channel in 0..<3 {
                let value = (pixel >> UInt32(16 - 8 * channel) & 0xFF) + (back[channel] * transparency + 127) / 255
                rgb[index * 3 + channel] = UInt8(min(value, 255))
            }
        }
    }
}
