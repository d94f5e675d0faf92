import Foundation

/// The rule for a command's `-o` file: a folder is refused, and an existing file is replaced
/// only with `--overwrite`; checked before any model is read.
struct OutputPathError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "\(path) \(reason)" }

    /// Throws unless `path` may be written as a file.
    static func check(_ path: String, overwrite: Bool) throws(OutputPathError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return }
        guard !isDirectory.boolValue else { throw OutputPathError(path: path, reason: "is a folder; give a file name with -o") }
        guard overwrite else { throw OutputPathError(path: path, reason: "exists; pass --overwrite to replace it") }
    }
}
