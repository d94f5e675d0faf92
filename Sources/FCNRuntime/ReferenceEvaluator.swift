import FCNModel
import Foundation

/// A plain evaluation of one output cell of a fully convolutional network: direct loops, no
/// BLAS, no patch matrices, only the cells the chosen output depends on (its cone).
///
/// It shares nothing with `Executor` but the window arithmetic, so agreement between the two
/// is evidence that the fast path is right, including at padded borders.
public struct ReferenceEvaluator {
    /// A rectangle of a feature map: rows × columns × channels values in HWC order.
    private struct Region {
        var rows: Range<Int>
        var columns: Range<Int>
        var channels: Int
        var values: [Float]

        func value(_ y: Int, _ x: Int, _ channel: Int) -> Float {
            values[((y - rows.lowerBound) * columns.count + (x - columns.lowerBound)) * channels + channel]
        }

        /// The part of the region at `rows` × `columns`, which it must contain.
        func cropped(rows wantedRows: Range<Int>, columns wantedColumns: Range<Int>) -> Region {
            guard wantedRows != rows || wantedColumns != columns else { return self }
            let values = wantedRows.flatMap { y in wantedColumns.flatMap { x in (0..<channels).map { value(y, x, $0) } } }
            return Region(rows: wantedRows, columns: wantedColumns, channels: channels, values: values)
        }
    }

    public let network: Network
    private let weights: [String: LayerWeights]

    /// - Throws: `ExecutionError.noWeights` without weights.
    public init(model: Model) throws(ExecutionError) {
        guard let weights = model.weights else { throw .noWeights }
        network = model.network
        self.weights = weights
    }

    /// The values of output cells `cells` (row, column) for `input`, an (H, W, C) image in HWC
    /// order, one cell after the other.
    ///
    /// - Precondition: the network has only convolution, pooling, zero padding, activation,
    ///   batch normalisation and dropout layers (a converted network), and the cells exist.
    public func values(ofCells cells: [(row: Int, column: Int)], input: [Float], size: Size2D) throws(ExecutionError) -> [Float] {
        let plan: ExecutionPlan
        do { plan = try ExecutionPlan(network: network, input: network.inputShape(resizedTo: size)) } catch {
            throw .inputTooSmall(error)
        }
        var values: [Float] = []
        for (row, column) in cells {
            values += try cell(row: row, column: column, input: input, size: size, plan: plan)
        }
        return values
    }

    /// The values of one output cell, with the plan for the input's size.
    private func cell(row: Int, column: Int, input: [Float], size: Size2D, plan: ExecutionPlan) throws(ExecutionError) -> [Float] {
        // Backwards: the rows and columns each value must cover for its readers.
        let cones = plan.cones(network: network, rows: row..<(row + 1), columns: column..<(column + 1))
        let (rows, columns) = cones[0]
        let channels = network.inputShape.channels
        var regions = [Region(rows: rows, columns: columns, channels: channels, values: [])]
        regions[0].values.reserveCapacity(rows.count * columns.count * channels)
        for y in rows {
            let start = (y * size.width + columns.lowerBound) * channels
            regions[0].values += input[start..<(start + columns.count * channels)]
        }
        // Forwards, over the cones only.
        for (index, layer) in network.layers.enumerated() {
            let inputs = network.sources[index].map { regions[$0.value] }
            let wanted = cones[index + 1]
            regions.append(try apply(layer, to: inputs, step: plan.steps[index], rows: wanted.rows, columns: wanted.columns))
        }
        return regions.last!.values
    }

    private func apply(_ layer: Layer, to inputs: [Region], step: ExecutionPlan.Step, rows: Range<Int>, columns: Range<Int>) throws(ExecutionError) -> Region {
        // Pointwise layers read the same rows and columns they write; the input may cover more
        // when another reader of it needed more.
        let input = layer.operation.slidingWindows != nil ? inputs[0] : inputs[0].cropped(rows: rows, columns: columns)
        let inputHeight = step.input.spatial.height
        let inputWidth = step.input.spatial.width
        func inside(_ y: Int, _ x: Int) -> Bool { y >= 0 && y < inputHeight && x >= 0 && x < inputWidth }
        var output = Region(rows: rows, columns: columns, channels: step.output.channels, values: [])
        output.values.reserveCapacity(rows.count * columns.count * output.channels)
        switch layer.operation {
        case .convolution(let convolution):
            guard case .convolution(let kernel, let bias)? = weights[layer.name] else {
                throw .badWeights(layer: layer.name, reason: "its weights are missing")
            }
            let (kernelHeight, kernelWidth) = (convolution.kernelSize.height, convolution.kernelSize.width)
            let function = ActivationKernel.scalarFunction(convolution.activation)
            let groupInputs = input.channels / convolution.groups
            let groupFilters = convolution.filters / convolution.groups
            for y in rows {
                for x in columns {
                    var cell = [Float](repeating: 0, count: convolution.filters)
                    for filter in 0..<convolution.filters {
                        let firstChannel = filter / groupFilters * groupInputs
                        var sum = Double(bias?.values[filter] ?? 0)
                        for ky in 0..<kernelHeight {
                            for kx in 0..<kernelWidth {
                                let sourceY = y * convolution.strides.height - step.padding.top + ky * convolution.dilation.height
                                let sourceX = x * convolution.strides.width - step.padding.left + kx * convolution.dilation.width
                                guard inside(sourceY, sourceX) else { continue }
                                for channel in 0..<groupInputs {
                                    let tap = ((ky * kernelWidth + kx) * groupInputs + channel) * convolution.filters + filter
                                    sum += Double(input.value(sourceY, sourceX, firstChannel + channel)) * Double(kernel.values[tap])
                                }
                            }
                        }
                        cell[filter] = Float(sum)
                    }
                    output.values += finish(cell, convolution.activation, function)
                }
            }
        case .pooling(let pooling):
            for y in rows {
                for x in columns {
                    let startY = y * pooling.strides.height - step.padding.top
                    let startX = x * pooling.strides.width - step.padding.left
                    for channel in 0..<input.channels {
                        var values: [Float] = []
                        for sourceY in startY..<(startY + pooling.poolSize.height) {
                            for sourceX in startX..<(startX + pooling.poolSize.width) where inside(sourceY, sourceX) {
                                values.append(input.value(sourceY, sourceX, channel))
                            }
                        }
                        if pooling.kind == .max {
                            output.values.append(values.max() ?? 0)
                        } else {
                            let divisor = pooling.averageCountsPadding
                                ? (min(startY + pooling.poolSize.height, inputHeight + step.padding.bottom) - startY)
                                    * (min(startX + pooling.poolSize.width, inputWidth + step.padding.right) - startX)
                                : values.count
                            output.values.append(values.reduce(0, +) / Float(max(divisor, 1)))
                        }
                    }
                }
            }
        case .zeroPadding(let edges):
            for y in rows {
                for x in columns {
                    for channel in 0..<input.channels {
                        let (sourceY, sourceX) = (y - edges.top, x - edges.left)
                        output.values.append(inside(sourceY, sourceX) ? input.value(sourceY, sourceX, channel) : 0)
                    }
                }
            }
        case .activation(let activation):
            let function = ActivationKernel.scalarFunction(activation)
            for position in 0..<(rows.count * columns.count) {
                let cell = Array(input.values[(position * input.channels)..<((position + 1) * input.channels)])
                output.values += finish(cell, activation, function)
            }
        case .batchNormalization(let normalization):
            guard case .batchNormalization(let gamma, let beta, let mean, let variance)? = weights[layer.name] else {
                throw .badWeights(layer: layer.name, reason: "its weights are missing")
            }
            for (index, value) in input.values.enumerated() {
                let channel = index % input.channels
                output.values.append((value - mean.values[channel]) / (variance.values[channel] + normalization.epsilon).squareRoot()
                                     * gamma.values[channel] + beta.values[channel])
            }
        case .layerNormalization(let normalization):
            guard case .layerNormalization(let gamma, let beta)? = weights[layer.name] else {
                throw .badWeights(layer: layer.name, reason: "its weights are missing")
            }
            for position in 0..<(rows.count * columns.count) {
                let cell = input.values[(position * input.channels)..<((position + 1) * input.channels)].map(Double.init)
                let mean = cell.reduce(0, +) / Double(cell.count)
                let variance = cell.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(cell.count)
                for (channel, value) in cell.enumerated() {
                    output.values.append(Float((value - mean) / (variance + Double(normalization.epsilon)).squareRoot())
                                         * gamma.values[channel] + beta.values[channel])
                }
            }
        case .channelAffine, .parametricReLU:
            let (scale, shift, slopes): ([Float]?, [Float]?, [Float]?)
            switch weights[layer.name] {
            case .channelAffine(let first, let second)?: (scale, shift, slopes) = (first.values, second.values, nil)
            case .slopes(let values)?: (scale, shift, slopes) = (nil, nil, values.values)
            case .convolution?, .dense?, .batchNormalization?, .layerNormalization?, nil:
                throw .badWeights(layer: layer.name, reason: "its weights are missing")
            }
            for (index, value) in input.values.enumerated() {
                let channel = index % input.channels
                if let slopes {
                    output.values.append(value > 0 ? value : slopes[channel] * value)
                } else {
                    output.values.append(value * scale![channel] + shift![channel])
                }
            }
        case .localResponseNormalization(let normalization):
            for position in 0..<(rows.count * columns.count) {
                let cell = Array(input.values[(position * input.channels)..<((position + 1) * input.channels)])
                for channel in cell.indices {
                    let window = max(channel - (normalization.size - 1) / 2, 0)...min(channel + normalization.size / 2, cell.count - 1)
                    let sum = window.reduce(0.0) { $0 + Double(cell[$1]) * Double(cell[$1]) }
                    let divisor = pow(Double(normalization.k) + Double(normalization.alpha) / Double(normalization.size) * sum,
                                      Double(normalization.beta))
                    output.values.append(Float(Double(cell[channel]) / divisor))
                }
            }
        case .merge(let kind):
            for y in rows {
                for x in columns {
                    for channel in 0..<output.channels {
                        let values = inputs.map { Double($0.value(y, x, channel)) }
                        let merged: Double = switch kind {
                        case .add: values.reduce(0, +)
                        case .subtract: values[0] - values[1]
                        case .multiply: values.reduce(1, *)
                        case .average: values.reduce(0, +) / Double(values.count)
                        case .maximum: values.max()!
                        case .minimum: values.min()!
                        }
                        output.values.append(Float(merged))
                    }
                }
            }
        case .concatenate:
            for y in rows {
                for x in columns {
                    for part in inputs {
                        for channel in 0..<part.channels { output.values.append(part.value(y, x, channel)) }
                    }
                }
            }
        case .dropout:
            return input
        case .dense, .flatten, .globalPooling, .reshape, .resize:
            throw .badWeights(layer: layer.name, reason: "the reference evaluator runs converted networks only, not \(layer.operation.kind)")
        }
        return output
    }

    /// Applies an activation to one cell's channels (softmax needs them all).
    private func finish(_ cell: [Float], _ activation: Activation, _ function: (Float) -> Float) -> [Float] {
        guard activation == .softmax else { return cell.map(function) }
        let largest = cell.max() ?? 0
        let exponentials = cell.map { Double($0 - largest) }.map { Foundation.exp($0) }
        let sum = exponentials.reduce(0, +)
        return exponentials.map { Float($0 / sum) }
    }
}
