import FCNModel
import Foundation

/// Why a `.npy` file could not be read or written.
public enum NumPyError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notNumPy(path: String)
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    case unsupported(path: String, what: String)
    case malformedHeader(path: String, reason: String)
    /// More data than the reader's limit, in bytes as float32.
    case tooLarge(path: String, bytes: Int, limit: Int)
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
            return "\(path): \(what)"
        case .malformedHeader(let path, let reason):
            return "\(path): the .npy header is malformed: \(reason)"
        case .tooLarge(let path, let bytes, let limit):
            return "\(path): the array takes \(bytes >> 20) MiB as float32, more than the limit of \(limit >> 20) MiB"
        case .unwritable(let path, let reason):
            return "\(path): cannot write (\(reason))"
        }
    }
}

/// NumPy's `.npy` format, versions 1 to 3. Arrays of any number type NumPy writes by default
/// (float16/32/64, integers, bool; either byte order; C or Fortran order) are read as float32
/// in C order; written files are little-endian float32 in C order.
public enum NumPyFile {
    private static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// The most bytes (as float32) `read` accepts by default: 4 GiB.
    public static let defaultMaximumBytes = 4 << 30

    /// Reads the array at `path` as float32 in C order. The file is mapped, not copied, so
    /// the only allocation is the result. `noting` hears how a stored array was converted
    /// (for example "float64 values read as float32").
    public static func read(path: String, maximumBytes: Int = defaultMaximumBytes,
                            noting: (String) -> Void = { _ in }) throws(NumPyError) -> Tensor {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw .unreadable(path: path, reason: error.reason) }
        return try file.withUnsafeBytes { (bytes) throws(NumPyError) -> Tensor in
            try decode(bytes, path: path, maximumBytes: maximumBytes, noting: noting)
        }
    }

    /// Decodes the bytes of a `.npy` file; `path` is only used in errors.
    public static func decode(_ bytes: [UInt8], path: String, maximumBytes: Int = defaultMaximumBytes,
                              noting: (String) -> Void = { _ in }) throws(NumPyError) -> Tensor {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(NumPyError) -> Tensor in try decode(raw, path: path, maximumBytes: maximumBytes, noting: noting) }
        }
        return try result.get()
    }

    /// The shape a `.npy` file's header declares and where its data starts, from the file's
    /// first bytes (at least the whole header), for a file of little-endian float32 in C order
    /// (as `header(shape:)` writes); other types and orders are refused.
    public static func decodeHeader(_ bytes: [UInt8], path: String) throws(NumPyError) -> (shape: [Int], dataStart: Int) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(NumPyError) -> (NumPyHeader, Int) in try parseHeader(raw, path: path) }
        }
        let (header, dataStart) = try result.get()
        guard header.elementType.isNativeFloat32, !header.fortranOrder else {
            throw .unsupported(path: path, what: "the array holds \(header.elementType.name)\(header.fortranOrder ? " in Fortran order" : ""), not float32 in C order")
        }
        return (header.shape, dataStart)
    }

    /// The parsed header of the `.npy` bytes and the offset where their data starts.
    private static func parseHeader(_ bytes: UnsafeRawBufferPointer, path: String) throws(NumPyError) -> (NumPyHeader, Int) {
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
            throw .unsupported(path: path, what: "the .npy format version \(major) is not one FCNKit reads (1 to 3)")
        }
        let dataStart = headerStart + headerLength
        guard bytes.count >= dataStart else {
            throw .truncated(path: path, expectedBytes: dataStart, actualBytes: bytes.count)
        }
        // NumPy ends every header with a newline; one that does not has a wrong length field,
        // and the data would be read from the wrong offset.
        guard dataStart > headerStart, bytes[dataStart - 1] == 0x0A else {
            throw .malformedHeader(path: path, reason: "the header does not end with a newline (its length field is wrong)")
        }
        let header: NumPyHeader
        do {
            header = try NumPyHeader(parsing: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[headerStart..<dataStart]), as: UTF8.self))
        } catch {
            throw .malformedHeader(path: path, reason: error.reason)
        }
        guard header.shape.count <= 8 else { throw .malformedHeader(path: path, reason: "\(header.shape.count) dimensions (FCNKit reads at most 8)") }
        return (header, dataStart)
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer, path: String, maximumBytes: Int,
                               noting: (String) -> Void) throws(NumPyError) -> Tensor {
        let (header, dataStart) = try parseHeader(bytes, path: path)
        let shape = header.shape
        let (count, overflow) = shape.reduce((1, false)) { partial, dimension in
            let product = partial.0.multipliedReportingOverflow(by: dimension)
            return (product.partialValue, partial.1 || product.overflow)
        }
        let width = header.elementType.bytes
        // Checked before any multiplication by the element size can overflow.
        guard !overflow, count <= (bytes.count - dataStart) / width else {
            let expected = overflow || count > (Int.max - dataStart) / width ? Int.max : dataStart + count * width
            throw .truncated(path: path, expectedBytes: expected, actualBytes: bytes.count)
        }
        guard count <= maximumBytes / 4 else { throw .tooLarge(path: path, bytes: count * 4, limit: maximumBytes) }
        let data = UnsafeRawBufferPointer(rebasing: bytes[dataStart..<(dataStart + count * width)])
        let type = header.elementType
        var values = [Float](repeating: 0, count: count)
        if type.isNativeFloat32, !header.fortranOrder {
            values.withUnsafeMutableBytes { $0.copyMemory(from: data) }
        } else {
            // Fortran order stores the first axis fastest: walk the C order's index backwards.
            let strides = header.fortranOrder ? fortranStrides(shape) : nil
            values.withUnsafeMutableBufferPointer { target in
                for index in 0..<count {
                    let stored = strides.map { storedIndex(of: index, shape: shape, fortranStrides: $0) } ?? index
                    target[index] = type.value(in: data, at: stored * width)
                }
            }
            var changes: [String] = []
            if !type.isNativeFloat32 { changes.append("\(type.name) values read as float32") }
            if header.fortranOrder, shape.count > 1 { changes.append("Fortran order read as C order") }
            if !changes.isEmpty { noting("\(path): \(changes.joined(separator: ", "))") }
        }
        return Tensor(shape: shape, values: values)
    }

    /// Element strides of a Fortran-order array of `shape` (first axis fastest).
    private static func fortranStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in shape.indices.dropFirst() { strides[axis] = strides[axis - 1] * shape[axis - 1] }
        return strides
    }

    /// Where the element at C-order position `index` is stored in a Fortran-order array.
    private static func storedIndex(of index: Int, shape: [Int], fortranStrides: [Int]) -> Int {
        var rest = index, stored = 0
        for axis in shape.indices.reversed() {
            stored += (rest % shape[axis]) * fortranStrides[axis]
            rest /= shape[axis]
        }
        return stored
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
