import Foundation

/// One input of a batch: the file to read and the name its results take.
public struct BatchInput: Equatable, Sendable {
    /// The path as the user gave it, or as found by walking a folder argument.
    public let path: String
    /// The result name: a path relative to the output folder without extension, e.g. `scene`
    /// or `a/scene` (mirrored when two inputs share a name), or `digits.jpg` when only the
    /// extension tells two inputs apart. Result files are `<name>.…`, the manifest `<name>.json`.
    public let name: String

    public init(path: String, name: String) { (self.path, self.name) = (path, name) }

    /// The folder part of `name` ("" for a name without one): where its files go, relative to
    /// the output folder.
    public var folder: String { ResultName.folder(of: name) }

    /// The last part of `name`: the prefix of its file names.
    public var leaf: String { ResultName.leaf(of: name) }
}

/// Splitting result names and relative paths at `/` (plain string work: Foundation's
/// `NSString` path methods trap on some one-character names on Linux).
enum ResultName {
    static func folder(of name: String) -> String {
        guard let slash = name.lastIndex(of: "/") else { return "" }
        return String(name[..<slash])
    }

    static func leaf(of name: String) -> String {
        guard let slash = name.lastIndex(of: "/") else { return name }
        return String(name[name.index(after: slash)...])
    }

    /// `folder/file`, or `file` when `folder` is empty.
    static func joined(_ folder: String, _ file: String) -> String { folder.isEmpty ? file : folder + "/" + file }

    /// `relative` without its last extension: `a/x.png` → `a/x`; `a/.x` and `a/x` unchanged.
    static func droppingExtension(_ relative: String) -> String {
        let leaf = leaf(of: relative)
        guard let dot = leaf.lastIndex(of: "."), dot != leaf.startIndex else { return relative }
        return joined(folder(of: relative), String(leaf[..<dot]))
    }
}

/// The inputs of a batch run, in a deterministic order, with names that never collide.
///
/// File arguments keep their order; a folder argument is walked recursively (hidden files and
/// folders and the output folder skipped) and its matches follow in sorted order of their
/// relative paths. Names are decided here, for the whole list, before any sharding or work, so
/// every shard of a run agrees on them (docs/heatmaps.md, "Result names").
public enum InputList {
    /// The patterns a folder is walked with when `--glob` is not given (case-insensitive).
    public static let defaultPatterns = ["*.png", "*.jpg", "*.jpeg", "*.npy",
                                         "*.svs", "*.tif", "*.tiff", "*.ndpi", "*.mrxs", "*.scn", "*.bif", "*.vms"]

    /// Expands `arguments` (files and folders) into named inputs.
    ///
    /// - Parameters:
    ///   - patterns: `fnmatch` patterns matched against each file's path relative to the walked
    ///     folder (`*` also crosses `/`), case-insensitively.
    ///   - excluding: a folder never walked into (the output folder).
    ///   - note: called with one line for each duplicate argument dropped.
    public static func collect(_ arguments: [String], patterns: [String] = defaultPatterns, excluding: String? = nil,
                               note: (String) -> Void = { _ in }) throws(ResultsError) -> [BatchInput] {
        var found: [(path: String, relative: String)] = []
        var seen = Set<String>()
        let excluded = excluding.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        for argument in arguments {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                throw .noSuchInput(argument)
            }
            let entries = isDirectory.boolValue
                ? try walk(argument, patterns: patterns, excluding: excluded)
                : [(argument, URL(fileURLWithPath: argument).lastPathComponent)]
            for entry in entries {
                let key = URL(fileURLWithPath: entry.0).standardizedFileURL.path
                guard seen.insert(key).inserted else {
                    note("\(entry.0) is given more than once; its results are made once")
                    continue
                }
                found.append(entry)
            }
        }
        return try names(for: found)
    }

    /// `fnmatch`'s case-insensitive flag; Glibc declares it only under `_GNU_SOURCE`.
    #if os(Linux)
    private static let caseFold: Int32 = 1 << 4
    #else
    private static let caseFold: Int32 = FNM_CASEFOLD
    #endif

    private static func walk(_ folder: String, patterns: [String], excluding excluded: String?) throws(ResultsError) -> [(String, String)] {
        let root = URL(fileURLWithPath: folder)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey, .isDirectoryKey],
                                                          options: [.skipsHiddenFiles]) else { throw .noSuchInput(folder) }
        var matches: [(String, String)] = []
        let prefix = root.standardizedFileURL.path.hasSuffix("/") ? root.standardizedFileURL.path : root.standardizedFileURL.path + "/"
        for case let url as URL in walker {
            let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .isDirectoryKey])
            let standardized = url.standardizedFileURL.path
            if values?.isDirectory == true {
                if standardized == excluded { walker.skipDescendants() }
                continue
            }
            guard values?.isRegularFile == true, standardized.hasPrefix(prefix) else { continue }
            let relative = String(standardized.dropFirst(prefix.count))
            guard patterns.contains(where: { fnmatch($0, relative, caseFold) == 0 }) else { continue }
            let shown = folder.hasSuffix("/") ? folder + relative : folder + "/" + relative
            matches.append((shown, relative))
        }
        guard !matches.isEmpty else { throw .emptyFolder(folder, patterns: patterns) }
        return matches.sorted { $0.1.utf8.lexicographicallyPrecedes($1.1.utf8) }
    }

    /// Names each input by its relative path without extension; inputs that share a name are
    /// named by their path relative to the group's deepest common folder, and keep their
    /// extension when only it differs.
    static func names(for inputs: [(path: String, relative: String)]) throws(ResultsError) -> [BatchInput] {
        let stem = ResultName.droppingExtension
        var names = inputs.map { stem($0.relative) }
        let groups = Dictionary(grouping: names.indices, by: { names[$0] }).values.filter { $0.count > 1 }
        for group in groups {
            let absolute = group.map { URL(fileURLWithPath: inputs[$0].path).standardizedFileURL.pathComponents }
            var common = absolute[0].dropLast().count
            for components in absolute.dropFirst() {
                common = min(common, zip(absolute[0], components.dropLast()).prefix { $0 == $1 }.count)
            }
            let mirrored = absolute.map { $0.dropFirst(common).joined(separator: "/") }
            let stems = mirrored.map(stem)
            for (position, index) in group.enumerated() {
                let clash = stems.filter { $0 == stems[position] }.count > 1
                names[index] = clash ? mirrored[position] : stems[position]
            }
        }
        var owner: [String: Int] = [:]
        for (index, name) in names.enumerated() {
            if let first = owner[name] { throw .collision(inputs[first].path, inputs[index].path, name: name) }
            owner[name] = index
        }
        return zip(inputs, names).map { BatchInput(path: $0.0.path, name: $0.1) }
    }
}
