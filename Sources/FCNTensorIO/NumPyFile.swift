import FCNModel
import Foundation

/// Why a `.npy` file could not be read or written.
public enum NumPyError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notNumPy(path: String)
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    case unsupported(path: String, what: String)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "\(path): cannot read (\(reason))"
        case .notNumPy(let path):
            return "\(path): not a NumPy .npy file (no \\x93NUMPY signature)"
        case .truncated(let path, let expected, let actual):
            return "\(path): truncated: the header promises \(expected) bytes of data, the file has \(actual)"
        case .unsupported(let path, let what):
            return "\(path): \(what); FCNKit reads little-endian float32 arrays in C order "
                + "(in NumPy: np.ascontiguousarray(x, dtype='<f4'))"
        case .unwritable(let path, let reason):
            return "\(path): cannot write (\(reason))"
        }
    }
}

/// NumPy's `.npy` format, versions 1 to 3, for little-endian float32 arrays in C order.
public enum NumPyFile {
    private static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// Reads the array at `path`.
    public static func read(path: String) throws(NumPyError) -> Tensor {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .unreadable(path: path, reason: "no such file")
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable(path: path, reason: isDirectory.boolValue ? "it is a directory" : "permission denied")
        }
        return try decode([UInt8](data), path: path)
    }

    /// Decodes the bytes of a `.npy` file; `path` is only used in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws(NumPyError) -> Tensor {
        let (shape, dataStart) = try decodeHeader(bytes, path: path)
        let (count, overflow) = shape.reduce((1, false)) { partial, dimension in
            let product = partial.0.multipliedReportingOverflow(by: dimension)
            return (product.partialValue, partial.1 || product.overflow)
        }
        // Checked before any multiplication by 4 can overflow.
        guard !overflow, count <= (bytes.count - dataStart) / 4 else {
            let expected = overflow || count > (Int.max - dataStart) / 4 ? Int.max : dataStart + count * 4
            throw .truncated(path: path, expectedBytes: expected, actualBytes: bytes.count)
        }
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBytes { target in
            bytes.withUnsafeBytes { source in
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[dataStart..<(dataStart + count * 4)]))
            }
        }
        return Tensor(shape: shape, values: values)
    }

    /// The shape a `.npy` file's header declares (float32, C order, else refused) and where its
    /// data starts, from the file's first bytes (at least the whole header).
    public static func decodeHeader(_ bytes: [UInt8], path: String) throws(NumPyError) -> (shape: [Int], dataStart: Int) {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw .notNumPy(path: path) }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw .truncated(path: path, expectedBytes: 12, actualBytes: bytes.count) }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw .unsupported(path: path, what: "format version \(major)")
        }
        let dataStart = headerStart + headerLength
        guard bytes.count >= dataStart else {
            throw .truncated(path: path, expectedBytes: dataStart, actualBytes: bytes.count)
        }
        let header = String(decoding: bytes[headerStart..<dataStart], as: UTF8.self)
        let descriptor = try value(of: "descr", in: header, path: path)
        guard descriptor == "'<f4'" || descriptor == "\"<f4\"" else {
            throw .unsupported(path: path, what: "the array's dtype is \(descriptor)")
        }
        guard try value(of: "fortran_order", in: header, path: path) == "False" else {
            throw .unsupported(path: path, what: "the array is in Fortran order")
        }
        let shapeText = try value(of: "shape", in: header, path: path)
        let shape = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "()"))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .compactMap { Int($0) }
        guard shape.allSatisfy({ $0 >= 0 }), shape.count <= 8 else {
            throw .unsupported(path: path, what: "the shape \(shapeText) is not understood")
        }
        return (shape, dataStart)
    }

    /// The text of one entry of the header dictionary, such as `'<f4'` or `(2, 3)`.
    private static func value(of key: String, in header: String, path: String) throws(NumPyError) -> String {
        guard let keyRange = header.range(of: "'\(key)'") ?? header.range(of: "\"\(key)\""),
              let colon = header[keyRange.upperBound...].firstIndex(of: ":")
        else {
            throw .unsupported(path: path, what: "the header has no '\(key)'")
        }
        var rest = header[header.index(after: colon)...].drop { $0 == " " }
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { throw .unsupported(path: path, what: "the header is malformed") }
            return String(rest[...close])
        }
        rest = rest.prefix { $0 != "," && $0 != "}" }
        return rest.trimmingCharacters(in: .whitespaces)
    }

    /// The bytes of a version 1 `.npy` file holding `tensor` as little-endian float32.
    public static func encode(_ tensor: Tensor) -> [UInt8] {
        var bytes = header(shape: tensor.shape)
        tensor.values.withUnsafeBytes { bytes += $0 }
        return bytes
    }

    /// The magic, version and header of a version 1 `.npy` file of little-endian float32 in C
    /// order with `shape`, padded so that the data starts on a 64-byte boundary.
    public static func header(shape: [Int]) -> [UInt8] {
        let dimensions = shape.map(String.init).joined(separator: ", ")
        let shapeText = shape.count == 1 ? "(\(dimensions),)" : "(\(dimensions))"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad with spaces so that the data starts on a 64-byte boundary; end with a newline.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        return magic + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)] + Array(header.utf8)
    }

    /// Writes `tensor` to `path` atomically: to a temporary file beside it, then renamed, so
    /// that a failure never leaves a half-written file.
    public static func write(_ tensor: Tensor, to path: String) throws(NumPyError) {
        do {
            try AtomicFile.write(Data(encode(tensor)), to: path)
        } catch {
            throw .unwritable(path: path, reason: error.reason)
        }
    }
}
