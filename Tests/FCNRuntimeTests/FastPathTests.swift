import FCNConvert
import FCNModel
import FCNTensorIO
import FCNRuntime
import Testing
import _FCNTestSupport

/// Every fast path of the executor (Winograd for 3×3 to 5×5 stride 1, the direct kernel for
/// small patches, im2col bands, 1×1 GEMM, GEMV)
/// against the plain GEMM path and the independent reference evaluator, on odd sizes,
/// strides, dilations and paddings.
@Suite struct FastPathTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let input: Size2D
        let channels: Int
        let layers: [Layer]
        /// Whether to also evaluate cells with the (slow, plain-loop) reference; the plain GEMM
        /// path, itself checked against the reference in the other cases, always is.
        var checkReference = true
        var testDescription: String { name }
    }

    private static func conv(_ name: String, filters: Int, kernel: Int, stride: Int = 1, dilation: Int = 1,
                             padding: PaddingMode = .valid, activation: Activation = .linear) -> Layer {
        Layer(name: name, sourceClass: "Conv2D", operation: .convolution(Convolution(
            filters: filters, kernelSize: Size2D(square: kernel), strides: Size2D(square: stride),
            dilation: Size2D(square: dilation), padding: padding, activation: activation)))
    }

    static let cases: [Case] = [
        Case(name: "winograd same, odd size", input: Size2D(height: 13, width: 11), channels: 9, layers: [
            conv("a", filters: 10, kernel: 3, padding: .same, activation: .plainReLU),
            conv("b", filters: 12, kernel: 3, padding: .same),
        ]),
        Case(name: "winograd valid, sizes not multiples of 4", input: Size2D(height: 17, width: 9), channels: 8, layers: [
            conv("a", filters: 8, kernel: 3), conv("b", filters: 11, kernel: 3, activation: .elu(alpha: 1)),
        ]),
        Case(name: "winograd after explicit padding", input: Size2D(height: 10, width: 15), channels: 16, layers: [
            conv("a", filters: 16, kernel: 3, padding: .explicit(EdgePadding(top: 2, bottom: 0, left: 1, right: 3))),
        ]),
        Case(name: "winograd in bands shared by the workers (more than 128×128 channel pairs)", input: Size2D(height: 9, width: 7),
             channels: 130, layers: [
            conv("a", filters: 129, kernel: 3, padding: .same, activation: .plainReLU),
        ]),
        Case(name: "winograd 4×4, odd sizes", input: Size2D(height: 11, width: 9), channels: 8, layers: [
            conv("a", filters: 8, kernel: 4, padding: .same, activation: .plainReLU),
            conv("b", filters: 9, kernel: 4),
        ]),
        Case(name: "winograd 4×4 and 5×5, odd sizes", input: Size2D(height: 15, width: 13), channels: 64, layers: [
            conv("a", filters: 64, kernel: 5, padding: .same, activation: .plainReLU),
            conv("b", filters: 9, kernel: 4),
            conv("c", filters: 10, kernel: 4, padding: .same),
        ], checkReference: false),
        Case(name: "direct: 11×11 stride 4, padded unevenly; 20 filters (a partial panel)", input: Size2D(height: 39, width: 47),
             channels: 3, layers: [
            conv("a", filters: 20, kernel: 11, stride: 4, padding: .explicit(EdgePadding(top: 3, bottom: 1, left: 0, right: 5)),
                 activation: .plainReLU),
            conv("b", filters: 16, kernel: 1),
            conv("c", filters: 33, kernel: 3, stride: 2, padding: .same),
        ]),
        Case(name: "direct: small maps padded on every side, stride 3", input: Size2D(height: 4, width: 4), channels: 2, layers: [
            conv("a", filters: 5, kernel: 5, padding: .same),
            conv("b", filters: 7, kernel: 4, stride: 3),
        ]),
        Case(name: "stride 2 same and 5×5 (direct), dilation 2 (im2col)", input: Size2D(height: 23, width: 19), channels: 5, layers: [
            conv("a", filters: 7, kernel: 3, stride: 2, padding: .same, activation: .plainReLU),
            conv("b", filters: 6, kernel: 3, dilation: 2, padding: .same),
            conv("c", filters: 4, kernel: 5),
        ]),
        Case(name: "1×1 and pooling", input: Size2D(height: 14, width: 13), channels: 3, layers: [
            conv("a", filters: 9, kernel: 1, activation: .tanh),
            Layer(name: "pool", sourceClass: "MaxPooling2D", operation: .pooling(Pooling(
                kind: .max, poolSize: Size2D(square: 3), strides: Size2D(square: 2), padding: .same))),
            conv("b", filters: 8, kernel: 3, padding: .same),
            Layer(name: "avg", sourceClass: "Pooling", operation: .pooling(Pooling(
                kind: .average, poolSize: Size2D(square: 3), strides: Size2D(square: 2), rounding: .ceil, averageCountsPadding: true))),
            conv("c", filters: 5, kernel: 3, activation: .softmax),
        ]),
    ]

    private func model(_ testCase: Case, seed: UInt64) -> Model {
        var state = seed
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1
        }
        let network = Network(name: testCase.name, inputShape: .featureMap(height: testCase.input.height, width: testCase.input.width,
                                                                         channels: testCase.channels),
                              dataFormat: .channelsLast, layers: testCase.layers)
        var weights: [String: LayerWeights] = [:]
        let inputs = try! network.inputShapes().map { $0[0] }
        for (layer, input) in zip(network.layers, inputs) {
            guard case .convolution(let convolution) = layer.operation else { continue }
            let shape = [convolution.kernelSize.height, convolution.kernelSize.width, input.channels, convolution.filters]
            weights[layer.name] = .convolution(kernel: Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in next() * 0.5 }),
                                               bias: Tensor(shape: [convolution.filters], values: (0..<convolution.filters).map { _ in next() }))
        }
        return Model(network: network, weights: weights, source: ModelSource(format: "test", path: "test"))
    }

    @Test(arguments: cases)
    func fastEqualsPlainAndReference(_ testCase: Case) throws {
        let model = model(testCase, seed: 42)
        // A larger input than the network was declared with, odd in both directions.
        let size = Size2D(height: testCase.input.height + 7, width: testCase.input.width + 5)
        var state: UInt64 = 7
        let image = MapImage(size: size, channels: testCase.channels, values: (0..<(size.height * size.width * testCase.channels)).map { _ in
            state = state &* 2_862_933_555_777_941_757 &+ 3_037_000_493
            return Float(state >> 40) / Float(1 << 24)
        })
        let fast = try Executor(model: model, threads: 2).run(image.framework(.channelsLast))
        let plain = try Executor(model: model, threads: 1, fastConvolutions: false).run(image.framework(.channelsLast))
        expectClose(fast, plain, testCase.name)
        guard testCase.checkReference else { return }
        let grid = MapImage(framework: fast, format: .channelsLast)
        // Every cell of the borders (where padding acts) and a diagonal lattice inside.
        let (lastRow, lastColumn) = (grid.size.height - 1, grid.size.width - 1)
        let cells = (0...lastRow).flatMap { row in
            (0...lastColumn).filter { column in
                row == 0 || column == 0 || row == lastRow || column == lastColumn || (row + column) % 5 == 0
            }.map { (row: row, column: $0) }
        }
        let actual = cells.flatMap { grid.cell(row: $0.row, column: $0.column) }
        let reference = try ReferenceEvaluator(model: model).values(ofCells: cells, input: image.values, size: size)
        expectClose(Tensor(shape: [actual.count], values: actual), Tensor(shape: [reference.count], values: reference), testCase.name)
    }
}

/// Tiled execution within a memory budget gives exactly the untiled grid.
@Suite struct TiledExecutionTests {
    @Test(arguments: ["k3_vgg_same_bn", "k3_lenet", "k2_weights", "caffe_quick", "k3_gap"])
    func tiledEqualsUntiled(_ name: String) throws {
        let fixture = try #require(Manifest.shared.fixture(named: name))
        let model = try Convolutionalizer.convert(try fixture.load())
        let input = try NumPyFile.read(path: Fixtures.path(fixture.golden.fcnInput))
        let reference = try NumPyFile.read(path: Fixtures.path(fixture.golden.fcnOutput))
        let untiled = try Executor(model: model, threads: 1).run(input)
        for budget in [2_000, 20_000, 200_000] {
            let executor = try Executor(model: model, threads: 1)
            executor.memoryBudget = budget
            let tiled = try executor.run(input)
            expectClose(tiled, untiled, tolerance: 1e-5, "\(name) within \(budget) bytes")
            expectClose(tiled, reference, "\(name) within \(budget) bytes vs reference")
        }
    }
}
