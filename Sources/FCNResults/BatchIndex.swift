import Foundation

/// `index.jsonl` in an output folder: one JSON object per line and input (docs/heatmaps.md).
///
/// Each line is appended with a single `write` to a descriptor opened with `O_APPEND`, so
/// several processes (shards) appending to one index at once never interleave their lines.
public struct BatchIndex: Sendable {
    /// What happened to one input.
    public enum Status: String, Encodable, Sendable { case ok, failed, skipped }

    /// One line of the index.
    public struct Entry: Encodable, Sendable {
        /// The input path as given.
        public let input: String
        /// The result name (`<name>.json` is its manifest).
        public let result: String
        public let status: Status
        /// The files of the result set, relative to the output folder; empty when failed.
        public let outputs: [String]
        /// Milliseconds per stage (decode, run, render, write…); empty when skipped.
        public let timingsMs: [String: Double]
        /// The one-line error when failed, else null.
        public let error: String?

        public init(input: String, result: String, status: Status, outputs: [String], timingsMs: [String: Double], error: String?) {
            (self.input, self.result, self.status, self.outputs, self.timingsMs, self.error) = (input, result, status, outputs, timingsMs, error)
        }

        enum CodingKeys: String, CodingKey { case input, result, status, outputs, timingsMs = "timings_ms", error }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(input, forKey: .input)
            try container.encode(result, forKey: .result)
            try container.encode(status, forKey: .status)
            try container.encode(outputs, forKey: .outputs)
            try container.encode(timingsMs, forKey: .timingsMs)
            try container.encode(error, forKey: .error)
        }
    }

    /// The file's name inside the output folder.
    public static let fileName = "index.jsonl"

    public let path: String

    public init(folder: String) { path = URL(fileURLWithPath: folder).appendingPathComponent(Self.fileName).path }

    /// `entry` as one line of JSON, newline included: the index's line, also what
    /// `fcn heatmap --json` prints.
    public static func line(_ entry: Entry) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, arrays and finite numbers only: encoding cannot fail.
        var line = try! encoder.encode(entry)
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// Appends `entry` as one line. The corresponding C functions are `open` and `write`.
    public func append(_ entry: Entry) throws(ResultsError) {
        let line = Self.line(entry)
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .commit(path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count else { throw .commit(path, reason: written < 0 ? String(cString: strerror(errno)) : "short write") }
    }
}
