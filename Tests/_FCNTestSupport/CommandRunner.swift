import Foundation
import Testing

/// Runs the built `fcn` binary, as a user would, and captures what it prints.
public enum CommandRunner {
    /// What one run gave.
    public struct Result: Sendable {
        public let status: Int32
        public let standardOutput: String
        public let standardError: String
    }

    /// The `fcn` executable beside the test bundle in the build folder.
    public static var executable: URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // The test runner may live inside an .xctest bundle folder.
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("fcn").path),
              directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("fcn")
    }

    /// Runs `fcn` with `arguments` in `directory` (default: the repository root).
    public static func run(_ arguments: [String], in directory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory ?? Fixtures.repositoryRoot
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Read before waiting so that a full pipe cannot stall the child.
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      standardOutput: String(decoding: outputData, as: UTF8.self),
                      standardError: String(decoding: errorData, as: UTF8.self))
    }
}

extension CommandRunner {
    /// Runs `fcn` with `arguments` and expects it to fail with a one-line message on standard
    /// error that contains each of `fragments`; returns that message.
    @discardableResult
    public static func expectOneLineError(_ arguments: [String], mentions fragments: [String],
                                          sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = try run(arguments)
        #expect(result.status != 0, sourceLocation: sourceLocation)
        let message = result.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!message.contains("\n"), "more than one line: \(message)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(message.contains(fragment), "\(message) lacks \(fragment)", sourceLocation: sourceLocation)
        }
        return message
    }
}
