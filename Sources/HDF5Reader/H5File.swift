import FCNDiagnostics
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
        self.path = path
        switch InputFileProblem.of(path) {
        case nil: break
        case .missing?: throw .missingFile(path: path)
        case .directory?: throw .isDirectory(path: path)
        // A FIFO, socket or device would block libhdf5's first read, or never end.
        case .notRegular?: throw .notRegularFile(path: path)
        case .permissionDenied?: throw .permissionDenied(path: path)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        if size == 0 { throw .emptyFile(path: path) }
        id = try LibraryCalls.serialized { () throws(HDF5Error) -> hid_t in
            guard H5Fis_hdf5(path) > 0 else {
                _ = LibraryCalls.takeErrorMessage()
                throw .notHDF5(path: path)
            }
            HDF5ReadProgress.report("/")
            return try LibraryCalls.checked(
                H5Fopen(path, chdf5_access_read_only(), chdf5_property_default())
            ) { .cannotOpen(path: path, reason: $0) }
        }
    }

    /// Opens an HDF5 file held in memory, such as the `model.weights.h5` inside a `.keras` zip.
    ///
    /// - Parameters:
    ///   - image: the file's bytes.
    ///   - name: what messages call the file, such as `model.keras:model.weights.h5`.
    /// - Throws: `HDF5Error` when the bytes are not an HDF5 file libhdf5 can open.
    ///
    /// The corresponding C functions are `H5Pset_fapl_core`, `H5Pset_file_image` and `H5Fopen`.
    public init(image: [UInt8], name: String) throws(HDF5Error) {
        path = name
        guard image.starts(with: [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw .notHDF5(path: name) }
        id = try LibraryCalls.serialized { () throws(HDF5Error) -> hid_t in
            let access = try LibraryCalls.checked(H5Pcreate(chdf5_file_access_class())) { .cannotOpen(path: name, reason: $0) }
            defer { H5Pclose(access) }
            try LibraryCalls.checked(H5Pset_fapl_core(access, 1 << 16, false)) { .cannotOpen(path: name, reason: $0) }
            // libhdf5 copies the image, so the pointer need not outlive the call.
            let status = image.withUnsafeBytes { bytes in H5Pset_file_image(access, UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count) }
            try LibraryCalls.checked(status) { .cannotOpen(path: name, reason: $0) }
            // libhdf5 knows open files by name; each image gets its own, so two open at once stay apart.
            let internalName = "memory:" + UUID().uuidString
            return try LibraryCalls.checked(H5Fopen(internalName, chdf5_access_read_only(), access)) { .cannotOpen(path: name, reason: $0) }
        }
    }

    deinit { LibraryCalls.serialized { _ = H5Fclose(id) } }

    /// The root group, `/`.
    ///
    /// The corresponding C function is `H5Gopen2`.
    public func root() throws(HDF5Error) -> H5Group {
        return try LibraryCalls.serialized { () throws(HDF5Error) in
            try H5Group(file: self, parentID: id, name: "/", path: "/")
        }
    }
}
