/// The order Keras gives a functional model's `layers`: by decreasing depth (the longest path to
/// the output), ties in the order a depth-first walk from the output first meets them.
///
/// Keras files depend on it: the legacy `.h5` loader pairs `layer_names` with the layers in this
/// order, and Keras 3's `.weights.h5` numbers repeated class names (`conv2d_1`, …) in it. So
/// both the importer and the exporter use this one function.
///
/// - Parameters:
///   - names: every layer, inputs included, in any topological order.
///   - reads: the layers each one reads, in argument order.
///   - output: the output layer.
/// - Returns: `names` in Keras's order.
public func kerasLayerOrder(_ names: [String], reads: [String: [String]], output: String) -> [String] {
    var depth: [String: Int] = [output: 0]
    for name in names.reversed() {
        for input in reads[name] ?? [] { depth[input] = max(depth[input] ?? 0, (depth[name] ?? 0) + 1) }
    }
    var visitOrder: [String: Int] = [:]
    var stack = [output]
    while let name = stack.popLast() {
        guard visitOrder[name] == nil else { continue }
        visitOrder[name] = visitOrder.count
        stack += (reads[name] ?? []).reversed()
    }
    return names.sorted { first, second in
        let (a, b) = (depth[first] ?? 0, depth[second] ?? 0)
        return a != b ? a > b : (visitOrder[first] ?? .max) < (visitOrder[second] ?? .max)
    }
}
