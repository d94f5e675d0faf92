import ArgumentParser
import FCNModel
import Foundation

/// `fcn inspect`: the layers of a model with their shapes and receptive fields.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show each layer's output shape, parameters and receptive field, and whether the model converts to an FCN.")

    @OptionGroup var modelArguments: ModelArguments

    @Option(help: "Work out the geometry and output grid for this input size (HxW).")
    var input: Size2D?

    @Flag(help: "Print JSON (keys documented in docs/inspect-json.md) instead of a table.")
    var json = false

    func run() throws {
        let model = try modelArguments.load()
        let report = try InspectionReport(model: model, input: input)
        if json {
            print(try JSONOutput.text(report))
        } else {
            print(InspectionTable(report: report).render())
        }
    }
}
