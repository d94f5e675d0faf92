import Foundation

/// Renders an `InspectionReport` as an aligned text table with a summary.
struct InspectionTable {
    let report: InspectionReport

    func render() -> String {
        let header = ["#", "name", "type", "output", "params", "kernel", "stride", "pad t,b,l,r", "RF", "jump", "start", "FCN"]
        let rows = report.layers.map { row -> [String] in
            [String(row.index), row.name, row.type, row.outputShape.map(String.init).joined(separator: "×"),
             String(row.params), pair(row.kernel), pair(row.stride),
             row.padding.map { $0.map(String.init).joined(separator: ",") } ?? "-",
             pair(row.receptiveField), pair(row.jump),
             row.start.map { $0.map(number).joined(separator: ",") } ?? "-",
             row.fcnForm]
        }
        let refused = report.layers.filter { !$0.convolutionalizable }
        var lines = [
            "Model: \(report.model.path) (\(report.model.format))",
            "Input: \(report.inputShape.map(String.init).joined(separator: "×")) (\(report.model.dataFormat))"
                + (report.model.kernelsFlipped ? ", Theano kernels flipped to cross-correlation" : "")
                + (report.model.hasWeights ? "" : ", architecture only (no weights)"),
            "",
        ]
        lines += TextTable.lines([header] + rows)
        for row in refused { lines.append("  \(row.index) \(row.name): \(row.reason ?? "")") }
        lines.append("")
        lines.append("Parameters: \(report.totalParams)")
        if report.inputSize != Array(report.inputShape.prefix(2)), report.outputGrid == nil {
            lines.append("Geometry shown for a \(report.inputSize[0])×\(report.inputSize[1]) input, where every merge aligns")
        }
        if let field = report.receptiveField, let stride = report.stride, let start = report.start {
            lines.append("Receptive field of the last layer: \(field[0])×\(field[1]) px, stride \(stride[0])×\(stride[1]) px, "
                         + "first cell centred at (\(number(start[0])), \(number(start[1])))")
        }
        if let grid = report.outputGrid {
            lines.append("Output grid for a \(report.inputSize[0])×\(report.inputSize[1]) input: \(grid[0])×\(grid[1]) cells")
        }
        lines.append(report.convolutionalizable
                     ? "Converts to a fully convolutional network: yes"
                     : "Converts to a fully convolutional network: no (\(report.reason ?? ""))")
        if let file = report.kerasFile {
            lines.append(file.writable ? "fcn convert writes it as a Keras .h5: yes"
                                       : "fcn convert writes it as a Keras .h5: no (\(file.reason ?? ""))")
        }
        return lines.joined(separator: "\n")
    }

    private func pair(_ values: [Int]?) -> String {
        guard let values else { return "-" }
        return values[0] == values[1] ? String(values[0]) : "\(values[0])×\(values[1])"
    }

    private func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
