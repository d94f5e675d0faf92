import Foundation

/// Why a batch of result sets cannot be planned or written. Every case says what to do.
public enum ResultsError: Error, CustomStringConvertible, Equatable {
    /// An input argument that is neither a file nor a folder.
    case noSuchInput(String)
    /// A folder argument in which nothing matches the patterns.
    case emptyFolder(String, patterns: [String])
    /// Two inputs that would still write the same result names after mirroring their paths.
    case collision(String, String, name: String)
    /// A result set that exists already while neither `--overwrite` nor `--resume` was given.
    case exists(manifest: String)
    /// The output path is an existing file, or a folder that cannot be made.
    case outputFolder(String, reason: String)
    /// A `--shard` value that is not `I/N` with 0 ≤ I < N.
    case badShard(String, reason: String)
    /// A file operation that failed while committing a result set.
    case commit(String, reason: String)

    public var description: String {
        switch self {
        case .noSuchInput(let path): "\(path): no such file or folder"
        case .emptyFolder(let path, let patterns):
            "\(path): no files matching \(patterns.joined(separator: " or ")) in this folder or below (choose others with --glob)"
        case .collision(let first, let second, let name):
            "\(first) and \(second) would both write results named '\(name)'; rename one or run them into different -o folders"
        case .exists(let manifest):
            "\(manifest) exists from an earlier run; pass --overwrite to replace it or --resume to skip finished inputs"
        case .outputFolder(let path, let reason): "\(path): cannot use as the output folder (\(reason))"
        case .badShard(let text, let reason): "--shard \(text): \(reason)"
        case .commit(let path, let reason): "\(path): cannot write the result (\(reason))"
        }
    }
}
