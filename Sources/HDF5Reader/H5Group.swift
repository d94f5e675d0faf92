import CHDF5

/// An open HDF5 group; closed when the last reference goes away.
public final class H5Group: H5Object {
    public let file: H5File
    public let path: String
    public let id: hid_t

    /// What a group member is.
    public enum MemberKind: Sendable {
        case group, dataset, other
    }

    init(file: H5File, parentID: hid_t, name: String, path: String) throws(HDF5Error) {
        self.file = file
        self.path = path
        id = try LibraryCalls.checked(H5Gopen2(parentID, name, chdf5_property_default()),
                                      or: HDF5Error.readFailure(path: file.path, object: path))
    }

    deinit { LibraryCalls.serialized { _ = H5Gclose(id) } }

    /// The names of the group's direct members, sorted by name.
    ///
    /// The corresponding C functions are `H5Gget_info` and `H5Lget_name_by_idx`.
    public func memberNames() throws(HDF5Error) -> [String] {
        return try LibraryCalls.serialized { () throws(HDF5Error) in
            var info = H5G_info_t()
            let fail = HDF5Error.readFailure(path: file.path, object: path)
            try LibraryCalls.checked(H5Gget_info(id, &info), or: fail)
            var names: [String] = []
            for index in 0..<info.nlinks {
                let length = H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, chdf5_property_default())
                try LibraryCalls.checked(length, or: fail)
                var buffer = [CChar](repeating: 0, count: Int(length) + 1)
                H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, chdf5_property_default())
                names.append(String(nulTerminated: buffer))
            }
            return names
        }
    }

    /// What the member at the relative path `name` is, or nil when there is none.
    ///
    /// `name` may contain `/` to reach into subgroups, as Keras weight names do
    /// (`conv2d_1/kernel:0`). The corresponding C functions are `H5Lexists` and `H5Oopen`.
    public func memberKind(_ name: String) -> MemberKind? {
        return LibraryCalls.serialized {
            guard exists(name) else { return nil }
            let object = H5Oopen(id, name, chdf5_property_default())
            guard object >= 0 else {
                _ = LibraryCalls.takeErrorMessage()
                return nil
            }
            defer { H5Oclose(object) }
            switch H5Iget_type(object) {
            case H5I_GROUP: return .group
            case H5I_DATASET: return .dataset
            default: return .other
            }
        }
    }

    /// Opens the subgroup at the relative path `name`.
    ///
    /// - Throws: `HDF5Error.missingObject` when there is no such group.
    public func group(_ name: String) throws(HDF5Error) -> H5Group {
        guard let group = try groupIfPresent(name) else { throw .missingObject(path: file.path, object: childPath(name)) }
        return group
    }

    /// Opens the subgroup at the relative path `name`, or returns nil when there is no group there.
    public func groupIfPresent(_ name: String) throws(HDF5Error) -> H5Group? {
        return try LibraryCalls.serialized { () throws(HDF5Error) in
            guard memberKind(name) == .group else { return nil }
            return try H5Group(file: file, parentID: id, name: name, path: childPath(name))
        }
    }

    /// Opens the dataset at the relative path `name`.
    ///
    /// - Throws: `HDF5Error.missingObject` when there is no such dataset.
    public func dataset(_ name: String) throws(HDF5Error) -> H5Dataset {
        return try LibraryCalls.serialized { () throws(HDF5Error) in
            guard memberKind(name) == .dataset else { throw .missingObject(path: file.path, object: childPath(name)) }
            return try H5Dataset(file: file, parentID: id, name: name, path: childPath(name))
        }
    }

    /// Whether every link along the relative path `name` exists.
    private func exists(_ name: String) -> Bool {
        var prefix = ""
        for component in name.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += prefix.isEmpty ? String(component) : "/" + component
            let result = H5Lexists(id, prefix, chdf5_property_default())
            if result < 0 { _ = LibraryCalls.takeErrorMessage() }
            if result <= 0 { return false }
        }
        return !prefix.isEmpty
    }
}
