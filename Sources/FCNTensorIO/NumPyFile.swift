import FCNDiagnostics
import FCNModel
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why a `.npy` file could not be read or written.
public enum NumPyError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notNumPy(path: String)
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    case unsupported(path: String, what: String)
    case unwritable(path: String, reason: String)
    /// The array holds more bytes than the caller's budget.
    case tooLarge(path: String, bytes: Int, limit: Int)

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
        case .tooLarge(let path, let bytes, let limit):
            return "\(path): the array holds \(bytes >> 20) MiB, more than the memory budget of \(limit >> 20) MiB (--max-memory)"
        }
    }
}

/// NumPy's `.npy` format, versions 1 to 3, for little-endian float32 arrays in C order.
///
/// The header is parsed as the Python literal it is (a dict of exactly `descr`, `fortran_order`
/// and `shape`, each once, with a tuple of non-negative integers as the shape), and anything
/// NumPy would read otherwise is refused, never skipped.
public enum NumPyFile {
    private static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    /// The longest header read: NumPy writes less than 100 bytes of it.
    static let maximumHeaderBytes = 1 << 20

    /// Reads the array at `path`, straight from the file into the tensor's storage.
    ///
    /// - Parameter maximumBytes: the most bytes of data the array may hold (nil: no limit);
    ///   a larger array is refused before anything is allocated for it.
    public static func read(path: String, maximumBytes: Int? = nil) throws(NumPyError) -> Tensor {
        if let problem = InputFileProblem.of(path) { throw .unreadable(path: path, reason: problem.description) }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        let fileSize = Int(status.st_size)
        let prefix = try readBytes(descriptor, count: min(12, fileSize), path: path)
        let (headerStart, headerLength) = try headerPlacement(prefix, path: path)
        let dataStart = headerStart + headerLength
        guard fileSize >= dataStart else { throw .truncated(path: path, expectedBytes: dataStart, actualBytes: fileSize) }
        guard lseek(descriptor, off_t(headerStart), SEEK_SET) == off_t(headerStart) else {
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        let header = try NumPyHeader(try readBytes(descriptor, count: headerLength, path: path), path: path)
        let count = try checkedCount(header.shape, available: fileSize - dataStart, fileSize: fileSize, dataStart: dataStart, path: path)
        if let maximumBytes, count > maximumBytes / 4 {
            throw .tooLarge(path: path, bytes: count * 4, limit: maximumBytes)
        }
        var failure: NumPyError?
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(NumPyError) {
                try readFully(descriptor, into: UnsafeMutableRawBufferPointer(buffer), path: path)
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return Tensor(shape: header.shape, values: values)
    }

    /// Decodes the bytes of a `.npy` file; `path` is only used in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws(NumPyError) -> Tensor {
        let (headerStart, headerLength) = try headerPlacement(Array(bytes.prefix(12)), path: path)
        let dataStart = headerStart + headerLength
        guard bytes.count >= dataStart else {
            throw .truncated(path: path, expectedBytes: dataStart, actualBytes: bytes.count)
        }
        let header = try NumPyHeader(Array(bytes[headerStart..<dataStart]), path: path)
        let count = try checkedCount(header.shape, available: bytes.count - dataStart, fileSize: bytes.count, dataStart: dataStart, path: path)
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: source[dataStart..<(dataStart + count * 4)]))
            }
            initialized = count
        }
        return Tensor(shape: header.shape, values: values)
    }

    /// Where the header starts and how long it is, from the file's first (up to) 12 bytes.
    private static func headerPlacement(_ prefix: [UInt8], path: String) throws(NumPyError) -> (start: Int, length: Int) {
        guard prefix.count >= 10, Array(prefix[0..<6]) == magic else { throw .notNumPy(path: path) }
        switch prefix[6] {
        case 1:
            return (10, Int(prefix[8]) | Int(prefix[9]) << 8)
        case 2, 3:
            guard prefix.count >= 12 else { throw .truncated(path: path, expectedBytes: 12, actualBytes: prefix.count) }
            let length = (0..<4).reduce(0) { $0 | Int(prefix[8 + $1]) << (8 * $1) }
            guard length <= maximumHeaderBytes else {
                throw .unsupported(path: path, what: "the header claims \(length) bytes, more than the \(maximumHeaderBytes) read")
            }
            return (12, length)
        default:
            throw .unsupported(path: path, what: "format version \(prefix[6])")
        }
    }

    /// The number of values of `shape`, checked against overflow and the bytes the file has.
    private static func checkedCount(_ shape: [Int], available: Int, fileSize: Int, dataStart: Int, path: String) throws(NumPyError) -> Int {
        var count = 1
        var overflow = false
        for dimension in shape {
            let product = count.multipliedReportingOverflow(by: dimension)
            overflow = overflow || product.overflow
            count = product.partialValue
        }
        // Checked before any multiplication by 4 can overflow.
        guard !overflow, count <= available / 4 else {
            let expected = overflow || count > (Int.max - dataStart) / 4 ? Int.max : dataStart + count * 4
            throw .truncated(path: path, expectedBytes: expected, actualBytes: fileSize)
        }
        return count
    }

    private static func readBytes(_ descriptor: Int32, count: Int, path: String) throws(NumPyError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var failure: NumPyError?
        bytes.withUnsafeMutableBytes { buffer in
            do throws(NumPyError) { try readFully(descriptor, into: buffer, path: path) } catch { failure = error }
        }
        if let failure { throw failure }
        return bytes
    }

    /// Fills `buffer` from the descriptor's position, or throws when the file ends first.
    private static func readFully(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(NumPyError) {
        var done = 0
        while done < buffer.count {
            let result = Glibc.read(descriptor, buffer.baseAddress! + done, min(buffer.count - done, 1 << 30))
            if result < 0, errno == EINTR { continue }
            guard result > 0 else {
                throw result < 0 ? .unreadable(path: path, reason: String(cString: strerror(errno)))
                                 : .unreadable(path: path, reason: "the file ended early (it changed while being read?)")
            }
            done += result
        }
    }

    /// The bytes of a version 1 `.npy` file holding `tensor` as little-endian float32.
    public static func encode(_ tensor: Tensor) -> [UInt8] {
        let dimensions = tensor.shape.map(String.init).joined(separator: ", ")
        let shape = tensor.shape.count == 1 ? "(\(dimensions),)" : "(\(dimensions))"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        // Pad with spaces so that the data starts on a 64-byte boundary; end with a newline.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var bytes = magic + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8)
        tensor.values.withUnsafeBytes { bytes += $0 }
        return bytes
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
