import FCNModel
import Foundation

/// A `.npy` file of float32 shaped (1, height, width, channels), written piece by piece as a
/// grid is produced and read back row by row, so that neither side holds the whole grid.
///
/// The header with the final shape comes first and the file is sized at once, so a reader can
/// memory-map it (`numpy.load(path, mmap_mode="r")`). Cells never written read as 0.
public final class NumPyGridFile {
    public let path: String
    public let size: Size2D
    public let channels: Int
    private let descriptor: Int32
    private let dataOffset: Int

    /// Creates `path` (which must not exist) for a grid of `size` × `channels`.
    public init(creating path: String, size: Size2D, channels: Int) throws(NumPyError) {
        precondition(size.height > 0 && size.width > 0 && channels > 0, "empty grid")
        let header = NumPyFile.header(shape: [1, size.height, size.width, channels])
        let descriptor = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .unwritable(path: path, reason: String(cString: strerror(errno))) }
        (self.path, self.size, self.channels, self.descriptor, dataOffset) = (path, size, channels, descriptor, header.count)
        try pwriteAll(header, at: 0)
        // Sized at once (sparse until written), so the file has its final length from the start.
        guard ftruncate(descriptor, off_t(offset(row: size.height, column: 0))) == 0 else {
            throw .unwritable(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// Opens an existing grid file written by `init(creating:…)` (or any v1 float32 `.npy` of
    /// shape (1, H, W, C)) for reading rows.
    public init(reading path: String) throws(NumPyError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        var head = [UInt8](repeating: 0, count: 65_536 + 12)
        let count = head.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        let header: (shape: [Int], dataStart: Int)
        do {
            header = try NumPyFile.decodeHeader(Array(head.prefix(max(0, count))), path: path)
        } catch {
            close(descriptor)
            throw error
        }
        let (shape, headerLength) = header
        guard shape.count == 4, shape[0] == 1, shape.allSatisfy({ $0 > 0 }) else {
            close(descriptor)
            throw .unsupported(path: path, what: "a grid file holds (1, height, width, channels) float32")
        }
        (self.path, size, channels, self.descriptor, dataOffset) = (path, Size2D(height: shape[1], width: shape[2]), shape[3], descriptor, headerLength)
    }

    deinit { close(descriptor) }

    /// Writes cells `rows` × `columns` from `values` ((rows, columns, channels), channels fastest).
    public func write(rows: Range<Int>, columns: Range<Int>, values: UnsafeBufferPointer<Float>) throws(NumPyError) {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= size.height && columns.lowerBound >= 0 && columns.upperBound <= size.width
                     && values.count == rows.count * columns.count * channels, "cells outside the grid")
        let rowValues = columns.count * channels
        for (index, row) in rows.enumerated() {
            let part = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: values[(index * rowValues)..<((index + 1) * rowValues)]))
            try pwriteAll(part, at: offset(row: row, column: columns.lowerBound))
        }
    }

    /// Row `row` of the grid: (width, channels), channels fastest.
    public func row(_ row: Int) throws(NumPyError) -> [Float] {
        precondition((0..<size.height).contains(row), "row outside the grid")
        var values = [Float](repeating: 0, count: size.width * channels)
        let wanted = values.count * 4
        let read = values.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, wanted, off_t(offset(row: row, column: 0))) }
        guard read == wanted else {
            throw .truncated(path: path, expectedBytes: offset(row: row, column: 0) + wanted, actualBytes: offset(row: row, column: 0) + max(read, 0))
        }
        return values
    }

    private func offset(row: Int, column: Int) -> Int { dataOffset + ((row * size.width + column) * channels) * 4 }

    private func pwriteAll(_ bytes: some ContiguousBytes, at offset: Int) throws(NumPyError) {
        let failure: Int32? = bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let written = pwrite(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
                if written < 0 { if errno == EINTR { continue }; return errno }
                done += written
            }
            return nil
        }
        if let failure { throw .unwritable(path: path, reason: String(cString: strerror(failure))) }
    }
}
