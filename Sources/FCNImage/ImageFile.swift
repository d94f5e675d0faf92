import FCNDiagnostics
import CImageCodecs
import FCNModel
import FCNTensorIO
import Foundation

/// Why an image could not be read or written.
public enum ImageError: Error, Equatable, CustomStringConvertible {
    case missing(path: String)
    case notAnImage(path: String)
    case unreadable(path: String, reason: String)
    /// More pixels than the reader's limit (`PixelImage.read(path:maximumPixels:)`).
    case tooLarge(path: String, size: Size2D, limit: Int)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let path): return "\(path): no such file"
        case .notAnImage(let path): return "\(path): not a PNG or JPEG image, nor a slide or TIFF that OpenSlide or libtiff reads"
        case .unreadable(let path, let reason): return "\(path): cannot read the image: \(reason)"
        case .tooLarge(let path, let size, let limit):
            return "\(path): the image is \(size.width)x\(size.height) pixels, more than the limit of \(limit) pixels"
        case .unwritable(let path, let reason): return "\(path): cannot write the image: \(reason)"
        }
    }
}

/// An 8-bit image: gray (1 channel) or RGB (3), rows top to bottom, channels interleaved.
public struct PixelImage: Sendable, Equatable {
    public let size: Size2D
    public let channels: Int
    public let pixels: [UInt8]

    public init(size: Size2D, channels: Int, pixels: [UInt8]) {
        precondition(pixels.count == size.height * size.width * channels, "pixels do not fill the image")
        self.size = size
        self.channels = channels
        self.pixels = pixels
    }

    /// The default limit on decoded images: 100 megapixels (300 MB of RGB).
    public static let defaultMaximumPixels = 100_000_000

    /// Reads the PNG or JPEG at `path` (8- or 16-bit, gray, RGB, paletted, with or without
    /// alpha; alpha is dropped), refusing images of more than `maximumPixels` pixels.
    public static func read(path: String, maximumPixels: Int = defaultMaximumPixels) throws(ImageError) -> PixelImage {
        switch InputFileProblem.of(path) {
        case nil: break
        case .missing?: throw .missing(path: path)
        case let problem?: throw .unreadable(path: path, reason: problem.description)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .unreadable(path: path, reason: "permission denied") }
        let head = [UInt8]((try? handle.read(upToCount: 8)) ?? Data())
        try? handle.close()
        let decode: (UnsafePointer<CChar>, Int64, UnsafeMutablePointer<fcn_image>, UnsafeMutablePointer<CChar>) -> Int32
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            decode = fcn_decode_png
        } else if head.starts(with: [0xFF, 0xD8, 0xFF]) {
            decode = fcn_decode_jpeg
        } else {
            throw .notAnImage(path: path)
        }
        var image = fcn_image()
        var message = [CChar](repeating: 0, count: 256)
        switch decode(path, Int64(maximumPixels), &image, &message) {
        case 0: break
        case FCN_IMAGE_TOO_LARGE:
            throw .tooLarge(path: path, size: Size2D(height: Int(image.height), width: Int(image.width)), limit: maximumPixels)
        default: throw .unreadable(path: path, reason: Self.text(message))
        }
        defer { fcn_image_free(&image) }
        let size = Size2D(height: Int(image.height), width: Int(image.width))
        let stored = Int(image.channels)
        let kept = stored >= 3 ? 3 : 1
        let count = size.height * size.width
        var pixels = [UInt8](repeating: 0, count: count * kept)
        for index in 0..<count {
            for channel in 0..<kept { pixels[index * kept + channel] = image.pixels[index * stored + channel] }
        }
        return PixelImage(size: size, channels: kept, pixels: pixels)
    }

    /// The text of a NUL-terminated C message buffer.
    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// libpng's message, which `AtomicFile` passes on as the reason of its `WriteError`.
    private struct EncoderFailure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// Writes the image as a PNG at `path`, atomically.
    public func writePNG(to path: String) throws(ImageError) {
        do {
            try AtomicFile.write(to: path) { temporary in
                var message = [CChar](repeating: 0, count: 256)
                let status = pixels.withUnsafeBufferPointer { buffer in
                    fcn_encode_png(temporary, buffer.baseAddress, Int32(size.width), Int32(size.height), Int32(channels), &message)
                }
                if status != 0 { throw EncoderFailure(message: Self.text(message)) }
            }
        } catch {
            throw .unwritable(path: path, reason: error.reason)
        }
    }
}
