import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one pipe between the isolated reader and its parent, and the frames sent on it.
///
/// A frame is a tag byte, a little-endian `UInt64` length, then that many bytes. After a
/// `.model` frame come the weights' raw float32 bytes, tensor after tensor, without framing: the
/// parent reads them straight into the arrays the `Model` keeps.
enum FrameTag: UInt8 {
    /// UTF-8: the HDF5 object the child is about to read.
    case progress = 0x70
    /// JSON `ReaderFailure`: the child refused the file.
    case failure = 0x65
    /// JSON `TransferredModel`, then the weights.
    case model = 0x6D
}

/// Why reading from or writing to the channel stopped.
enum ChannelEnd: Error {
    /// The other end closed the pipe (the child exited or died).
    case closed
    /// The parent's deadline passed.
    case timedOut
    /// A system call failed with `errno`.
    case failed(Int32)
}

/// The writing end, in the child.
struct ChannelWriter {
    let descriptor: Int32

    func send(_ tag: FrameTag, _ payload: Data) throws {
        var header = [UInt8](repeating: 0, count: 9)
        header[0] = tag.rawValue
        withUnsafeBytes(of: UInt64(payload.count).littleEndian) { bytes in
            for (index, byte) in bytes.enumerated() { header[1 + index] = byte }
        }
        try header.withUnsafeBytes { bytes throws in try write(bytes) }
        try payload.withUnsafeBytes { bytes throws in try write(bytes) }
    }

    /// Writes all of `bytes`, across partial writes and interruptions.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw ChannelEnd.failed(errno)
            }
            offset += written
        }
    }
}

/// The reading end, in the parent: every read waits at most until `deadline`.
struct ChannelReader {
    let descriptor: Int32
    let deadline: Date

    /// The next frame's tag and payload; a payload is at most `maximumPayload` bytes.
    func receive(maximumPayload: Int) throws -> (FrameTag?, Data) {
        var header = [UInt8](repeating: 0, count: 9)
        try header.withUnsafeMutableBytes { bytes throws in try read(into: bytes) }
        let length = header[1...].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= UInt64(maximumPayload) else { throw ChannelEnd.failed(EMSGSIZE) }
        var payload = Data(count: Int(length))
        try payload.withUnsafeMutableBytes { bytes throws in try read(into: bytes) }
        return (FrameTag(rawValue: header[0]), payload)
    }

    /// Fills all of `bytes`, waiting for the child until the deadline.
    func read(into bytes: UnsafeMutableRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw ChannelEnd.timedOut }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(remaining * 1000, 60_000).rounded(.up)))
            if ready < 0 {
                if errno == EINTR { continue }
                throw ChannelEnd.failed(errno)
            }
            if ready == 0 { continue }
            let count = Glibc.read(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw ChannelEnd.failed(errno)
            }
            if count == 0 { throw ChannelEnd.closed }
            offset += count
        }
    }
}
