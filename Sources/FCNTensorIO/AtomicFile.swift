import Foundation

/// Why a file could not be written.
public struct WriteError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): cannot write (\(reason))" }
}

/// Writes files so that readers see either no file or the whole new one, never a part: the
/// bytes go to a temporary file in the same folder, which is then renamed into place.
public enum AtomicFile {
    /// Writes `data` to `path`.
    public static func write(_ data: Data, to path: String) throws(WriteError) {
        try write(to: path) { temporary in try data.write(to: URL(fileURLWithPath: temporary)) }
    }

    /// A one-line reason for `error`: Foundation's errors as their localized sentence rather
    /// than a dump of the error object, ours as their description.
    private static func reason(for error: any Error) -> String {
        if let cocoa = error as? CocoaError { return cocoa.localizedDescription }
        return "\(error)"
    }

    /// Lets `produce` write a file at a temporary path beside `path`, then renames it to
    /// `path`. If `produce` throws, the temporary file is removed and nothing appears at `path`.
    ///
    /// - Throws: `WriteError` when the folder is missing, or `produce` or the rename fails.
    public static func write(to path: String, _ produce: (String) throws -> Void) throws(WriteError) {
        let destination = URL(fileURLWithPath: path)
        let folder = destination.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw WriteError(path: path, reason: "the folder \(folder.path) does not exist")
        }
        let temporary = folder.appendingPathComponent(".\(destination.lastPathComponent).\(UUID().uuidString).partial").path
        do {
            try produce(temporary)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw WriteError(path: path, reason: reason(for: error))
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw WriteError(path: path, reason: reason)
        }
    }
}
