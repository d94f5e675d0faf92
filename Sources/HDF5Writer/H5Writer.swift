import CHDF5
import Foundation
import HDF5Reader

/// A new HDF5 file. Finish it with `close()`, which reports whether every byte reached the
/// disk; a writer dropped without `close()` is closed unchecked (after a failure, say).
///
/// Write it to a temporary path and rename it only when `close()` succeeds (see
/// `AtomicFile`): a failure half-way, or a full disk, leaves a partial file that must not take
/// the real name.
public final class H5FileWriter {
    public let path: String
    let id: hid_t
    private var isClosed = false

    /// Creates (or truncates) the file at `path`.
    ///
    /// The corresponding C function is `H5Fcreate`.
    public init(creating path: String) throws(HDF5Error) {
        self.path = path
        id = try LibraryCalls.serialized { () throws(HDF5Error) -> hid_t in
            try LibraryCalls.checked(H5Fcreate(path, chdf5_access_truncate(), chdf5_property_default(), chdf5_property_default())) {
                .writeFailed(path: path, object: "/", reason: $0)
            }
        }
    }

    deinit { if !isClosed { LibraryCalls.serialized { _ = H5Fclose(id) } } }

    /// Flushes the file and closes it, checking both.
    ///
    /// - Throws: `HDF5Error.writeFailed` when the flush or the close fails (for example, the
    ///   disk is full); the file is then incomplete.
    ///
    /// The corresponding C functions are `H5Fflush` and `H5Fclose`.
    public func close() throws(HDF5Error) {
        try LibraryCalls.serialized { () throws(HDF5Error) in
            precondition(!isClosed, "H5FileWriter.close() called twice")
            isClosed = true
            let fail: (String) -> HDF5Error = { [path] in .writeFailed(path: path, object: "/", reason: $0) }
            let flushed = H5Fflush(id, H5F_SCOPE_GLOBAL)
            let flushMessage = flushed < 0 ? LibraryCalls.takeErrorMessage() : nil
            try LibraryCalls.checked(H5Fclose(id), or: fail)
            if let flushMessage { throw fail(flushMessage) }
        }
    }

    /// The root group, `/`.
    public func root() throws(HDF5Error) -> H5GroupWriter {
        try LibraryCalls.serialized { () throws(HDF5Error) in
            let group = try LibraryCalls.checked(H5Gopen2(id, "/", chdf5_property_default())) { [path] in
                .writeFailed(path: path, object: "/", reason: $0)
            }
            return H5GroupWriter(file: self, id: group, path: "/")
        }
    }
}

/// A group of a file being written: subgroups, float32 datasets and string attributes.
public final class H5GroupWriter {
    public let file: H5FileWriter
    public let path: String
    let id: hid_t

    init(file: H5FileWriter, id: hid_t, path: String) {
        self.file = file
        self.id = id
        self.path = path
    }

    deinit { LibraryCalls.serialized { _ = H5Gclose(id) } }

    private func fail(_ object: String) -> (String) -> HDF5Error {
        { [file] in .writeFailed(path: file.path, object: object, reason: $0) }
    }

    private func childPath(_ name: String) -> String { hdf5ChildPath(path, name) }

    /// Creates the subgroup `name`; `name` may contain `/` and missing groups along it are made.
    ///
    /// The corresponding C function is `H5Gcreate2`.
    public func createGroup(_ name: String) throws(HDF5Error) -> H5GroupWriter {
        try LibraryCalls.serialized { () throws(HDF5Error) in
            let links = try LibraryCalls.checked(H5Pcreate(chdf5_link_create_class()), or: fail(childPath(name)))
            defer { H5Pclose(links) }
            H5Pset_create_intermediate_group(links, 1)
            let group = try LibraryCalls.checked(
                H5Gcreate2(id, name, links, chdf5_property_default(), chdf5_property_default()), or: fail(childPath(name)))
            return H5GroupWriter(file: file, id: group, path: childPath(name))
        }
    }

    /// Writes `values` as a float32 dataset of `shape` (C order) at `name`, making missing groups.
    ///
    /// - Precondition: `values.count` is the product of `shape`.
    /// The corresponding C functions are `H5Dcreate2` and `H5Dwrite`.
    public func writeDataset(_ name: String, shape: [Int], values: [Float]) throws(HDF5Error) {
        precondition(shape.reduce(1, *) == values.count, "dataset values do not fill shape \(shape)")
        try LibraryCalls.serialized { () throws(HDF5Error) in
            let object = childPath(name)
            let dimensions = shape.map { hsize_t($0) }
            let space = try LibraryCalls.checked(H5Screate_simple(Int32(shape.count), dimensions, nil), or: fail(object))
            defer { H5Sclose(space) }
            let links = try LibraryCalls.checked(H5Pcreate(chdf5_link_create_class()), or: fail(object))
            defer { H5Pclose(links) }
            H5Pset_create_intermediate_group(links, 1)
            let dataset = try LibraryCalls.checked(
                H5Dcreate2(id, name, chdf5_little_endian_float(), space, links, chdf5_property_default(), chdf5_property_default()),
                or: fail(object))
            defer { H5Dclose(dataset) }
            let status = values.withUnsafeBytes { buffer in
                H5Dwrite(dataset, chdf5_native_float(), 0, 0, chdf5_property_default(), buffer.baseAddress)
            }
            try LibraryCalls.checked(status, or: fail(object))
        }
    }

    /// Sets a variable-length UTF-8 string attribute, as Keras stores `model_config`.
    public func setAttribute(_ name: String, string: String) throws(HDF5Error) {
        try writeStrings(name, [string], scalar: true)
    }

    /// Sets an array-of-strings attribute, as Keras stores `layer_names` and `weight_names`;
    /// an empty list is written the way Keras writes it, as an empty float64 array.
    public func setAttribute(_ name: String, strings: [String]) throws(HDF5Error) {
        try writeStrings(name, strings, scalar: false)
    }

    private func writeStrings(_ name: String, _ strings: [String], scalar: Bool) throws(HDF5Error) {
        try LibraryCalls.serialized { () throws(HDF5Error) in
            let object = path + "@" + name
            let fail = fail(object)
            var dimensions = [hsize_t(strings.count)]
            let space = try LibraryCalls.checked(
                scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dimensions, nil), or: fail)
            defer { H5Sclose(space) }
            if strings.isEmpty {
                let attribute = try LibraryCalls.checked(
                    H5Acreate2(id, name, chdf5_native_double(), space, chdf5_property_default(), chdf5_property_default()), or: fail)
                H5Aclose(attribute)
                return
            }
            let type = try LibraryCalls.checked(H5Tcopy(chdf5_c_string()), or: fail)
            defer { H5Tclose(type) }
            H5Tset_size(type, chdf5_variable_length())
            H5Tset_cset(type, H5T_CSET_UTF8)
            let attribute = try LibraryCalls.checked(
                H5Acreate2(id, name, type, space, chdf5_property_default(), chdf5_property_default()), or: fail)
            defer { H5Aclose(attribute) }
            let copies = strings.map { strdup($0) }
            defer { copies.forEach { free($0) } }
            var pointers = copies.map { UnsafePointer($0) }
            try LibraryCalls.checked(H5Awrite(attribute, type, &pointers), or: fail)
        }
    }
}
