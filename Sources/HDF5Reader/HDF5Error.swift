import FCNDiagnostics

/// Why reading an HDF5 file failed, with the file and the object involved.
public enum HDF5Error: Error, Equatable, CustomStringConvertible {
    /// Nothing exists at the path.
    case missingFile(path: String)
    /// The path names a directory, not a file.
    case isDirectory(path: String)
    /// The path names a FIFO, socket or device, which libhdf5 would block on.
    case notRegularFile(path: String)
    /// The process may not read the file.
    case permissionDenied(path: String)
    /// The file exists but holds no bytes.
    case emptyFile(path: String)
    /// The file does not start with an HDF5 signature.
    case notHDF5(path: String)
    /// libhdf5 could not open the file (for example, it is truncated); `reason` is libhdf5's message.
    case cannotOpen(path: String, reason: String)
    /// The file has no object at `object`.
    case missingObject(path: String, object: String)
    /// An object exists but could not be read; `reason` is libhdf5's message or ours.
    case readFailed(path: String, object: String, reason: String)
    /// A file or an object in it could not be written; `reason` is libhdf5's message.
    case writeFailed(path: String, object: String, reason: String)
    /// An object is refused before anything of it is read: a soft or external link, external
    /// raw storage, a virtual dataset. `reason` says which.
    case refused(path: String, object: String, reason: String)
    /// A dataset declares more elements than `H5Dataset.maximumElementCount` (or than an
    /// `Int` holds); `shape` is its declared shape as text.
    case tooLarge(path: String, object: String, shape: String)
    /// A dataset's declared shape is not the one its reader expects.
    case shapeMismatch(path: String, object: String, expected: [Int], actual: [Int])
    /// The object holds a type this reader does not convert (for example, compound data).
    case unsupportedType(path: String, object: String, type: String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): no such file"
        case .isDirectory(let path):
            return "\(path): is a directory, not a model file"
        case .notRegularFile(let path):
            return "\(path): not a regular file (a FIFO, socket or device); fcn reads model files only"
        case .permissionDenied(let path):
            return "\(path): permission denied"
        case .emptyFile(let path):
            return "\(path): the file is empty"
        case .notHDF5(let path):
            return "\(path): not an HDF5 file (no HDF5 signature)"
        case .cannotOpen(let path, let reason):
            return "\(path): cannot open as HDF5 (\(reason)); the file may be truncated or damaged"
        case .missingObject(let path, let object):
            return "\(path): no object \(QuotedName.quoted(object)) in the file"
        case .readFailed(let path, let object, let reason):
            return "\(path): cannot read \(QuotedName.quoted(object)) (\(reason)); the file may be truncated or damaged"
        case .writeFailed(let path, let object, let reason):
            return "\(path): cannot write \(QuotedName.quoted(object)) (\(reason))"
        case .unsupportedType(let path, let object, let type):
            return "\(path): \(QuotedName.quoted(object)) holds \(type), which FCNKit does not read"
        case .refused(let path, let object, let reason):
            return "\(path): \(QuotedName.quoted(object)) is refused: \(reason); fcn reads only data stored in the file itself"
        case .tooLarge(let path, let object, let shape):
            return "\(path): \(QuotedName.quoted(object)) declares \(shape) elements, more than the limit of "
                + "\(H5Dataset.maximumElementCount)"
        case .shapeMismatch(let path, let object, let expected, let actual):
            return "\(path): \(QuotedName.quoted(object)) has shape \(actual), expected \(expected)"
        }
    }
}

extension HDF5Error {
    /// Makes libhdf5's message about reading `object` of the file at `path` a `readFailed` error.
    static func readFailure(path: String, object: String) -> (String) -> HDF5Error {
        { .readFailed(path: path, object: object, reason: $0) }
    }
}
