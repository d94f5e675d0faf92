import Foundation

/// An output folder of result sets, one per input: `<name>.json` (the manifest) and the files
/// it lists under `files`, relative to the manifest's folder.
///
/// A result set is *complete* when its manifest parses, lists its files, and every listed file
/// exists; anything less is incomplete and is redone by `--resume`. A set becomes visible all
/// at once: its files are written into a hidden staging folder inside the output folder, moved
/// into place by `rename`, and the manifest moved last, so a reader that finds a manifest
/// finds every file it lists (docs/heatmaps.md, "Result sets").
public struct ResultFolder: Sendable {
    /// What to do with an input whose manifest exists already.
    public enum Policy: Sendable {
        /// Refuse the run before any work (the default).
        case refuse
        /// Replace the set, removing the files of the old manifest that the new one lacks.
        case overwrite
        /// Skip complete sets; redo incomplete ones.
        case resume
    }

    public let path: String

    /// Checks that `path` is a folder or can become one (it is made by `create`, not here, so a
    /// run refused up front leaves nothing behind).
    public init(path: String) throws(ResultsError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw .outputFolder(path, reason: "it is an existing file; give a folder with -o")
        }
        self.path = path
    }

    public var exists: Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Makes the folder (and its parents) when missing; returns whether it was made.
    @discardableResult
    public func create() throws(ResultsError) -> Bool {
        guard !exists else { return false }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .outputFolder(path, reason: Self.reason(error))
        }
        return true
    }

    /// The manifest of the set `name`.
    public func manifestPath(for name: String) -> String { url(name + ".json").path }

    /// The files the manifest of `name` lists (relative to its folder), or nil when it is
    /// missing or does not parse.
    public func listedFiles(of name: String) -> [String]? {
        guard let data = FileManager.default.contents(atPath: manifestPath(for: name)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let files = object["files"] as? [String] else { return nil }
        return files.allSatisfy(Self.isPlainFileName) ? files : nil
    }

    /// Whether the set `name` is complete: manifest present and every file it lists present.
    public func isComplete(_ name: String) -> Bool {
        guard let files = listedFiles(of: name) else { return false }
        let folder = url(name).deletingLastPathComponent()
        return files.allSatisfy { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }
    }

    /// Splits `inputs` into those to process and those skipped under `policy`, or refuses the
    /// run (`.refuse`) naming the first existing manifest.
    public func plan(_ inputs: [BatchInput], policy: Policy) throws(ResultsError) -> (todo: [BatchInput], skipped: [BatchInput]) {
        switch policy {
        case .overwrite:
            return (inputs, [])
        case .refuse:
            if let existing = inputs.first(where: { FileManager.default.fileExists(atPath: manifestPath(for: $0.name)) }) {
                throw .exists(manifest: manifestPath(for: existing.name))
            }
            return (inputs, [])
        case .resume:
            let skipped = inputs.filter { isComplete($0.name) }
            let done = Set(skipped.map(\.name))
            return (inputs.filter { !done.contains($0.name) }, skipped)
        }
    }

    /// A fresh hidden staging folder inside the output folder, removed when dropped.
    public func stage() throws(ResultsError) -> Staging {
        let staging = url(".fcn-staging-\(getpid())-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw .outputFolder(path, reason: "cannot make a staging folder: \(Self.reason(error))")
        }
        return Staging(path: staging.path)
    }

    /// Moves the staged `files` and the manifest (`manifest`, which must list exactly `files`
    /// under `files`) into place as the set `name`, replacing an earlier set of that name: its
    /// manifest goes first, then its files the new set lacks, then the new files, the new
    /// manifest last. Returns the set's paths relative to the output folder, manifest last.
    public func commit(_ staging: Staging, name: String, files: [String], manifest: Data) throws(ResultsError) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: manifest) as? [String: Any],
              let listed = object["files"] as? [String], listed == files, files.allSatisfy(Self.isPlainFileName) else {
            preconditionFailure("the manifest of \(name) must list exactly its files")
        }
        let target = url(name).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        } catch {
            throw .commit(target.path, reason: Self.reason(error))
        }
        let manifestName = ResultName.leaf(of: name) + ".json"
        if let old = listedFiles(of: name) {
            unlink(manifestPath(for: name))
            for file in old where !files.contains(file) { unlink(target.appendingPathComponent(file).path) }
        }
        let manifestStaged = URL(fileURLWithPath: staging.path).appendingPathComponent(manifestName).path
        guard FileManager.default.createFile(atPath: manifestStaged, contents: manifest) else {
            throw .commit(manifestStaged, reason: "cannot write the manifest")
        }
        for file in files + [manifestName] {
            let source = URL(fileURLWithPath: staging.path).appendingPathComponent(file).path
            let destination = target.appendingPathComponent(file).path
            guard rename(source, destination) == 0 else { throw .commit(destination, reason: String(cString: strerror(errno))) }
        }
        return (files + [manifestName]).map { ResultName.joined(ResultName.folder(of: name), $0) }
    }

    /// The set's files, its manifest last, relative to the output folder (what `commit`
    /// returned), or nil when its manifest is missing or does not parse.
    public func outputs(of name: String) -> [String]? {
        listedFiles(of: name).map { ($0 + [ResultName.leaf(of: name) + ".json"]).map { ResultName.joined(ResultName.folder(of: name), $0) } }
    }

    /// Removes the folder if it holds nothing (used when a run made it and wrote nothing).
    public func removeIfEmpty() {
        rmdir(path)
    }

    private func url(_ relative: String) -> URL { URL(fileURLWithPath: path).appendingPathComponent(relative) }

    private static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && name != "." && name != ".."
    }

    private static func reason(_ error: any Error) -> String {
        if let cocoa = error as? CocoaError, let underlying = cocoa.userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return (error as NSError).localizedDescription
    }
}

/// A hidden folder inside the output folder where one input's files are written before they
/// are committed; it is removed (with whatever is left in it) when the value is dropped, so an
/// input abandoned by an error or a stop request leaves nothing.
public final class Staging: @unchecked Sendable {
    public let path: String
    init(path: String) { self.path = path }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}
