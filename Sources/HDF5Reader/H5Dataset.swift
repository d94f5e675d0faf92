import CHDF5

/// An open HDF5 dataset of numbers; closed when the last reference goes away.
///
/// Opening a dataset reads only its metadata. Datasets whose values live outside the file
/// (external raw storage, virtual datasets) and dataspaces that hold no values are refused
/// here, and the declared shape is checked (no overflow, at most `maximumElementCount`
/// elements), as are the fields libhdf5 sizes its read buffers by (the size of one number,
/// the stored bytes, the chunk), so that nothing a file declares can size an allocation before
/// a caller has compared `shape` with what it expects.
public final class H5Dataset: H5Object {
    /// The most elements one dataset may declare: 2^30 (4 GiB of float32).
    public static let maximumElementCount = 1 << 30
    /// The widest number a dataset may store: 16 bytes (a quadruple-precision float).
    static let maximumNumberSize = 16
    /// The largest chunk a dataset may declare beyond its own size: 64 MiB.
    static let maximumChunkBytes = 64 << 20

    public let file: H5File
    public let path: String
    public let id: hid_t
    /// The dataset's dimensions, outermost first (C order); empty for a scalar.
    public let shape: [Int]
    /// The number of elements: the product of `shape`, checked at open.
    public let elementCount: Int

    init(file: H5File, parentID: hid_t, name: String, path: String) throws(HDF5Error) {
        self.file = file
        self.path = path
        let fail = HDF5Error.readFailure(path: file.path, object: path)
        HDF5ReadProgress.report(path)
        id = try LibraryCalls.checked(H5Dopen2(parentID, name, chdf5_property_default()), or: fail)
        do {
            try Self.refuseOutsideStorage(id, file: file.path, object: path)
            shape = try Self.declaredShape(id, file: file.path, object: path)
            elementCount = try Self.checkedCount(shape, file: file.path, object: path)
            try Self.checkStoredBytes(id, shape: shape, elementCount: elementCount, file: file.path, object: path)
        } catch {
            H5Dclose(id)
            throw error
        }
    }

    deinit { LibraryCalls.serialized { _ = H5Dclose(id) } }

    /// Refuses datasets whose raw data is not stored in this file: external raw storage
    /// (which would read any file the process can) and virtual datasets.
    ///
    /// The corresponding C functions are `H5Dget_create_plist`, `H5Pget_layout` and
    /// `H5Pget_external_count`.
    private static func refuseOutsideStorage(_ id: hid_t, file: String, object: String) throws(HDF5Error) {
        let properties = try LibraryCalls.checked(H5Dget_create_plist(id), or: HDF5Error.readFailure(path: file, object: object))
        defer { H5Pclose(properties) }
        if H5Pget_layout(properties) == H5D_VIRTUAL {
            throw .refused(path: file, object: object, reason: "it is a virtual dataset, made of data in other files")
        }
        if H5Pget_external_count(properties) != 0 {
            throw .refused(path: file, object: object, reason: "its values are stored in external files")
        }
    }

    /// The dimensions of the dataset's dataspace; a null dataspace (no values at all) is refused.
    private static func declaredShape(_ id: hid_t, file: String, object: String) throws(HDF5Error) -> [Int] {
        let fail = HDF5Error.readFailure(path: file, object: object)
        let space = try LibraryCalls.checked(H5Dget_space(id), or: fail)
        defer { H5Sclose(space) }
        if H5Sget_simple_extent_type(space) == H5S_NULL {
            throw .readFailed(path: file, object: object, reason: "the dataset has a null dataspace and holds no values")
        }
        let rank = Int(try LibraryCalls.checked(H5Sget_simple_extent_ndims(space), or: fail))
        var dimensions = [hsize_t](repeating: 0, count: rank)
        try LibraryCalls.checked(H5Sget_simple_extent_dims(space, &dimensions, nil), or: fail)
        var shape: [Int] = []
        for dimension in dimensions {
            guard let size = Int(exactly: dimension) else {
                throw .tooLarge(path: file, object: object, shape: dimensions.map { "\($0)" }.joined(separator: "×"))
            }
            shape.append(size)
        }
        return shape
    }

    /// The product of `shape`, refused when it overflows or exceeds `maximumElementCount`.
    private static func checkedCount(_ shape: [Int], file: String, object: String) throws(HDF5Error) -> Int {
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= maximumElementCount else {
                throw .tooLarge(path: file, object: object, shape: shape.map(String.init).joined(separator: "×"))
            }
            count = product
        }
        return count
    }

    /// Checks the fields libhdf5 sizes its buffers by against the shape: the stored type is a
    /// number of at most `maximumNumberSize` bytes, contiguous or compact data occupies exactly
    /// `elementCount` of them (or nothing yet), and a chunk holds at most the larger of the
    /// dataset and `maximumChunkBytes`.
    ///
    /// The corresponding C functions are `H5Dget_type`, `H5Tget_class`, `H5Tget_size`,
    /// `H5Dget_storage_size`, `H5Pget_layout` and `H5Pget_chunk`.
    private static func checkStoredBytes(_ id: hid_t, shape: [Int], elementCount: Int, file: String, object: String) throws(HDF5Error) {
        let fail = HDF5Error.readFailure(path: file, object: object)
        let type = try LibraryCalls.checked(H5Dget_type(id), or: fail)
        defer { H5Tclose(type) }
        let typeClass = H5Tget_class(type)
        guard typeClass == H5T_FLOAT || typeClass == H5T_INTEGER else {
            throw .unsupportedType(path: file, object: object, type: "non-numeric data")
        }
        let numberSize = H5Tget_size(type)
        guard numberSize > 0, numberSize <= maximumNumberSize else {
            throw .readFailed(path: file, object: object, reason: "it declares numbers of \(numberSize) bytes each (at most \(maximumNumberSize))")
        }
        let dataBytes = elementCount * numberSize  // at most 2^34: no overflow
        let properties = try LibraryCalls.checked(H5Dget_create_plist(id), or: fail)
        defer { H5Pclose(properties) }
        switch H5Pget_layout(properties) {
        case H5D_CONTIGUOUS, H5D_COMPACT:
            let stored = H5Dget_storage_size(id)
            guard stored == 0 || stored == hsize_t(dataBytes) else {
                throw .readFailed(path: file, object: object, reason: "it claims \(stored) stored bytes for \(elementCount) values of \(numberSize) bytes")
            }
        case H5D_CHUNKED:
            var chunk = [hsize_t](repeating: 0, count: max(shape.count, 1))
            let chunkRank = Int(try LibraryCalls.checked(H5Pget_chunk(properties, Int32(chunk.count), &chunk), or: fail))
            var chunkBytes = numberSize
            for size in chunk.prefix(chunkRank) {
                let (product, overflow) = chunkBytes.multipliedReportingOverflow(by: Int(clamping: size))
                chunkBytes = overflow ? Int.max : product
            }
            guard chunkBytes <= max(dataBytes, maximumChunkBytes) else {
                throw .readFailed(path: file, object: object, reason: "it declares chunks of \(chunkBytes) bytes for \(dataBytes) bytes of values")
            }
        default:
            throw .readFailed(path: file, object: object, reason: "its storage layout is unknown")
        }
    }

    /// Reads every element as `Float`, in C order, after checking that the dataset's shape is
    /// `expectedShape`; nothing is allocated for a dataset of another shape.
    ///
    /// - Throws: `HDF5Error.shapeMismatch` when the shapes differ, and the errors of `readFloats()`.
    public func readFloats(expectedShape: [Int]) throws(HDF5Error) -> [Float] {
        guard shape == expectedShape else {
            throw .shapeMismatch(path: file.path, object: path, expected: expectedShape, actual: shape)
        }
        return try readFloats()
    }

    /// Reads every element as `Float`, in C order, converting from the stored integer or
    /// float type (strings and compound data were refused at open). A scalar reads as one value.
    ///
    /// - Throws: `HDF5Error.readFailed` when the data cannot be read (for example, a truncated file).
    ///
    /// The corresponding C function is `H5Dread`.
    public func readFloats() throws(HDF5Error) -> [Float] {
        return try LibraryCalls.serialized { () throws(HDF5Error) in
            guard elementCount > 0 else { return [] }
            // Read straight into the array's storage, without zero-filling it first.
            var status: herr_t = 0
            HDF5ReadProgress.report(path)
            let values = [Float](unsafeUninitializedCapacity: elementCount) { buffer, count in
                status = H5Dread(id, chdf5_native_float(), 0, 0, chdf5_property_default(), buffer.baseAddress)
                count = status < 0 ? 0 : elementCount
            }
            try LibraryCalls.checked(status, or: HDF5Error.readFailure(path: file.path, object: path))
            return values
        }
    }
}
