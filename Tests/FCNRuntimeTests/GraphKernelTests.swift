import FCNModel
import FCNTensorIO
import Foundation
import Testing
import _FCNTestSupport
@testable import FCNRuntime

/// The graph kernels (merges, grouped and depthwise convolution, normalizations, resizing,
/// extended activations) against TensorFlow/Keras outputs from
/// `scripts/golden/make_kernel_fixtures.py` (`Tests/Fixtures/kernels/`), each within 1e-5 of
/// the largest reference magnitude.
@Suite struct GraphKernelTests {
    /// One case of `kernels/manifest.json`; which fields are set depends on `kind`.
    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        let name: String
        let kind: String
        let arrays: [String: String]
        var merge: String?
        var groups: Int?
        var kernelSize: [Int]?
        var strides: [Int]?
        var dilation: [Int]?
        var padding: [Int]?
        var activation: String?
        var epsilon: Float?
        var size: [Int]?
        var window: Int?
        var alpha: Float?
        var beta: Float?
        var k: Float?
        var interpolation: String?
        var crop: Bool?
        var testDescription: String { name }
    }

    struct Manifest: Decodable { let cases: [Case] }

    static func readManifest() throws -> Manifest {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("kernels/manifest.json")))
        return try JSONDecoder().decode(Manifest.self, from: data)
    }

    static let cases: [Case] = (try? readManifest().cases) ?? []

    static let tolerance: Float = 1e-5

    @Test func manifestHasEveryKind() throws {
        let kinds = Set(try Self.readManifest().cases.map(\.kind))
        #expect(kinds == ["merge", "concatenate", "groupedConvolution", "layerNormalization", "lrn", "affine", "resize", "activation", "prelu"])
    }

    @Test(arguments: cases)
    func matchesReference(_ testCase: Case) throws {
        let expected = try array(testCase, "out")
        let actual = try run(testCase, outputShape: expected.shape)
        expectClose(actual, expected, tolerance: Self.tolerance, testCase.name)
        if ProcessInfo.processInfo.environment["FCN_PRINT_ERRORS"] != nil {
            let scale = expected.values.map(abs).max() ?? 0
            let error = zip(actual.values, expected.values).map { abs($0 - $1) }.max() ?? 0
            print("max error \(testCase.name): \(error) (scale \(scale), relative \(scale > 0 ? error / scale : 0))")
        }
    }

    private func array(_ testCase: Case, _ key: String) throws -> Tensor {
        let file = try #require(testCase.arrays[key], "\(testCase.name): no array '\(key)'")
        return try NumPyFile.read(path: Fixtures.path("kernels/\(file)"))
    }

    private func optionalArray(_ testCase: Case, _ key: String) throws -> [Float]? {
        testCase.arrays[key] == nil ? nil : try array(testCase, key).values
    }

    /// The HWC size of a rank-3 shape.
    private func mapSize(_ shape: [Int]) -> MapSize {
        MapSize(height: shape[0], width: shape[1], channels: shape[2])
    }

    private func activation(_ name: String?) -> Activation {
        name == "relu" ? .plainReLU : .linear
    }

    /// Runs the case's kernel on its inputs; returns the output shaped like the reference.
    private func run(_ testCase: Case, outputShape: [Int]) throws -> Tensor {
        var output = [Float](repeating: .nan, count: outputShape.reduce(1, *))
        let inputs = try testCase.arrays.keys.filter { $0.hasPrefix("in") && $0 != "input" }.sorted().map { try array(testCase, $0) }
        let input = testCase.arrays["input"] == nil ? nil : try array(testCase, "input")
        try output.withUnsafeMutableBufferPointer { output in
            let target = output.baseAddress!
            switch testCase.kind {
            case "merge", "concatenate":
                let pointers = inputs.map { tensor -> UnsafeMutablePointer<Float> in
                    let copy = UnsafeMutablePointer<Float>.allocate(capacity: tensor.values.count)
                    copy.initialize(from: tensor.values, count: tensor.values.count)
                    return copy
                }
                defer { pointers.forEach { $0.deallocate() } }
                let sizes = inputs.map { mapSize($0.shape) }
                if testCase.kind == "concatenate" {
                    MergeKernel.concatenate(inputs: pointers.map { UnsafePointer($0) }, inputSizes: sizes, output: target,
                                            outputSize: mapSize(outputShape), workers: 2)
                } else {
                    let kinds: [String: MergeKind] = ["add": .add, "subtract": .subtract, "multiply": .multiply,
                                                      "average": .average, "maximum": .maximum, "minimum": .minimum]
                    let kind = try #require(kinds[testCase.merge ?? ""])
                    MergeKernel.merge(kind, inputs: pointers.map { UnsafePointer($0) }, inputSizes: sizes, output: target,
                                      outputSize: mapSize(outputShape), workers: 2)
                }
            case "groupedConvolution":
                let input = try #require(input)
                let (kernel, strides, dilation, padding) = try (#require(testCase.kernelSize), #require(testCase.strides),
                                                                #require(testCase.dilation), #require(testCase.padding))
                try input.values.withUnsafeBufferPointer { values in
                    GroupedConvolutionKernel.run(
                        weights: try array(testCase, "weights").values, bias: try optionalArray(testCase, "bias"),
                        groups: try #require(testCase.groups), kernelSize: Size2D(height: kernel[0], width: kernel[1]),
                        strides: Size2D(height: strides[0], width: strides[1]), dilation: Size2D(height: dilation[0], width: dilation[1]),
                        activation: activation(testCase.activation), input: values.baseAddress!, inputSize: mapSize(input.shape),
                        output: target, outputSize: mapSize(outputShape),
                        padding: EdgePadding(top: padding[0], bottom: padding[1], left: padding[2], right: padding[3]), workers: 2)
                }
            case "layerNormalization", "lrn", "affine":
                let input = try #require(input)
                let size = mapSize(input.shape)
                let positions = size.height * size.width
                try input.values.withUnsafeBufferPointer { values in
                    let source = values.baseAddress!
                    switch testCase.kind {
                    case "layerNormalization":
                        NormalizationKernel.layerNormalization(
                            input: source, output: target, positions: positions, channels: size.channels,
                            gamma: try optionalArray(testCase, "gamma"), beta: try optionalArray(testCase, "beta"),
                            epsilon: try #require(testCase.epsilon), workers: 2)
                    case "lrn":
                        NormalizationKernel.localResponseNormalization(
                            input: source, output: target, positions: positions, channels: size.channels,
                            size: try #require(testCase.window), alpha: try #require(testCase.alpha),
                            beta: try #require(testCase.beta), k: try #require(testCase.k), workers: 2)
                    default:
                        NormalizationKernel.affine(input: source, output: target, positions: positions, channels: size.channels,
                                                   scale: try array(testCase, "scale").values, shift: try array(testCase, "shift").values,
                                                   workers: 2)
                    }
                }
            case "resize":
                let input = try #require(input)
                let interpolation: ResizeInterpolation = testCase.interpolation == "nearest" ? .nearest : .bilinear
                input.values.withUnsafeBufferPointer { values in
                    ResizeKernel.resize(interpolation, cropToAspectRatio: testCase.crop ?? false, input: values.baseAddress!,
                                        inputSize: mapSize(input.shape), output: target, outputSize: mapSize(outputShape), workers: 2)
                }
            case "activation", "prelu":
                let input = try #require(input)
                target.update(from: input.values, count: input.values.count)
                if testCase.kind == "prelu" {
                    let size = mapSize(input.shape)
                    ExtendedActivation.prelu(target, positions: size.height * size.width, channels: size.channels,
                                             alpha: try array(testCase, "alpha").values, workers: 2)
                } else {
                    let kinds: [String: ExtendedActivation] = ["geluExact": .geluExact, "geluTanh": .geluTanh, "hardSwish": .hardSwish,
                                                               "hardSigmoid": .hardSigmoid, "swish": .swish]
                    let kind = try #require(kinds[testCase.activation ?? ""])
                    ExtendedActivation.apply(kind, to: target, count: input.values.count, workers: 2)
                    // The scalar functions agree with the in-place loop.
                    let function = kind.function
                    for (index, x) in input.values.enumerated() { #expect(function(x) == target[index]) }
                }
            default:
                Issue.record("\(testCase.name): unknown kind \(testCase.kind)")
            }
        }
        return Tensor(shape: outputShape, values: output)
    }

    /// A merge may write over its first full-size input.
    @Test func mergeInPlace() {
        var a: [Float] = (0..<24).map { Float($0) }
        let b: [Float] = (0..<24).map { Float($0) * 0.5 }
        let size = MapSize(height: 2, width: 3, channels: 4)
        a.withUnsafeMutableBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                MergeKernel.merge(.add, inputs: [UnsafePointer(a.baseAddress!), b.baseAddress!], inputSizes: [size, size],
                                  output: a.baseAddress!, outputSize: size)
            }
        }
        #expect(a == (0..<24).map { Float($0) * 1.5 })
    }

    /// The depthwise path (G == Cin == 1, multiplier 2, stride 2, uneven padding) against a
    /// convolution summed by hand.
    @Test func depthwiseOneChannelMatchesPlainSum() {
        let input: [Float] = (0..<35).map { sinf(Float($0)) }
        let weights: [Float] = (0..<18).map { cosf(Float($0) * 0.3) }  // (3, 3, 1, 2)
        let inputSize = MapSize(height: 5, width: 7, channels: 1)
        let outputSize = MapSize(height: 2, width: 3, channels: 2)
        let padding = EdgePadding(top: 0, bottom: 1, left: 1, right: 0)
        func run() -> [Float] {
            var output = [Float](repeating: 0, count: outputSize.count)
            input.withUnsafeBufferPointer { input in
                output.withUnsafeMutableBufferPointer { output in
                    GroupedConvolutionKernel.run(weights: weights, bias: [0.5, -0.25], groups: 1, kernelSize: Size2D(square: 3),
                                                 strides: Size2D(square: 2), input: input.baseAddress!, inputSize: inputSize,
                                                 output: output.baseAddress!, outputSize: outputSize, padding: padding)
                }
            }
            return output
        }
        let depthwise = run()
        // The plain convolution of the same numbers, summed by hand.
        var reference = [Float](repeating: 0, count: outputSize.count)
        for y in 0..<2 {
            for x in 0..<3 {
                for o in 0..<2 {
                    var sum: Float = o == 0 ? 0.5 : -0.25
                    for ky in 0..<3 {
                        for kx in 0..<3 {
                            let (iy, ix) = (y * 2 + ky, x * 2 + kx - 1)
                            if iy >= 0, iy < 5, ix >= 0, ix < 7 { sum += input[iy * 7 + ix] * weights[(ky * 3 + kx) * 2 + o] }
                        }
                    }
                    reference[(y * 3 + x) * 2 + o] = sum
                }
            }
        }
        for (value, expected) in zip(depthwise, reference) { #expect(abs(value - expected) <= 1e-5) }
    }

    // MARK: - Shared among workers

    /// Deterministic values in [-1, 1).
    private static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 1_000_000) / 1_000_000
        }
    }

    /// Runs `body(workers, output)` with 1 and with 3 workers on maps large enough to be split,
    /// and expects the same values (within `tolerance` of the largest, for GEMM-based kernels).
    private func expectSameSplit(_ name: String, count: Int, tolerance: Float = 0,
                                 _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
        var results: [[Float]] = []
        for workers in [1, 3] {
            var output = [Float](repeating: .nan, count: count)
            output.withUnsafeMutableBufferPointer { body(workers, $0.baseAddress!) }
            results.append(output)
        }
        let scale = results[0].map(abs).max() ?? 0
        let error = zip(results[0], results[1]).map { abs($0 - $1) }.max() ?? .nan
        let isFinite = results[0].allSatisfy { $0.isFinite }
        #expect(isFinite, "\(name): unwritten or non-finite values")
        #expect(error <= tolerance * scale, "\(name): 1 vs 3 workers differ by \(error) (scale \(scale))")
    }

    @Test func workersShareTheRows() {
        let size = MapSize(height: 67, width: 41, channels: 13)
        let a = Self.values(size.count, seed: 1), b = Self.values(size.count, seed: 2), s = Self.values(13, seed: 3)
        let perChannel = s  // (C)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                s.withUnsafeBufferPointer { s in
                    let (a, b, s) = (a.baseAddress!, b.baseAddress!, s.baseAddress!)
                    let broadcast = MapSize(height: 1, width: 1, channels: 13)
                    for kind in [MergeKind.add, .subtract, .multiply, .average, .maximum, .minimum] {
                        expectSameSplit("merge \(kind)", count: size.count) { workers, output in
                            MergeKernel.merge(kind, inputs: kind == .subtract ? [a, s] : [a, s, b],
                                              inputSizes: kind == .subtract ? [size, broadcast] : [size, broadcast, size],
                                              output: output, outputSize: size, workers: workers)
                        }
                    }
                    expectSameSplit("concatenate", count: size.count * 2) { workers, output in
                        MergeKernel.concatenate(inputs: [a, b], inputSizes: [size, size], output: output,
                                                outputSize: MapSize(height: 67, width: 41, channels: 26), workers: workers)
                    }
                    let positions = size.height * size.width
                    expectSameSplit("layer normalization", count: size.count) { workers, output in
                        NormalizationKernel.layerNormalization(input: a, output: output, positions: positions, channels: 13,
                                                               gamma: perChannel, beta: nil, epsilon: 1e-3, workers: workers)
                    }
                    expectSameSplit("lrn", count: size.count) { workers, output in
                        NormalizationKernel.localResponseNormalization(input: a, output: output, positions: positions, channels: 13,
                                                                       size: 5, alpha: 1e-2, beta: 0.75, k: 2, workers: workers)
                    }
                    expectSameSplit("affine", count: size.count) { workers, output in
                        NormalizationKernel.affine(input: a, output: output, positions: positions, channels: 13,
                                                   scale: perChannel, shift: perChannel.reversed(), workers: workers)
                    }
                    expectSameSplit("prelu", count: size.count) { workers, output in
                        output.update(from: a, count: size.count)
                        ExtendedActivation.prelu(output, positions: positions, channels: 13, alpha: perChannel, workers: workers)
                    }
                    for activation in [ExtendedActivation.geluExact, .geluTanh, .hardSwish, .hardSigmoid, .swish] {
                        expectSameSplit("activation \(activation)", count: size.count) { workers, output in
                            output.update(from: a, count: size.count)
                            ExtendedActivation.apply(activation, to: output, count: size.count, workers: workers)
                        }
                    }
                    for interpolation in [ResizeInterpolation.bilinear, .nearest] {
                        let target = MapSize(height: 151, width: 29, channels: 13)  // up by rows: enough of them to split
                        expectSameSplit("resize \(interpolation)", count: target.count) { workers, output in
                            ResizeKernel.resize(interpolation, cropToAspectRatio: true, input: a, inputSize: size,
                                                output: output, outputSize: target, workers: workers)
                        }
                    }
                }
            }
        }
    }

    @Test(arguments: [(groups: 2, inChannels: 8, outChannels: 12, multiplier: 0), (groups: 6, inChannels: 6, outChannels: 12, multiplier: 2),
                      (groups: 7, inChannels: 7, outChannels: 7, multiplier: 1)])
    func convolutionWorkersShareTheRows(groups: Int, inChannels: Int, outChannels: Int, multiplier: Int) {
        let inputSize = MapSize(height: 45, width: 38, channels: inChannels)
        let outputSize = MapSize(height: 23, width: 38, channels: outChannels)  // 3×3, strides (2, 1), padding 1
        let input = Self.values(inputSize.count, seed: 4)
        let weights = Self.values(9 * (inChannels / groups) * outChannels, seed: 5)
        let bias = Self.values(outChannels, seed: 6)
        input.withUnsafeBufferPointer { input in
            expectSameSplit("groups \(groups)", count: outputSize.count, tolerance: 1e-6) { workers, output in
                GroupedConvolutionKernel.run(weights: weights, bias: bias, groups: groups, kernelSize: Size2D(square: 3),
                                             strides: Size2D(height: 2, width: 1), activation: .plainReLU,
                                             input: input.baseAddress!, inputSize: inputSize, output: output, outputSize: outputSize,
                                             padding: EdgePadding(uniform: 1), workers: workers)
            }
        }
    }
}
