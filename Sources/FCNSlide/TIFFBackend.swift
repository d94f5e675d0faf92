import CTIFFIO
import Foundation

/// A plain tiled or striped (Big)TIFF read through libtiff: directory 0 is level 0, and
/// later directories marked as reduced-resolution copies of it are the coarser levels.
/// Each tile or strip is decoded whole; the blocks one read decoded are kept for the next,
/// which overlaps it when the runtime walks the image in bands.
final class TIFFBackend: SlideBackend {
    let format = "libtiff"
    let levels: [SlideLevel]
    let micronsPerPixel: (x: Double, y: Double)?
    let background: UInt32 = 0xFF_FFFF
    private let path: String
    private let handle: OpaquePointer
    /// Per level: its directory and block size.
    private let layout: [(directory: Int, blockWidth: Int, blockHeight: Int)]
    private var selected = -1
    /// The blocks the last read decoded, by (level, block row, block column): RGB, block-sized.
    private var cache: [BlockKey: [UInt8]] = [:]

    private struct BlockKey: Hashable {
        let level: Int
        let row: Int
        let column: Int
    }

    /// The largest tile or strip decoded at once: 2²⁴ pixels (64 MiB as libtiff's RGBA).
    static let maximumBlockPixels = 1 << 24

    init(path: String) throws(SlideError) {
        var message = [CChar](repeating: 0, count: 256)
        guard let handle = fcn_tiff_open(path, "r", &message) else {
            throw .unreadable(path: path, reason: Self.text(message))
        }
        self.path = path
        self.handle = handle
        var levels: [SlideLevel] = []
        var layout: [(Int, Int, Int)] = []
        var resolution: (x: Double, y: Double)?
        for directory in 0..<max(1, fcn_tiff_directory_count(handle)) {
            var info = fcn_tiff_info()
            guard fcn_tiff_select(handle, Int32(directory), &info, &message) == 0 else {
                if directory == 0 {
                    fcn_tiff_close(handle, &message)
                    throw .unreadable(path: path, reason: Self.text(message))
                }
                break
            }
            let (width, height) = (Int(info.width), Int(info.height))
            if directory == 0 {
                let perMicron: Double? = switch info.resolution_unit {
                case 2: 1 / 25_400
                case 3: 1 / 10_000
                default: nil
                }
                if let perMicron, info.x_resolution > 0, info.y_resolution > 0 {
                    resolution = (1 / (info.x_resolution * perMicron), 1 / (info.y_resolution * perMicron))
                }
            } else if info.subfile_type & 1 == 0 || width >= levels[0].width {
                continue
            }
            guard width > 0, height > 0 else { continue }
            guard Int(info.block_width) * Int(info.block_height) <= Self.maximumBlockPixels else {
                if directory == 0 {
                    fcn_tiff_close(handle, &message)
                    throw .blocksTooLarge(path: path, width: Int(info.block_width), height: Int(info.block_height))
                }
                continue
            }
            let downsample = levels.first.map { Double($0.width) / Double(width) } ?? 1
            levels.append(SlideLevel(width: width, height: height, downsample: downsample))
            layout.append((Int(directory), Int(info.block_width), Int(info.block_height)))
        }
        self.levels = levels
        self.layout = layout
        micronsPerPixel = resolution
    }

    deinit {
        var message = [CChar](repeating: 0, count: 256)
        fcn_tiff_close(handle, &message)
    }

    func read(level: Int, top: Int, left: Int, height: Int, width: Int, into rgb: UnsafeMutablePointer<UInt8>) throws(SlideError) {
        let (directory, blockWidth, blockHeight) = layout[level]
        let size = levels[level]
        var message = [CChar](repeating: 0, count: 256)
        if selected != directory {
            var info = fcn_tiff_info()
            guard fcn_tiff_select(handle, Int32(directory), &info, &message) == 0 else {
                throw .unreadable(path: path, reason: Self.text(message))
            }
            selected = directory
        }
        var used: [BlockKey: [UInt8]] = [:]
        for blockRow in (top / blockHeight)...((top + height - 1) / blockHeight) {
            for blockColumn in (left / blockWidth)...((left + width - 1) / blockWidth) {
                let key = BlockKey(level: level, row: blockRow, column: blockColumn)
                var block: [UInt8]
                if let cached = cache[key] {
                    block = cached
                } else {
                    block = [UInt8](repeating: 0, count: blockWidth * blockHeight * 3)
                    let status = block.withUnsafeMutableBufferPointer {
                        fcn_tiff_read_block(handle, UInt32(blockColumn * blockWidth), UInt32(blockRow * blockHeight), $0.baseAddress,
                                            background, &message)
                    }
                    guard status == 0 else { throw .unreadable(path: path, reason: Self.text(message)) }
                }
                // The part of this block inside the region.
                let rows = max(top, blockRow * blockHeight)..<min(top + height, (blockRow + 1) * blockHeight, size.height)
                let columns = max(left, blockColumn * blockWidth)..<min(left + width, (blockColumn + 1) * blockWidth, size.width)
                block.withUnsafeBufferPointer { block in
                    for y in rows {
                        let source = ((y - blockRow * blockHeight) * blockWidth + columns.lowerBound - blockColumn * blockWidth) * 3
                        let target = ((y - top) * width + columns.lowerBound - left) * 3
                        (rgb + target).update(from: block.baseAddress! + source, count: columns.count * 3)
                    }
                }
                used[key] = block
            }
        }
        cache = used
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
