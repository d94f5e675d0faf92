import COpenBLAS
import FCNModel

/// Convolution with channel groups, HWC: Keras's `Conv2D(groups:)` and `DepthwiseConv2D`,
/// Caffe's `group`.
///
/// The input's Cin channels and the output's Cout are cut into G groups of Cin/G and Cout/G;
/// output channel o sees only the input channels of its group g = o / (Cout/G):
///
///     output[y, x, o] = bias[o] + Σ_{ky, kx, i < Cin/G} input[y·sy − top + ky·dy, x·sx − left + kx·dx, g·Cin/G + i]
///                                                       · kernel[ky, kx, i, o]
///
/// with zeros outside the input. The kernel is (kh, kw, Cin/G, Cout) row-major, Keras's layout
/// for grouped Conv2D. A Keras `DepthwiseConv2D` kernel (kh, kw, Cin, m) has the same flat
/// layout as (kh, kw, 1, Cin·m) with G = Cin: output channel c·m + j reads input channel c.
enum GroupedConvolutionKernel {
    /// Runs the convolution; G == Cin takes the depthwise path, any other G im2col + GEMM per group.
    ///
    /// - Parameters:
    ///   - weights: (kh, kw, Cin/G, Cout).
    ///   - bias: (Cout), or nil.
    ///   - activation: applied after the bias, row by row.
    ///   - input: (H, W, Cin).
    ///   - output: (Ho, Wo, Cout), Ho = (H + top + bottom − dy·(kh − 1) − 1) / sy + 1, and so for Wo.
    ///   - padding: zeros on each side.
    ///   - workers: threads to share the output rows among.
    ///
    /// Channels not divisible by `groups`, or sizes that do not fit, are programmer errors and trap.
    static func run(
        weights: [Float], bias: [Float]?, groups: Int, kernelSize: Size2D, strides: Size2D = Size2D(square: 1),
        dilation: Size2D = Size2D(square: 1), activation: Activation = .linear,
        input: UnsafePointer<Float>, inputSize: MapSize,
        output: UnsafeMutablePointer<Float>, outputSize: MapSize, padding: EdgePadding, workers: Int = 1
    ) {
        let (inChannels, outChannels) = (inputSize.channels, outputSize.channels)
        precondition(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
                     "Channels \(inChannels) → \(outChannels) are not divisible by \(groups) groups")
        precondition(weights.count == kernelSize.height * kernelSize.width * (inChannels / groups) * outChannels,
                     "Grouped kernel has \(weights.count) values, not (kh, kw, Cin/G, Cout)")
        precondition(bias.map { $0.count == outChannels } ?? true, "Bias is not (Cout)")
        let window = Window(kernelSize: kernelSize, strides: strides, dilation: dilation, padding: padding)
        precondition(window.outputLength(input: inputSize.height, vertical: true) == outputSize.height
                     && window.outputLength(input: inputSize.width, vertical: false) == outputSize.width,
                     "Output \(outputSize) does not fit input \(inputSize)")
        weights.withUnsafeBufferPointer { weights in
            if groups == inChannels {
                depthwise(weights: weights.baseAddress!, bias: bias, window: window, activation: activation,
                          input: input, inputSize: inputSize, output: output, outputSize: outputSize, workers: workers)
            } else {
                grouped(weights: weights.baseAddress!, bias: bias, groups: groups, window: window, activation: activation,
                        input: input, inputSize: inputSize, output: output, outputSize: outputSize, workers: workers)
            }
        }
    }

    /// A convolution's window on both axes.
    struct Window {
        var kernelSize: Size2D
        var strides: Size2D
        var dilation: Size2D
        var padding: EdgePadding

        func outputLength(input: Int, vertical: Bool) -> Int {
            let span = vertical
                ? input + padding.top + padding.bottom - dilation.height * (kernelSize.height - 1) - 1
                : input + padding.left + padding.right - dilation.width * (kernelSize.width - 1) - 1
            return span < 0 ? 0 : span / (vertical ? strides.height : strides.width) + 1
        }
    }

    /// G == Cin, Cout = Cin·m: per output row, each cell accumulates kernel taps with the inner
    /// loop over contiguous output channels (weights (kh, kw, Cout) as a flat array).
    private static func depthwise(
        weights: UnsafePointer<Float>, bias: [Float]?, window: Window, activation: Activation,
        input: UnsafePointer<Float>, inputSize: MapSize, output: UnsafeMutablePointer<Float>, outputSize: MapSize, workers: Int
    ) {
        let inChannels = inputSize.channels
        let outChannels = outputSize.channels
        let multiplier = outChannels / inChannels
        let (kernelHeight, kernelWidth) = (window.kernelSize.height, window.kernelSize.width)
        let work = outputSize.width * outChannels * kernelHeight * kernelWidth
        Parallel.split(outputSize.height, workers: workers, minimumShare: max(1, 32768 / max(work, 1))) { _, rows in
            for outputY in rows {
                let row = output + outputY * outputSize.width * outChannels  // (Wo, Cout)
                for outputX in 0..<outputSize.width {
                    let cell = row + outputX * outChannels
                    if let bias {
                        bias.withUnsafeBufferPointer { cell.update(from: $0.baseAddress!, count: outChannels) }
                    } else {
                        cell.update(repeating: 0, count: outChannels)
                    }
                    let originY = outputY * window.strides.height - window.padding.top
                    let originX = outputX * window.strides.width - window.padding.left
                    for kernelY in 0..<kernelHeight {
                        let inputY = originY + kernelY * window.dilation.height
                        guard inputY >= 0, inputY < inputSize.height else { continue }
                        for kernelX in 0..<kernelWidth {
                            let inputX = originX + kernelX * window.dilation.width
                            guard inputX >= 0, inputX < inputSize.width else { continue }
                            let source = input + (inputY * inputSize.width + inputX) * inChannels  // (Cin)
                            let tap = weights + (kernelY * kernelWidth + kernelX) * outChannels  // (Cout)
                            if multiplier == 1 {
                                for channel in 0..<outChannels { cell[channel] += source[channel] * tap[channel] }
                            } else {
                                for channel in 0..<inChannels {
                                    let value = source[channel]
                                    let target = cell + channel * multiplier
                                    let taps = tap + channel * multiplier
                                    for j in 0..<multiplier { target[j] += value * taps[j] }
                                }
                            }
                        }
                    }
                }
                ActivationKernel.apply(activation, to: row, positions: outputSize.width, channels: outChannels)
            }
        }
    }

    /// Any G: for each band of output rows and each group, the group's patch matrix
    /// (rows·Wo, kh·kw·Cin/G) times the group's columns of the kernel (kh·kw·Cin/G, Cout/G),
    /// written straight into the group's channels of the output (leading dimension Cout).
    private static func grouped(
        weights: UnsafePointer<Float>, bias: [Float]?, groups: Int, window: Window, activation: Activation,
        input: UnsafePointer<Float>, inputSize: MapSize, output: UnsafeMutablePointer<Float>, outputSize: MapSize, workers: Int
    ) {
        let groupIn = inputSize.channels / groups
        let groupOut = outputSize.channels / groups
        let outChannels = outputSize.channels
        let (kernelHeight, kernelWidth) = (window.kernelSize.height, window.kernelSize.width)
        let depth = kernelHeight * kernelWidth * groupIn  // K per group
        let rowsPerBand = max(1, (1 << 18) / max(1, outputSize.width * depth))
        Parallel.split(outputSize.height, workers: workers) { _, share in
            let bandRows = min(rowsPerBand, share.count)
            let patches = UnsafeMutablePointer<Float>.allocate(capacity: bandRows * outputSize.width * depth)  // (rows·Wo, K)
            defer { patches.deallocate() }
            var firstRow = share.lowerBound
            while firstRow < share.upperBound {
                let rows = min(bandRows, share.upperBound - firstRow)
                let positions = rows * outputSize.width
                let band = output + firstRow * outputSize.width * outChannels  // (rows·Wo, Cout)
                for group in 0..<groups {
                    var patch = patches
                    for outputY in firstRow..<(firstRow + rows) {
                        for outputX in 0..<outputSize.width {
                            let originY = outputY * window.strides.height - window.padding.top
                            let originX = outputX * window.strides.width - window.padding.left
                            for kernelY in 0..<kernelHeight {
                                let inputY = originY + kernelY * window.dilation.height
                                for kernelX in 0..<kernelWidth {
                                    let inputX = originX + kernelX * window.dilation.width
                                    let target = patch + (kernelY * kernelWidth + kernelX) * groupIn
                                    if inputY >= 0, inputY < inputSize.height, inputX >= 0, inputX < inputSize.width {
                                        target.update(from: input + (inputY * inputSize.width + inputX) * inputSize.channels + group * groupIn,
                                                      count: groupIn)
                                    } else {
                                        target.update(repeating: 0, count: groupIn)
                                    }
                                }
                            }
                            patch += depth
                        }
                    }
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(positions), Int32(groupOut), Int32(depth), 1,
                                patches, Int32(depth), weights + group * groupOut, Int32(outChannels),
                                0, band + group * groupOut, Int32(outChannels))
                }
                Epilogue.apply(bias: bias, activation: activation, to: band, positions: positions, channels: outChannels)
                firstRow += rows
            }
        }
    }
}
