import CHDF5
import Foundation

/// An HDF5 file opened read-only; closed when the last reference goes away.
///
/// Opening checks the path first (missing, a directory, empty, no HDF5 signature) so that
/// each of those gets its own error instead of libhdf5's generic failure.
public final class H5File {
    /// The path the file was opened from, used in every error about it.
    public let path: String
    let id: hid_t

    /// Opens the file at `path` for reading.
    ///
    /// - Parameter path: A file system path.
    /// - Throws: `HDF5Error` naming the path and what is wrong with it.
    ///
    /// The corresponding C functions are `H5Fis_hdf5` and `H5Fopen`.
    public init(path: String) throws(HDF5Error) {
        LibraryCalls.prepare()
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .missingFile(path: path)
        }
        if isDirectory.boolValue { throw .isDirectory(path: path) }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        if size == 0 { throw .emptyFile(path: path) }
        guard H5Fis_hdf5(path) > 0 else {
            _ = LibraryCalls.takeErrorMessage()
            throw .notHDF5(path: path)
        }
        id = try LibraryCalls.checked(
            H5Fopen(path, chdf5_access_read_only(), chdf5_property_default())
        ) { .cannotOpen(path: path, reason: $0) }
    }

    deinit { H5Fclose(id) }

    /// The root group, `/`.
    ///
    /// The corresponding C function is `H5Gopen2`.
    public func root() throws(HDF5Error) -> H5Group {
        try H5Group(file: self, parentID: id, name: "/", path: "/")
    }

    /// True when `path` starts with the HDF5 signature; reads only its first bytes.
    public static func hasSignature(path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        return (try? handle.read(upToCount: 8)).map { [UInt8]($0) == signature } ?? false
    }
}
