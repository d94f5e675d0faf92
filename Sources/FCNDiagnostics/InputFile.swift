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
        guard stat(path, &status) == 0 else { return errno == EACCES ? .permissionDenied : .missing }
        switch status.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return access(path, R_OK) == 0 ? nil : .permissionDenied
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
