import Foundation
import FCNModel
import Testing

/// Compares `actual` with `expected`: shape first, then every value within `tolerance` times
/// the largest reference magnitude (the verify tolerance). On failure it reports the first
/// offending index, both values and the error.
public func expectClose(_ actual: Tensor, _ expected: Tensor, tolerance: Float = 1e-4, _ context: String = "",
                        sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.shape == expected.shape, "\(context): shape \(actual.shape) vs \(expected.shape)", sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    let scale = max(expected.values.map(abs).max() ?? 0, Float.leastNormalMagnitude)
    var worst = (index: 0, error: Float(0))
    for (index, (value, reference)) in zip(actual.values, expected.values).enumerated() {
        let error = abs(value - reference)
        if !(error <= worst.error) { worst = (index, error) }
    }
    if ProcessInfo.processInfo.environment["FCN_PRINT_ERRORS"] != nil {
        print("error \(context): max abs \(worst.error), relative \(worst.error / scale) over \(actual.values.count) values")
    }
    #expect(worst.error <= tolerance * scale,
            "\(context): at flat index \(worst.index) expected \(expected.values[worst.index]), got \(actual.values[worst.index]) (error \(worst.error), scale \(scale))",
            sourceLocation: sourceLocation)
}
