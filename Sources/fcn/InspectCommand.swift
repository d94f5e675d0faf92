import ArgumentParser
import FCNDiagnostics
import FCNImport
import FCNModel
import Foundation

/// `fcn inspect`: the layers of a model with their shapes and receptive fields.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show each layer's output shape, parameters and receptive field, and whether the model converts to an FCN.",
        discussion: """
            Examples:
              fcn inspect models/digits-lenet.h5 --input 240x360
              fcn inspect weights.h5 --arch model.json --json
            """)

    @OptionGroup var modelArguments: ModelArguments

    @Option(help: "Work out the geometry and output grid for this input size (HxW).")
    var input: Size2D?

    @Flag(help: "Print JSON (keys documented in docs/inspect-json.md) instead of a table.")
    var json = false

    func run() throws {
        let model: Model
        do {
            model = try modelArguments.load()
        } catch ImportError.architectureRequired(let path, let format) {
            // Without its architecture a weights file can still say what it holds.
            let stored = try ModelImporter.storedWeights(path: path)
            print("\(path): a \(format) file without its architecture; its stored weights:")
            print(TextTable.lines([["array", "shape"]] + stored.map { [QuotedName.quoted($0.path), "(" + $0.shape.map(String.init).joined(separator: ", ") + ")"] })
                .joined(separator: "\n"))
            throw ImportError.architectureRequired(path: path, format: format)
        }
        let report = try InspectionReport(model: model, input: input)
        if json {
            print(try JSONOutput.text(report))
        } else {
            print(InspectionTable(report: report).render())
        }
    }
}
