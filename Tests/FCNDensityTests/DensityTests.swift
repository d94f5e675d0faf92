import FCNConvert
import FCNDensity
import FCNGeometry
import FCNModel
import FCNRuntime
import FCNVerification
import Testing
import _FCNTestSupport

/// Dense output at a finer stride (§3.2 of the FCN paper): the rarefied network in one pass
/// against its definition, shift-and-stitch, and, for nets that never pad, against the
/// classifier on each dense cell's crop.
@Suite struct DensityTests {
    /// A converted fixture with a random input of `size`.
    static func converted(_ name: String) throws -> (classifier: Model, fcn: Model) {
        let classifier = try #require(Manifest.shared.fixture(named: name)).load()
        return (classifier, try Convolutionalizer.convert(classifier))
    }

    static func image(_ size: Size2D, channels: Int, seed: UInt64 = 7) throws -> MapImage {
        var random = SeededRandom(seed: seed)
        return try random.image(size, channels: channels, budget: nil)
    }

    /// The largest difference between two maps of one shape, relative to the reference's largest magnitude.
    static func relativeError(_ actual: MapImage, _ reference: MapImage, cells: [(Int, Int)]? = nil) -> Float {
        let all = (0..<reference.size.height).flatMap { row in (0..<reference.size.width).map { (row, $0) } }
        var (error, scale) = (Float(0), Float.leastNormalMagnitude)
        for (row, column) in cells ?? all {
            for (value, expected) in zip(actual.cell(row: row, column: column), reference.cell(row: row, column: column)) {
                error = max(error, abs(value - expected))
                scale = max(scale, abs(expected))
            }
        }
        return error / scale
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let fixture: String
        let density: Density
        /// Added to twice the classifier's size: odd sizes.
        let extra: Size2D
        var testDescription: String { "\(fixture) F=\(density) +\(extra)" }
    }

    static let neverPads: [Case] = [
        Case(fixture: "k3_lenet", density: Density(square: 2), extra: Size2D(height: 3, width: 5)),
        Case(fixture: "k3_lenet", density: Density(square: 4), extra: Size2D(height: 7, width: 1)),
        Case(fixture: "k3_lenet", density: Density(rows: 2, columns: 4), extra: Size2D(height: 1, width: 3)),
        Case(fixture: "k1_tf", density: Density(square: 4), extra: Size2D(height: 5, width: 3)),
        Case(fixture: "k1_tf", density: Density(rows: 4, columns: 2), extra: Size2D(height: 1, width: 1)),
        Case(fixture: "k2_full", density: Density(square: 2), extra: Size2D(height: 3, width: 1)),
        Case(fixture: "k3_gap", density: Density(rows: 1, columns: 2), extra: Size2D(height: 1, width: 3)),
        Case(fixture: "k3_nested", density: Density(square: 2), extra: Size2D(height: 5, width: 5)),
    ]

    @Test(arguments: neverPads)
    func everyDenseCellIsTheClassifierOnItsCrop(_ test: Case) throws {
        let (classifier, fcn) = try Self.converted(test.fixture)
        let small = classifier.network.inputShape.spatial
        let size = Size2D(height: 2 * small.height + test.extra.height, width: 2 * small.width + test.extra.width)
        let image = try Self.image(size, channels: classifier.network.inputShape.channels)
        let dense = try DenseExecutor(model: fcn, density: test.density, threads: 2)
        let map = try dense.run(image)
        // The fast path ran: one pass of a network whose strides were reduced.
        guard case .rarefied(let layers)? = dense.lastMethod else { Issue.record("not rarefied: \(String(describing: dense.lastMethod))"); return }
        #expect(!layers.isEmpty)
        let grid = try dense.grid(inputSize: size)
        #expect(map.size == grid.size)
        // Σ n_a = ⌊(L − field) / s⌋ + 1 for nets that never pad.
        #expect(grid.size.height == (size.height - grid.receptiveField.height) / grid.stride.height + 1)
        #expect(grid.size.width == (size.width - grid.receptiveField.width) / grid.stride.width + 1)
        let base = try #require(grid.base.output)
        #expect(grid.stride == Size2D(height: base.vertical.jump / test.density.rows, width: base.horizontal.jump / test.density.columns))

        let crops = try Executor(model: classifier, threads: 2)
        var worst: Float = 0
        for row in 0..<map.size.height {
            for column in 0..<map.size.width {
                let crop = image.crop(top: row * grid.stride.height, left: column * grid.stride.width, size: small)
                let box = grid.box(row: row, column: column)
                #expect(box.rows.lowerBound == row * grid.stride.height && box.columns.lowerBound == column * grid.stride.width)
                let expected = try crops.run(crop)
                let one = MapImage(size: Size2D(square: 1), channels: map.channels, values: map.cell(row: row, column: column))
                worst = max(worst, Self.relativeError(one, expected))
            }
        }
        #expect(worst <= 1e-4, "largest relative error \(worst) over \(map.size) cells")
        // And the reference by its definition.
        let stitched = try dense.runShiftAndStitch(image)
        #expect(dense.lastMethod == .shiftAndStitch(runs: test.density.rows * test.density.columns))
        #expect(stitched.size == map.size)
        #expect(Self.relativeError(map, stitched) <= 1e-5)
    }

    struct PaddingCase: CustomTestStringConvertible, Sendable {
        let name: String
        let density: Density
        let size: Size2D
        var testDescription: String { "\(name) F=\(density) at \(size)" }
    }

    static let pads: [PaddingCase] = [
        PaddingCase(name: "caffe_quick", density: Density(square: 2), size: Size2D(height: 61, width: 57)),
        PaddingCase(name: "caffe_quick", density: Density(square: 4), size: Size2D(height: 64, width: 67)),
        PaddingCase(name: "k1_th", density: Density(square: 2), size: Size2D(height: 41, width: 37)),
        PaddingCase(name: "k3_functional", density: Density(rows: 2, columns: 1), size: Size2D(height: 51, width: 49)),
        PaddingCase(name: "k3_vgg_same_bn", density: Density(square: 4), size: Size2D(height: 96, width: 80)),
        PaddingCase(name: "k3_vgg_same_bn", density: Density(rows: 2, columns: 4), size: Size2D(height: 97, width: 83)),
    ]

    /// Where layers pad, the rarefied network pads the interlaced map and the shifted runs each
    /// phase: cells whose receptive field stays inside the image agree exactly.
    @Test(arguments: pads)
    func paddingNetsAgreeWithShiftAndStitchInside(_ test: PaddingCase) throws {
        let (classifier, fcn) = try Self.converted(test.name)
        let image = try Self.image(test.size, channels: classifier.network.inputShape.channels)
        let dense = try DenseExecutor(model: fcn, density: test.density, threads: 2)
        let map = try dense.run(image)
        guard case .rarefied? = dense.lastMethod else { Issue.record("the fast path did not run"); return }
        let stitched = try dense.runShiftAndStitch(image)
        #expect(map.size == stitched.size)
        let grid = try dense.grid(inputSize: test.size)
        let interior = (0..<grid.size.height).flatMap { row in (0..<grid.size.width).map { (row, $0) } }
            .filter { grid.isInterior(row: $0.0, column: $0.1) }
        #expect(!interior.isEmpty)
        #expect(Self.relativeError(map, stitched, cells: interior) <= 1e-5)
    }

    /// With TensorFlow's `same` padding in a strided layer, a run shifted by an odd number of
    /// pixels pads differently and its cells move: shift-and-stitch gives no regular grid, and says
    /// so; the rarefied network still gives the regular one.
    @Test func shiftAndStitchRefusesRunsThatMove() throws {
        let (_, fcn) = try Self.converted("k3_vgg_same_bn")
        let size = Size2D(height: 96, width: 80)
        let dense = try DenseExecutor(model: fcn, density: Density(rows: 2, columns: 8), threads: 2)
        let image = try Self.image(size, channels: 3)
        let map = try dense.run(image)
        #expect(map.size == (try dense.grid(inputSize: size)).size)
        do {
            _ = try dense.runShiftAndStitch(image)
            Issue.record("shift-and-stitch interlaced runs that moved")
        } catch let error as DensityError {
            guard case .shiftedRunMoves(let axis, let removed, _, _) = error else { Issue.record("\(error)"); return }
            #expect(axis == "columns" && removed == 1)
        }
    }

    @Test func graphsRarefyThroughBranches() throws {
        for (name, density, size) in [("resnet_mini", Density(square: 4), Size2D(height: 67, width: 71)),
                                      ("caffe_resnet_inception", Density(square: 2), Size2D(height: 72, width: 77)),
                                      ("caffenet_mini", Density(square: 8), Size2D(height: 80, width: 81))] {
            let fixture = try #require(GraphManifest.shared.fixtures.first { $0.name == name })
            let classifier = try fixture.load(fixture.file)
            let fcn = try Convolutionalizer.convert(classifier)
            let image = try Self.image(size, channels: classifier.network.inputShape.channels)
            let dense = try DenseExecutor(model: fcn, density: density, threads: 2)
            let map = try dense.run(image)
            guard case .rarefied? = dense.lastMethod else { Issue.record("\(name): the fast path did not run"); continue }
            let grid = try dense.grid(inputSize: size)
            let interior = (0..<grid.size.height).flatMap { row in (0..<grid.size.width).map { (row, $0) } }
                .filter { grid.isInterior(row: $0.0, column: $0.1) }
            let stitched = try dense.runShiftAndStitch(image)
            #expect(map.size == stitched.size, "\(name)")
            if interior.isEmpty { Issue.record("\(name): no interior cell at \(size)") }
            #expect(Self.relativeError(map, stitched, cells: interior) <= 1e-5, "\(name)")
        }
    }

    /// The rarefied network is planned and tiled like any other: within a small budget it runs in
    /// tiles, and the stitched tiles equal the untiled run.
    @Test func denseTilesStitchExactly() throws {
        let (_, fcn) = try Self.converted("caffe_quick")
        let size = Size2D(height: 157, width: 149)
        let image = try Self.image(size, channels: 3)
        let whole = try DenseExecutor(model: fcn, density: Density(square: 4), threads: 2)
        let tiled = try DenseExecutor(model: fcn, density: Density(square: 4), threads: 2)
        // Enough for bands a few cells high (the rarefied net needs 2 MiB for one cell), less than the whole run.
        tiled.memoryBudget = 4 << 20
        #expect(try !whole.runsInTiles(inputSize: size))
        #expect(try tiled.runsInTiles(inputSize: size))
        let expected = try whole.run(image)
        let actual = try tiled.run(image)
        // The dilated layers ran phase by phase on fast kernels, in the tiles too (with their clipped padding).
        #expect(tiled.layerPaths.contains { $0.hasPrefix("phased 2×2 winograd") } && tiled.layerPaths.contains { $0.hasPrefix("phased 4×4 direct") }
                || !InstructionSet.available.contains(.avx2))
        #expect(actual.size == expected.size)
        #expect(Self.relativeError(actual, expected) <= 1e-5)
    }

    @Test func densityOneIsTheNetworkItself() throws {
        let (_, fcn) = try Self.converted("k3_lenet")
        let image = try Self.image(Size2D(height: 61, width: 64), channels: 1)
        let dense = try DenseExecutor(model: fcn, density: .single, threads: 1)
        let map = try dense.run(image)
        #expect(dense.lastMethod == .single)
        #expect(map.values == (try Executor(model: fcn, threads: 1).run(image)).values)
    }

    @Test func rarefactionChoosesTheStridesNearestTheOutput() throws {
        // LeNet: conv 5, pool 2 (s2), conv 5, pool 2 (s2), dense: jump 4.
        let (_, fcn) = try Self.converted("k3_lenet")
        let size = Size2D(height: 71, width: 59)
        let half = try Rarefaction.rarefy(fcn.network, density: Density(square: 2), inputSize: size)
        let pools = fcn.network.layers.enumerated().filter { if case .pooling = $0.element.operation { true } else { false } }.map(\.offset)
        #expect(half.rarefiedLayers == [fcn.network.layers[pools[1]].name])
        let quarter = try Rarefaction.rarefy(fcn.network, density: Density(rows: 4, columns: 2), inputSize: size)
        #expect(quarter.strideFactors[pools[0]] == Size2D(height: 2, width: 1))
        #expect(quarter.strideFactors[pools[1]] == Size2D(height: 2, width: 2))
        // The last layer (the Dense made a convolution) is dilated by everything removed before it.
        #expect(quarter.dilationFactors.last == Size2D(height: 4, width: 2))
        guard case .pooling(let second) = quarter.network.layers[pools[1]].operation else { Issue.record("not pooling"); return }
        #expect(second.strides == Size2D(square: 1) && second.dilation == Size2D(height: 2, width: 1))
    }

    @Test func aDensityThatDoesNotDivideTheStrideListsTheOnesThatDo() throws {
        let (_, fcn) = try Self.converted("k3_lenet")
        #expect(throws: DensityError.notDividing(axis: "rows", factor: 3, jump: 4, divisors: [1, 2, 4])) {
            try DenseExecutor(model: fcn, density: Density(square: 3))
        }
        let message = DensityError.notDividing(axis: "rows", factor: 3, jump: 4, divisors: [1, 2, 4]).description
        #expect(message.contains("densities that do: 1, 2, 4"))
    }

    @Test func aClassifierThatIsNotConvertedIsRefused() throws {
        let (classifier, _) = try Self.converted("k3_lenet")
        do {
            _ = try DenseExecutor(model: classifier, density: Density(square: 2))
            Issue.record("a classifier with Flatten and Dense was accepted")
        } catch {
            #expect(error.description.contains("not a sliding window; convert the network first"))
        }
    }

    @Test func dilatedPoolingMatchesThePlainReference() throws {
        for (kind, counts, padding) in [(PoolingKind.max, false, PaddingMode.valid), (.average, true, .explicit(EdgePadding(top: 2, bottom: 3, left: 1, right: 4))),
                                        (.average, false, .explicit(EdgePadding(top: 3, bottom: 0, left: 0, right: 2)))] {
            let pooling = Pooling(kind: kind, poolSize: Size2D(height: 3, width: 2), strides: Size2D(height: 1, width: 2),
                                  dilation: Size2D(height: 2, width: 3), padding: padding, averageCountsPadding: counts)
            let network = Network(name: "pool", inputShape: .featureMap(height: 13, width: 17, channels: 3), dataFormat: .channelsLast,
                                  layers: [Layer(name: "pool", sourceClass: "test", operation: .pooling(pooling))])
            let model = Model(network: network, weights: [:], source: ModelSource(format: "test", path: "test"))
            let image = try Self.image(Size2D(height: 13, width: 17), channels: 3)
            let output = try Executor(model: model, threads: 2).run(image)
            let cells = (0..<output.size.height).flatMap { row in (0..<output.size.width).map { (row: row, column: $0) } }
            let reference = try ReferenceEvaluator(model: model).values(ofCells: cells, input: image.values, size: image.size)
            #expect(output.values.count == reference.count)
            let error = zip(output.values, reference).map { abs($0 - $1) }.max() ?? 0
            #expect(error <= 1e-6, "\(kind) \(padding): largest error \(error)")
        }
    }
}
