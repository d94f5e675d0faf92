import FCNConvert
import FCNModel
import FCNTensorIO
import FCNRuntime
import Testing
import _FCNTestSupport

/// Every fast path of the executor (Winograd for 3×3 to 5×5 stride 1, the direct kernel for
/// small patches, the packed GEMM for large weights, im2col bands, 1×1 GEMM, GEMV) at every
/// instruction-set level this machine runs (up to `FCN_MAX_ISA`), against the plain GEMM path and
/// the independent reference evaluator, on odd sizes, strides, dilations and paddings. Each case
/// also checks that every layer ran on the kernel and level it was meant to.
@Suite struct FastPathTests {
    /// The kernel a layer is meant to run on where its level has it, and what it falls back to.
    enum Kernel: Sendable {
        /// Its 36 products on the packed GEMM at AVX-512 when `wide` (at least 64 channels and 32 filters), else OpenBLAS.
        case winograd(String, wide: Bool = false)
        /// AVX2 and AVX-512; im2col below.
        case direct
        /// AVX-512; im2col (a convolution) or GEMV (a dense layer) below.
        case packedConvolution, packedDense
        case im2col
        case other(String)

        func path(at level: InstructionSet) -> String {
            switch self {
            case .winograd(let form, let wide): "winograd \(form) \(level) " + (wide && level == .avx512 ? "gemm-packed" : "openblas")
            case .direct: level >= .avx2 ? "direct \(level)" : "im2col+gemm openblas"
            case .packedConvolution: level == .avx512 ? "gemm-packed avx512" : "im2col+gemm openblas"
            case .packedDense: level == .avx512 ? "gemm-packed avx512" : "gemv openblas"
            case .im2col: "im2col+gemm openblas"
            case .other(let path): path
            }
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let input: Size2D
        let channels: Int
        let layers: [(layer: Layer, kernel: Kernel)]
        /// Whether to also evaluate cells with the (slow, plain-loop) reference; the plain GEMM
        /// path, itself checked against the reference in the other cases, always is.
        var checkReference = true
        var testDescription: String { name }
    }

    private static func conv(_ name: String, filters: Int, kernel: Int, stride: Int = 1, dilation: Int = 1,
                             padding: PaddingMode = .valid, activation: Activation = .linear, on path: Kernel) -> (Layer, Kernel) {
        (Layer(name: name, sourceClass: "Conv2D", operation: .convolution(Convolution(
            filters: filters, kernelSize: Size2D(square: kernel), strides: Size2D(square: stride),
            dilation: Size2D(square: dilation), padding: padding, activation: activation))), path)
    }

    static let cases: [Case] = [
        Case(name: "winograd same, odd size", input: Size2D(height: 13, width: 11), channels: 9, layers: [
            conv("a", filters: 10, kernel: 3, padding: .same, activation: .plainReLU, on: .winograd("F(4x4,3x3)")),
            conv("b", filters: 12, kernel: 3, padding: .same, on: .winograd("F(4x4,3x3)")),
        ]),
        Case(name: "winograd valid, sizes not multiples of 4", input: Size2D(height: 17, width: 9), channels: 8, layers: [
            conv("a", filters: 8, kernel: 3, on: .winograd("F(4x4,3x3)")),
            conv("b", filters: 11, kernel: 3, activation: .elu(alpha: 1), on: .winograd("F(4x4,3x3)")),
        ]),
        Case(name: "winograd after explicit padding; 45 filters (private chunks, a partial panel)", input: Size2D(height: 10, width: 15),
             channels: 64, layers: [
            conv("a", filters: 45, kernel: 3, padding: .explicit(EdgePadding(top: 2, bottom: 0, left: 1, right: 3)),
                 on: .winograd("F(4x4,3x3)", wide: true)),
        ]),
        Case(name: "winograd in bands shared by the workers (more than 128×128 channel pairs)", input: Size2D(height: 9, width: 7),
             channels: 130, layers: [
            conv("a", filters: 129, kernel: 3, padding: .same, activation: .plainReLU, on: .winograd("F(4x4,3x3)", wide: true)),
        ]),
        Case(name: "winograd 4×4, odd sizes", input: Size2D(height: 11, width: 9), channels: 8, layers: [
            conv("a", filters: 8, kernel: 4, padding: .same, activation: .plainReLU, on: .winograd("F(3x3,4x4)")),
            conv("b", filters: 9, kernel: 4, on: .winograd("F(3x3,4x4)")),
        ]),
        Case(name: "winograd 4×4 and 5×5, odd sizes", input: Size2D(height: 15, width: 13), channels: 64, layers: [
            conv("a", filters: 64, kernel: 5, padding: .same, activation: .plainReLU, on: .winograd("F(2x2,5x5)", wide: true)),
            conv("b", filters: 9, kernel: 4, on: .winograd("F(3x3,4x4)")),
            conv("c", filters: 10, kernel: 4, padding: .same, on: .winograd("F(3x3,4x4)")),
        ], checkReference: false),
        Case(name: "direct: 11×11 stride 4, padded unevenly; 20 and 33 filters (partial panels)", input: Size2D(height: 39, width: 47),
             channels: 3, layers: [
            conv("a", filters: 20, kernel: 11, stride: 4, padding: .explicit(EdgePadding(top: 3, bottom: 1, left: 0, right: 5)),
                 activation: .plainReLU, on: .direct),
            conv("b", filters: 16, kernel: 1, on: .direct),
            conv("c", filters: 33, kernel: 3, stride: 2, padding: .same, on: .direct),
        ]),
        Case(name: "direct: small maps padded on every side, stride 3", input: Size2D(height: 4, width: 4), channels: 2, layers: [
            conv("a", filters: 5, kernel: 5, padding: .same, on: .direct),
            conv("b", filters: 7, kernel: 4, stride: 3, on: .direct),
        ]),
        Case(name: "direct: wide rows (tiles of 12 and 6 positions with a remainder), 64 filters", input: Size2D(height: 5, width: 50),
             channels: 4, layers: [
            conv("a", filters: 64, kernel: 3, stride: 1, padding: .same, activation: .plainReLU, on: .direct),
            conv("b", filters: 47, kernel: 2, stride: 2, on: .direct),
        ]),
        Case(name: "stride 2 same and 5×5 (direct), dilation 2 (im2col)", input: Size2D(height: 23, width: 19), channels: 5, layers: [
            conv("a", filters: 7, kernel: 3, stride: 2, padding: .same, activation: .plainReLU, on: .direct),
            conv("b", filters: 6, kernel: 3, dilation: 2, padding: .same, on: .im2col),
            conv("c", filters: 4, kernel: 5, on: .direct),
        ]),
        Case(name: "1×1 and pooling", input: Size2D(height: 14, width: 13), channels: 3, layers: [
            conv("a", filters: 9, kernel: 1, activation: .tanh, on: .direct),
            (Layer(name: "pool", sourceClass: "MaxPooling2D", operation: .pooling(Pooling(
                kind: .max, poolSize: Size2D(square: 3), strides: Size2D(square: 2), padding: .same))), .other("pooling")),
            conv("b", filters: 8, kernel: 3, padding: .same, on: .winograd("F(4x4,3x3)")),
            (Layer(name: "avg", sourceClass: "Pooling", operation: .pooling(Pooling(
                kind: .average, poolSize: Size2D(square: 3), strides: Size2D(square: 2), rounding: .ceilCaffe, averageCountsPadding: true))),
             .other("pooling")),
            conv("c", filters: 5, kernel: 3, activation: .softmax, on: .direct),
        ]),
        Case(name: "packed GEMM: 3×3 stride 2 same over 256 channels (depth 2304), 460 filters (a partial panel)",
             input: Size2D(height: 15, width: 13), channels: 256, layers: [
            conv("a", filters: 460, kernel: 3, stride: 2, padding: .same, activation: .plainReLU, on: .packedConvolution),
        ]),
        Case(name: "packed GEMM: a dense layer made a 6×6 conv (357 rows, more than a row block), then 1×1",
             input: Size2D(height: 19, width: 17), channels: 64, layers: [
            conv("fc6", filters: 2100, kernel: 6, activation: .plainReLU, on: .packedConvolution),
            conv("fc7", filters: 501, kernel: 1, on: .packedConvolution),
        ], checkReference: false),
        Case(name: "packed GEMM: dense layers after global pooling (one row; 1030 units, a partial panel)",
             input: Size2D(height: 3, width: 5), channels: 1024, layers: [
            (Layer(name: "gap", sourceClass: "GlobalAveragePooling2D", operation: .globalPooling(.average)), .other("pooling")),
            (Layer(name: "fc", sourceClass: "Dense", operation: .dense(Dense(units: 1030, activation: .plainReLU))), .packedDense),
            (Layer(name: "out", sourceClass: "Dense", operation: .dense(Dense(units: 10))), .other("gemv openblas")),
        ], checkReference: false),
    ]

    private func model(_ testCase: Case, seed: UInt64) -> Model {
        var state = seed
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1
        }
        func tensor(_ shape: [Int], scale: Float) -> Tensor {
            Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in next() * scale })
        }
        let network = Network(name: testCase.name, inputShape: .featureMap(height: testCase.input.height, width: testCase.input.width,
                                                                         channels: testCase.channels),
                              dataFormat: .channelsLast, layers: testCase.layers.map(\.layer))
        var weights: [String: LayerWeights] = [:]
        let inputs = try! network.inputShapes().map { $0[0] }
        for (layer, input) in zip(network.layers, inputs) {
            switch layer.operation {
            case .convolution(let convolution):
                let shape = [convolution.kernelSize.height, convolution.kernelSize.width, input.channels, convolution.filters]
                // Scaled so that sums over deep patches stay near 1.
                weights[layer.name] = .convolution(kernel: tensor(shape, scale: 2 / Float(shape[0 ..< 3].reduce(1, *)).squareRoot()),
                                                   bias: tensor([convolution.filters], scale: 1))
            case .dense(let dense):
                weights[layer.name] = .dense(kernel: tensor([input.elementCount, dense.units], scale: 2 / Float(input.elementCount).squareRoot()),
                                             bias: tensor([dense.units], scale: 1))
            case .pooling, .zeroPadding, .flatten, .activation, .batchNormalization, .globalPooling, .dropout, .reshape, .merge,
                 .concatenate, .layerNormalization, .channelAffine, .parametricReLU, .localResponseNormalization, .resize:
                continue
            }
        }
        return Model(network: network, weights: weights, source: ModelSource(format: "test", path: "test"))
    }

    @Test(arguments: cases, InstructionSet.available)
    func fastEqualsPlainAndReference(_ testCase: Case, level: InstructionSet) throws {
        let model = model(testCase, seed: 42)
        // A larger input than the network was declared with, odd in both directions.
        let size = Size2D(height: testCase.input.height + 7, width: testCase.input.width + 5)
        var state: UInt64 = 7
        let image = MapImage(size: size, channels: testCase.channels, values: (0..<(size.height * size.width * testCase.channels)).map { _ in
            state = state &* 2_862_933_555_777_941_757 &+ 3_037_000_493
            return Float(state >> 40) / Float(1 << 24)
        })
        let executor = try Executor(model: model, threads: 2, maxISA: level)
        #expect(executor.instructionSet == level)
        #expect(executor.layerPaths == testCase.layers.map { $0.kernel.path(at: level) }, "\(testCase.name) at \(level)")
        let fast = try executor.run(image.framework(.channelsLast))
        let plain = try Executor(model: model, threads: 1, fastConvolutions: false).run(image.framework(.channelsLast))
        expectClose(fast, plain, "\(testCase.name) at \(level)")
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
        expectClose(Tensor(shape: [actual.count], values: actual), Tensor(shape: [reference.count], values: reference),
                    "\(testCase.name) at \(level)")
    }

    /// The platform table's levels: the executor runs the one it is capped at, and never one
    /// above what the CPU has.
    @Test func capsPickTheirLevel() throws {
        let model = model(Self.cases[0], seed: 1)
        for level in InstructionSet.available {
            #expect(try Executor(model: model, maxISA: level).instructionSet == level)
        }
        #expect(try Executor(model: model, maxISA: .avx512).instructionSet == InstructionSet.available.last)
        #expect(InstructionSet.available.last! <= InstructionSet.detected)
    }
}
