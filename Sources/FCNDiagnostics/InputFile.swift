import Foundation

/// Why a path named on the command line cannot be read as a file, checked before any reader
/// opens it, so that each case gets its own message instead of a reader's generic failure, and
/// a FIFO or device (which would block a reader, or never end) is never opened.
public enum InputFileProblem: Sendable, Equatable, CustomStringConvertible {
    case missing
    case directory
    /// A FIFO, socket or device.
    case notRegular
    case permissionDenied

    /// What is wrong with `path`, or nil when it is a regular file this process may read.
    public static func of(_ path: String) -> InputFileProblem? {
        var status = stat()
        guard stat(path, &status) == 0 else { return failing(errno: errno) }
        if let problem = of(mode: status.st_mode) { return problem }
        return access(path, R_OK) == 0 ? nil : .permissionDenied
    }

    /// What a failed `stat` or `open` with `errno` says of the path.
    public static func failing(errno: Int32) -> InputFileProblem {
        errno == EACCES ? .permissionDenied : .missing
    }

    /// What is wrong with a file of `mode` (from `stat` or `fstat`), or nil for a regular file.
    public static func of(mode: mode_t) -> InputFileProblem? {
        switch mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return nil
        default: return .notRegular
        }
    }

    public var description: String {
        switch self {
        case .missing: return "no such file"
        case .directory: return "it is a directory"
        case .notRegular: return "not a regular file (a FIFO, socket or device)"
        case .permissionDenied: return "permission denied"
        }
    }
}
