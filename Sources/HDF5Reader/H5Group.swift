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
        HDF5ReadProgress.report(path)
        id = try LibraryCalls.checked(H5Gopen2(parentID, name, chdf5_property_default()),
                                      or: HDF5Error.readFailure(path: file.path, object: path))
    }

    deinit { LibraryCalls.serialized { _ = H5Gclose(id) } }

    /// The names of the group's direct members, sorted by name.
    ///
    /// The links are visited once, in name order (linear in their number, not quadratic as
    /// lookups by index are). The corresponding C function is `H5Literate`.
    public func memberNames() throws(HDF5Error) -> [String] {
        return try LibraryCalls.serialized { () throws(HDF5Error) in
            let names = NameCollector()
            var position: hsize_t = 0
            let status = withExtendedLifetime(names) {
                H5Literate(id, H5_INDEX_NAME, H5_ITER_INC, &position, { _, name, _, collector in
                    guard let name, let collector else { return -1 }
                    Unmanaged<NameCollector>.fromOpaque(collector).takeUnretainedValue().names.append(String(cString: name))
                    return 0
                }, Unmanaged.passUnretained(names).toOpaque())
            }
            try LibraryCalls.checked(status, or: HDF5Error.readFailure(path: file.path, object: path))
            return names.names
        }
    }

    /// The names `H5Literate`'s callback appends to.
    private final class NameCollector {
        var names: [String] = []
    }

    /// What the member at the relative path `name` is, or nil when there is none.
    ///
    /// `name` may contain `/` to reach into subgroups, as Keras weight names do
    /// (`conv2d_1/kernel:0`). A path through a soft or external link is `.other`: such links are
    /// never followed. The corresponding C functions are `H5Lexists`, `H5Lget_info` and `H5Oopen`.
    public func memberKind(_ name: String) -> MemberKind? {
        return LibraryCalls.serialized {
            switch links(along: name) {
            case .missing: return nil
            case .notHard: return .other
            case .hard: break
            }
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
            try refuseLinks(along: name)
            guard memberKind(name) == .group else { return nil }
            return try H5Group(file: file, parentID: id, name: name, path: childPath(name))
        }
    }

    /// Opens the dataset at the relative path `name`.
    ///
    /// - Throws: `HDF5Error.missingObject` when there is no such dataset.
    public func dataset(_ name: String) throws(HDF5Error) -> H5Dataset {
        return try LibraryCalls.serialized { () throws(HDF5Error) in
            try refuseLinks(along: name)
            guard memberKind(name) == .dataset else { throw .missingObject(path: file.path, object: childPath(name)) }
            return try H5Dataset(file: file, parentID: id, name: name, path: childPath(name))
        }
    }

    /// What the links along a relative path are.
    private enum LinkChain {
        /// Some link along the path does not exist.
        case missing
        /// Every link exists and is a hard link.
        case hard
        /// The link at `prefix` is a soft, external or user-defined link.
        case notHard(prefix: String)
    }

    /// Walks the relative path `name` one link at a time, without following any link that
    /// is not a hard link. The corresponding C functions are `H5Lexists` and `H5Lget_info`.
    private func links(along name: String) -> LinkChain {
        var prefix = ""
        for component in name.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += prefix.isEmpty ? String(component) : "/" + component
            let result = H5Lexists(id, prefix, chdf5_property_default())
            if result < 0 { _ = LibraryCalls.takeErrorMessage() }
            if result <= 0 { return .missing }
            var info = H5L_info_t()
            guard H5Lget_info(id, prefix, &info, chdf5_property_default()) >= 0 else {
                _ = LibraryCalls.takeErrorMessage()
                return .missing
            }
            if info.type != H5L_TYPE_HARD { return .notHard(prefix: prefix) }
        }
        return prefix.isEmpty ? .missing : .hard
    }

    /// Throws `HDF5Error.refused` when a link along `name` is not a hard link.
    private func refuseLinks(along name: String) throws(HDF5Error) {
        if case .notHard(let prefix) = links(along: name) {
            throw .refused(path: file.path, object: childPath(prefix), reason: "it is a soft or external link")
        }
    }
}
