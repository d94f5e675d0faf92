import CHDF5

/// What groups and datasets share: a handle, their place in the file, and attributes.
public protocol H5Object: AnyObject {
    /// The file the object belongs to.
    var file: H5File { get }
    /// The object's absolute path inside the file, such as `/model_weights/dense_1`.
    var path: String { get }
    /// The libhdf5 handle; valid for the object's lifetime.
    var id: hid_t { get }
}

/// The value of an attribute, converted to Swift.
public enum H5AttributeValue: Equatable, Sendable {
    /// A string or an array of strings, fixed or variable length, without padding.
    case strings([String])
    /// A number or an array of numbers of any integer or float type.
    case numbers([Double])
}

extension H5Object {
    /// Joins `name` onto this object's path.
    func childPath(_ name: String) -> String { hdf5ChildPath(path, name) }

    /// Whether the object carries an attribute called `name`.
    ///
    /// The corresponding C function is `H5Aexists`.
    public func hasAttribute(_ name: String) -> Bool {
        return LibraryCalls.serialized {
            let result = H5Aexists(id, name)
            if result < 0 { _ = LibraryCalls.takeErrorMessage() }
            return result > 0
        }
    }

    /// Reads the attribute `name`, or returns nil when there is none.
    ///
    /// Strings may be fixed- or variable-length, ASCII or UTF-8; numbers may be any integer
    /// or float type. An empty array of any type reads as an empty list.
    ///
    /// The corresponding C functions are `H5Aopen` and `H5Aread`.
    public func attribute(_ name: String) throws(HDF5Error) -> H5AttributeValue? {
        return try LibraryCalls.serialized { () throws(HDF5Error) in
            guard hasAttribute(name) else { return nil }
            let object = path + "@" + name
            let fail = HDF5Error.readFailure(path: file.path, object: object)
            HDF5ReadProgress.report(object)
            let attribute = try LibraryCalls.checked(H5Aopen(id, name, chdf5_property_default()), or: fail)
            defer { H5Aclose(attribute) }
            let type = try LibraryCalls.checked(H5Aget_type(attribute), or: fail)
            defer { H5Tclose(type) }
            let space = try LibraryCalls.checked(H5Aget_space(attribute), or: fail)
            defer { H5Sclose(space) }
            let count = Int(try LibraryCalls.checked(H5Sget_simple_extent_npoints(space), or: fail))

            switch H5Tget_class(type) {
            case H5T_STRING:
                return .strings(try readStrings(attribute: attribute, type: type, space: space, count: count, fail: fail))
            case H5T_INTEGER, H5T_FLOAT:
                var values = [Double](repeating: 0, count: count)
                if count > 0 {
                    try LibraryCalls.checked(H5Aread(attribute, chdf5_native_double(), &values), or: fail)
                }
                return .numbers(values)
            default:
                throw .unsupportedType(path: file.path, object: object, type: "a non-string, non-numeric attribute")
            }
        }
    }

    /// Reads a list of strings stored the way Keras stores `layer_names` and `weight_names`.
    ///
    /// Accepts a single string, a string array, an empty array of any type (Keras writes an
    /// empty `weight_names` as a zero-length float64 array), and Keras's split form for long
    /// lists, where the entries sit in `name0`, `name1`, … Returns nil when none exists.
    public func stringListAttribute(_ name: String) throws(HDF5Error) -> [String]? {
        return try LibraryCalls.serialized { () throws(HDF5Error) in
            if let value = try attribute(name) {
                return try strings(in: value, attribute: name)
            }
            var chunks: [String] = []
            var index = 0
            while let value = try attribute("\(name)\(index)") {
                chunks += try strings(in: value, attribute: "\(name)\(index)")
                index += 1
            }
            return index == 0 ? nil : chunks
        }
    }

    /// Reads a single string attribute, or returns nil when there is none.
    public func stringAttribute(_ name: String) throws(HDF5Error) -> String? {
        return try LibraryCalls.serialized { () throws(HDF5Error) in
            guard let value = try attribute(name) else { return nil }
            let list = try strings(in: value, attribute: name)
            guard list.count == 1 else {
                throw .unsupportedType(path: file.path, object: path + "@" + name, type: "\(list.count) strings where one was expected")
            }
            return list[0]
        }
    }

    private func strings(in value: H5AttributeValue, attribute name: String) throws(HDF5Error) -> [String] {
        switch value {
        case .strings(let list): return list
        case .numbers(let list) where list.isEmpty: return []
        case .numbers:
            throw .unsupportedType(path: file.path, object: path + "@" + name, type: "numbers where strings were expected")
        }
    }

    private func readStrings(
        attribute: hid_t, type: hid_t, space: hid_t, count: Int, fail: (String) -> HDF5Error
    ) throws(HDF5Error) -> [String] {
        guard count > 0 else { return [] }
        if H5Tis_variable_str(type) > 0 {
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            try LibraryCalls.checked(H5Aread(attribute, type, &pointers), or: fail)
            defer { H5Dvlen_reclaim(type, space, chdf5_property_default(), &pointers) }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        let width = H5Tget_size(type)
        var bytes = [UInt8](repeating: 0, count: width * count)
        try LibraryCalls.checked(H5Aread(attribute, type, &bytes), or: fail)
        return (0..<count).map { index in
            let field = bytes[(index * width)..<((index + 1) * width)]
            let text = field.prefix { $0 != 0 }
            return String(decoding: text, as: UTF8.self).trimmingTrailingSpaces()
        }
    }
}

extension String {
    /// Drops the trailing spaces of space-padded fixed-length HDF5 strings.
    func trimmingTrailingSpaces() -> String {
        var result = self
        while result.last == " " { result.removeLast() }
        return result
    }
}
