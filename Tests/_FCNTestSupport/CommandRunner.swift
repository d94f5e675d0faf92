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

    /// Runs `fcn` with `arguments` in `directory` (default: the repository root), with
    /// `environment` added to this process's.
    public static func run(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
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

extension CommandRunner {
    /// A running `fcn`, whose standard output can be watched line by line and which can be
    /// sent signals (for the tests of interrupted runs).
    public final class Running: @unchecked Sendable {
        let process: Process
        private let lock = NSLock()
        private var output = Data()
        private var errorOutput = Data()
        private let outputDone = DispatchSemaphore(value: 0)
        private let errorDone = DispatchSemaphore(value: 0)

        init(_ process: Process, output: Pipe, error: Pipe) {
            self.process = process
            Thread.detachNewThread { [self] in
                while case let chunk = output.fileHandleForReading.availableData, !chunk.isEmpty {
                    lock.withLock { self.output.append(chunk) }
                }
                outputDone.signal()
            }
            Thread.detachNewThread { [self] in
                let data = error.fileHandleForReading.readDataToEndOfFile()
                lock.withLock { errorOutput = data }
                errorDone.signal()
            }
        }

        /// Waits until standard output holds `count` lines or the process ends.
        public func waitForLines(_ count: Int) {
            while process.isRunning, lock.withLock({ output.filter { $0 == UInt8(ascii: "\n") }.count }) < count {
                Thread.sleep(forTimeInterval: 0.005)
            }
        }

        /// Sends `signal` to the process. The corresponding C function is `kill`.
        public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

        /// Waits for the end and returns what the run gave.
        public func finish() -> Result {
            outputDone.wait()
            errorDone.wait()
            process.waitUntilExit()
            return lock.withLock {
                Result(status: process.terminationStatus, standardOutput: String(decoding: output, as: UTF8.self),
                       standardError: String(decoding: errorOutput, as: UTF8.self))
            }
        }
    }

    /// Starts `fcn` with `arguments` without waiting for it.
    public static func start(_ arguments: [String], in directory: URL? = nil) throws -> Running {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory ?? Fixtures.repositoryRoot
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        return Running(process, output: output, error: error)
    }
}
