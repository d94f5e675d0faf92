import ArgumentParser
import FCNDiagnostics
import Foundation
import FCNKerasExport

/// `fcn`: turns image classifiers into fully convolutional networks and runs them.
@main
struct FCNCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fcn",
        abstract: "Turn image classifiers into fully convolutional networks and make class heatmaps.",
        discussion: """
            Reads Keras .h5 files of every generation (full models and weights-only with --arch), \
            Keras 3 .weights.h5 and Caffe .caffemodel.h5 snapshots with their .prototxt.
            """,
        version: KerasFileWriter.fcnkitVersion,
        subcommands: [InspectCommand.self, ConvertCommand.self, RunCommand.self, VerifyCommand.self, BenchCommand.self, HeatmapCommand.self,
                      ReadModelCommand.self])

    /// Suggests the nearest subcommand for a mistyped one (`fcn heatmpa …`) before parsing,
    /// which would otherwise report the words as unexpected arguments.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let allNames = configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"]
        let names = configuration.subcommands.filter { $0.configuration.shouldDisplay }.compactMap { $0.configuration.commandName } + ["help"]
        if let word = arguments.first, !word.hasPrefix("-"), !allNames.contains(word) {
            let nearest = names.min { editDistance(word, $0) < editDistance(word, $1) }!
            let hint = editDistance(word, nearest) <= 2 ? " Did you mean '\(nearest)'?" : ""
            exit(withError: ValidationError("unknown subcommand '\(word)'.\(hint) Subcommands: \(names.dropLast().joined(separator: ", "))."))
        }
        do {
            var command = try parseAsRoot(nil)
            try command.run()
        } catch {
            // Help and --version exit cleanly, as ArgumentParser prints them; every error message
            // goes out with its control characters escaped, whatever a file put in it.
            guard exitCode(for: error) != .success else { exit(withError: error) }
            FileHandle.standardError.write(Data((QuotedName.printable(fullMessage(for: error)) + "\n").utf8))
            Foundation.exit(exitCode(for: error).rawValue)
        }
    }

    /// Levenshtein distance between two words.
    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() { current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))) }
            previous = current
        }
        return previous[b.count]
    }
}
