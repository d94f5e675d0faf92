import FCNModel

/// Merges of several HWC maps into one: the element-wise merges of Keras's `Add`, `Subtract`,
/// `Multiply`, `Average`, `Maximum`, `Minimum` (and Caffe's `Eltwise`), and `Concatenate`
/// along channels.
enum MergeKernel {
    /// Combines N ≥ 2 inputs element by element into `output` (H, W, C).
    ///
    /// Each input is either (H, W, C), like the output, or (1, 1, C): one value per channel,
    /// broadcast over every position (squeeze-and-excitation's scaling).
    ///
    /// - Parameters:
    ///   - kind: the merge; `.subtract` takes exactly two inputs and computes the first minus the second.
    ///   - inputs: the inputs, each (H, W, C) or (1, 1, C), as given by `inputSizes`.
    ///   - output: (H, W, C); it may be the first input's buffer when that input is full size (the
    ///     result is written over it), but must not share any other input's memory.
    ///   - workers: threads to share the output rows among.
    ///
    /// Fewer than two inputs, a wrong count for `.subtract` or an input of another shape are
    /// programmer errors and trap.
    static func merge(_ kind: MergeKind, inputs: [UnsafePointer<Float>], inputSizes: [MapSize],
                      output: UnsafeMutablePointer<Float>, outputSize: MapSize, workers: Int = 1) {
        precondition(inputs.count >= 2 && inputs.count == inputSizes.count, "A merge needs two or more inputs, each with a size")
        precondition(kind != .subtract || inputs.count == 2, "Subtract takes exactly two inputs")
        let channels = outputSize.channels
        let isBroadcast = inputSizes.map { size -> Bool in
            precondition(size.channels == channels, "Merge input has \(size.channels) channels, output \(channels)")
            if size.height == outputSize.height, size.width == outputSize.width { return false }
            precondition(size.height == 1 && size.width == 1, "Merge input \(size) is neither the output's size nor (1, 1, C)")
            return true
        }
        precondition(inputs.dropFirst().allSatisfy { $0 != UnsafePointer(output) }, "Merge output may only be the first input's buffer")
        let rowLength = outputSize.width * channels
        let scale = 1 / Float(inputs.count)
        Parallel.split(outputSize.height, workers: workers, minimumShare: max(1, 16384 / max(rowLength, 1))) { _, rows in
            let start = rows.lowerBound * rowLength
            let count = rows.count * rowLength
            let target = output + start
            // The first input, then each further one combined into the output.
            for (index, input) in inputs.enumerated() {
                if isBroadcast[index] {
                    for position in 0..<(count / max(channels, 1)) {
                        let cell = target + position * channels
                        if index == 0 {
                            cell.update(from: input, count: channels)
                        } else {
                            combine(kind, into: cell, from: input, count: channels)
                        }
                    }
                } else if index == 0 {
                    if UnsafePointer(target) != input + start { target.update(from: input + start, count: count) }
                } else {
                    combine(kind, into: target, from: input + start, count: count)
                }
            }
            if kind == .average {
                for element in 0..<count { target[element] *= scale }
            }
        }
    }

    /// `target[i] = target[i] ∘ source[i]` for `count` values; the average's sum is divided later.
    private static func combine(_ kind: MergeKind, into target: UnsafeMutablePointer<Float>, from source: UnsafePointer<Float>, count: Int) {
        switch kind {
        case .add, .average:
            for element in 0..<count { target[element] += source[element] }
        case .subtract:
            for element in 0..<count { target[element] -= source[element] }
        case .multiply:
            for element in 0..<count { target[element] *= source[element] }
        case .maximum:
            for element in 0..<count { target[element] = max(target[element], source[element]) }
        case .minimum:
            for element in 0..<count { target[element] = min(target[element], source[element]) }
        }
    }

    /// Concatenates inputs (H, W, Cᵢ) along channels into `output` (H, W, ΣCᵢ), in input order.
    ///
    /// - Parameters:
    ///   - inputs: the inputs, each (H, W, Cᵢ) as given by `inputSizes`; none may share `output`'s memory.
    ///   - output: (H, W, ΣCᵢ).
    ///   - workers: threads to share the output rows among.
    ///
    /// Inputs of another height or width, or channels that do not add up, are programmer errors and trap.
    static func concatenate(inputs: [UnsafePointer<Float>], inputSizes: [MapSize],
                            output: UnsafeMutablePointer<Float>, outputSize: MapSize, workers: Int = 1) {
        precondition(!inputs.isEmpty && inputs.count == inputSizes.count, "Concatenate needs inputs, each with a size")
        precondition(inputSizes.allSatisfy { $0.height == outputSize.height && $0.width == outputSize.width },
                     "Concatenate inputs \(inputSizes) differ from the output \(outputSize) in height or width")
        precondition(inputSizes.reduce(0) { $0 + $1.channels } == outputSize.channels,
                     "Concatenate inputs' channels \(inputSizes.map(\.channels)) do not add up to \(outputSize.channels)")
        // Where each input's channels start in an output cell.
        var offsets: [Int] = []
        var offset = 0
        for size in inputSizes {
            offsets.append(offset)
            offset += size.channels
        }
        let width = outputSize.width
        Parallel.split(outputSize.height, workers: workers, minimumShare: max(1, 16384 / max(width * outputSize.channels, 1))) { _, rows in
            for (index, input) in inputs.enumerated() {
                let channels = inputSizes[index].channels
                for position in (rows.lowerBound * width)..<(rows.upperBound * width) {
                    (output + position * outputSize.channels + offsets[index])
                        .update(from: input + position * channels, count: channels)
                }
            }
        }
    }
}
