import CHDF5

/// An open HDF5 dataset of numbers; closed when the last reference goes away.
public final class H5Dataset: H5Object {
    public let file: H5File
    public let path: String
    public let id: hid_t
    /// The dataset's dimensions, outermost first (C order); empty for a scalar.
    public let shape: [Int]

    init(file: H5File, parentID: hid_t, name: String, path: String) throws(HDF5Error) {
        self.file = file
        self.path = path
        let fail = HDF5Error.readFailure(path: file.path, object: path)
        id = try LibraryCalls.checked(H5Dopen2(parentID, name, chdf5_property_default()), or: fail)
        let space = H5Dget_space(id)
        defer { if space >= 0 { H5Sclose(space) } }
        do {
            try LibraryCalls.checked(space, or: fail)
            let rank = Int(try LibraryCalls.checked(H5Sget_simple_extent_ndims(space), or: fail))
            var dimensions = [hsize_t](repeating: 0, count: rank)
            try LibraryCalls.checked(H5Sget_simple_extent_dims(space, &dimensions, nil), or: fail)
            shape = dimensions.map { Int($0) }
        } catch {
            H5Dclose(id)
            throw error
        }
    }

    deinit { LibraryCalls.serialized { _ = H5Dclose(id) } }

    /// The number of elements: the product of `shape`.
    public var elementCount: Int { shape.reduce(1, *) }

    /// Reads every element as `Float`, in C order, converting from the stored integer or
    /// float type.
    ///
    /// - Throws: `HDF5Error.unsupportedType` for strings or compound data, and
    ///   `HDF5Error.readFailed` when the data cannot be read (for example, a truncated file).
    ///
    /// The corresponding C function is `H5Dread`.
    public func readFloats() throws(HDF5Error) -> [Float] {
        return try LibraryCalls.serialized { () throws(HDF5Error) in
            let type = H5Dget_type(id)
            defer { if type >= 0 { H5Tclose(type) } }
            try LibraryCalls.checked(type, or: HDF5Error.readFailure(path: file.path, object: path))
            let typeClass = H5Tget_class(type)
            guard typeClass == H5T_FLOAT || typeClass == H5T_INTEGER else {
                throw .unsupportedType(path: file.path, object: path, type: "non-numeric data")
            }
            guard elementCount > 0 else { return [] }
            // Read straight into the array's storage, without zero-filling it first.
            var status: herr_t = 0
            let values = [Float](unsafeUninitializedCapacity: elementCount) { buffer, count in
                status = H5Dread(id, chdf5_native_float(), 0, 0, chdf5_property_default(), buffer.baseAddress)
                count = status < 0 ? 0 : elementCount
            }
            try LibraryCalls.checked(status, or: HDF5Error.readFailure(path: file.path, object: path))
            return values
        }
    }
}
