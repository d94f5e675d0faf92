import FCNConvert
import FCNModel
@testable import FCNRuntime
import FCNTensorIO
import Testing
import _FCNTestSupport

/// Streaming runs (`Executor.runStreaming`): bands with rolling buffers and column strips give
/// the whole run's grid, within budgets down to one output cell per region, on chains and graphs
/// (residuals, depthwise, concatenation, 'same' and 'valid' padding) of odd sizes.
///
/// Exactness: the streamed grid agrees with the whole run's within float rounding (1e-5 of the
/// largest value) on every path, not bit for bit: a region's products have other shapes than the
/// whole image's (a one-row product is a GEMV, OpenBLAS blocks by the number of rows) and
/// Winograd's blocks start at a band's first row instead of the image's, so sums are ordered
/// differently. Layouts are forced here (one cell per region, odd bands and strips) because a
/// small fixture fits even the smallest budget whole.
@Suite struct StreamingTests {
    /// A converted fixture, its FCN input as an HWC image, and the whole run's grid.
    struct Subject {
        let name: String
        let model: Model
        let image: MapImage
    }

    static let chainNames = ["k3_vgg_same_bn", "k3_lenet", "k2_weights", "caffe_quick", "k3_gap"]

    static func chain(_ name: String) throws -> Subject {
        let fixture = try #require(Manifest.shared.fixture(named: name))
        let model = try Convolutionalizer.convert(try fixture.load())
        let input = try NumPyFile.read(path: Fixtures.path(fixture.golden.fcnInput))
        return Subject(name: name, model: model, image: MapImage(framework: input, format: model.network.dataFormat))
    }

    static func graph(_ stored: StoredFixture) throws -> Subject {
        let model = try Convolutionalizer.convert(try stored.fixture.load(stored.file))
        let input = try NumPyFile.read(path: Fixtures.path(try #require(stored.fixture.golden.fcnInput)))
        return Subject(name: stored.file, model: model, image: MapImage(framework: input, format: model.network.dataFormat))
    }

    static let graphs = GraphManifest.shared.stored.filter { $0.fixture.refused == nil && $0.fixture.golden.fcnInput != nil }

    /// The grid of the whole run, HWC.
    static func whole(_ executor: Executor, _ subject: Subject) throws -> MapImage {
        MapImage(framework: try executor.run(subject.image.tensor(for: subject.model.network)), format: subject.model.network.dataFormat)
    }

    /// The grid streamed within `budget`, the run's stats and the sink.
    static func stream(_ executor: Executor, _ image: MapImage, budget: Int) throws -> (grid: MapImage, stats: StreamingStats, sink: MapImageSink) {
        let output = try executor.outputShape(inputSize: image.size)
        let sink = MapImageSink(size: output.spatial, channels: output.channels)
        let stats = try executor.runStreaming(source: MapImageSource(image), sink: sink, maxMemory: budget)
        #expect(sink.isComplete && sink.cellsWrittenTwice == 0, "every cell exactly once")
        return (sink.image, stats, sink)
    }

    /// The smallest budget a streaming run of `image` accepts (one output cell per region).
    static func smallestBudget(_ executor: Executor, _ image: MapImage) throws -> Int {
        let output = try executor.outputShape(inputSize: image.size)
        do {
            try executor.runStreaming(source: MapImageSource(image), sink: MapImageSink(size: output.spatial, channels: output.channels), maxMemory: 1)
        } catch ExecutionError.budgetTooSmall(let needed, let budget) {
            #expect(budget == 1)
            return needed
        }
        Issue.record("a 1-byte budget was accepted")
        return 1
    }

    static func tensor(_ image: MapImage) -> Tensor { Tensor(shape: [image.size.height, image.size.width, image.channels], values: image.values) }

    /// Runs `source` in bands of `bandRows` and strips of `stripColumns` output cells into `sink`.
    @discardableResult
    static func run(_ executor: Executor, _ source: any RegionSource, into sink: any GridSink, bandRows: Int, stripColumns: Int,
                    progress: (StreamingProgress) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws -> StreamingStats {
        let plan = try executor.plan(for: executor.network.inputShape(resizedTo: Size2D(height: source.height, width: source.width)))
        let layout = BandLayout(plan: plan, network: executor.network, bandRows: bandRows, stripColumns: stripColumns)
        return try executor.runBands(layout, plan: plan, source: source, sink: sink, progress: progress, shouldStop: shouldStop)
    }

    /// The grid of `image` in bands of `bandRows` and strips of `stripColumns` output cells.
    static func stream(_ executor: Executor, _ image: MapImage, bandRows: Int, stripColumns: Int) throws
        -> (grid: MapImage, stats: StreamingStats) {
        let plan = try executor.plan(for: executor.network.inputShape(resizedTo: image.size))
        let sink = MapImageSink(size: plan.output.spatial, channels: plan.output.channels)
        let stats = try run(executor, MapImageSource(image), into: sink, bandRows: bandRows, stripColumns: stripColumns)
        #expect(sink.isComplete && sink.cellsWrittenTwice == 0, "every cell exactly once")
        #expect(stats.bands == (plan.output.spatial.height + bandRows - 1) / bandRows)
        #expect(stats.columnStrips == (plan.output.spatial.width + stripColumns - 1) / stripColumns)
        return (sink.image, stats)
    }

    /// Streams `subject` in one cell per region, in odd bands and strips, in full-width bands and
    /// within its smallest budget, and checks each grid against the whole run's.
    static func checkLayouts(_ subject: Subject, fast: Bool) throws {
        let executor = try Executor(model: subject.model, threads: 2, fastConvolutions: fast)
        let reference = try whole(executor, subject)
        let grid = reference.size
        for (rows, columns) in [(1, 1), (2, 3), (3, grid.width), (grid.height, 2)] {
            let (streamed, _) = try stream(executor, subject.image, bandRows: rows, stripColumns: columns)
            expectClose(tensor(streamed), tensor(reference), tolerance: 1e-5, "\(subject.name) in bands of \(rows) and strips of \(columns)")
        }
        let smallest = try smallestBudget(executor, subject.image)
        let (streamed, stats, _) = try stream(executor, subject.image, budget: smallest)
        #expect(stats.plannedBytes <= smallest)
        expectClose(tensor(streamed), tensor(reference), tolerance: 1e-5, "\(subject.name) within \(smallest) bytes")
    }

    @Test(arguments: chainNames, [true, false])
    func chainsStreamedEqualTheWholeRun(_ name: String, fast: Bool) throws {
        try Self.checkLayouts(try Self.chain(name), fast: fast)
    }

    @Test(arguments: graphs, [true, false])
    func graphsStreamedEqualTheWholeRun(_ stored: StoredFixture, fast: Bool) throws {
        try Self.checkLayouts(try Self.graph(stored), fast: fast)
    }

    /// A residual net on Winograd (3×3 'same' and 4×4 'valid'), pooling and a 1×1 head, with
    /// random weights: streamed in bands and strips, Winograd blocks start inside the image.
    @Test func winogradResidualNetStreamedEqualsTheWholeRun() throws {
        let layers = [
            Layer(name: "a", sourceClass: "Conv2D", operation: .convolution(Convolution(filters: 16, kernelSize: Size2D(square: 3), padding: .same,
                                                                                       activation: .plainReLU))),
            Layer(name: "b", sourceClass: "Conv2D", operation: .convolution(Convolution(filters: 16, kernelSize: Size2D(square: 3), padding: .same))),
            Layer(name: "sum", sourceClass: "Add", operation: .merge(.add), inputs: ["a", "b"]),
            Layer(name: "pool", sourceClass: "MaxPooling2D", operation: .pooling(Pooling(kind: .max, poolSize: Size2D(square: 2),
                                                                                         strides: Size2D(square: 2)))),
            Layer(name: "c", sourceClass: "Conv2D", operation: .convolution(Convolution(filters: 12, kernelSize: Size2D(square: 4)))),
            Layer(name: "head", sourceClass: "Conv2D", operation: .convolution(Convolution(filters: 3, kernelSize: Size2D(square: 1)))),
        ]
        let network = Network(name: "residual", inputShape: .featureMap(height: 37, width: 45, channels: 8), dataFormat: .channelsLast, layers: layers)
        var state: UInt64 = 3
        func tensor(_ shape: [Int]) -> Tensor {
            Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(Int64(bitPattern: state >> 11) % 2000) / 8000
            })
        }
        let weights: [String: LayerWeights] = [
            "a": .convolution(kernel: tensor([3, 3, 8, 16]), bias: tensor([16])),
            "b": .convolution(kernel: tensor([3, 3, 16, 16]), bias: tensor([16])),
            "c": .convolution(kernel: tensor([4, 4, 16, 12]), bias: tensor([12])),
            "head": .convolution(kernel: tensor([1, 1, 12, 3]), bias: tensor([3])),
        ]
        let model = Model(network: network, weights: weights, source: ModelSource(format: "test", path: "test"))
        let executor = try Executor(model: model, threads: 2)
        #expect(executor.layerPaths.filter { $0.hasPrefix("winograd") }.count == 3, "\(executor.layerPaths)")
        try Self.checkLayouts(Subject(name: "residual", model: model, image: Self.randomImage(Size2D(height: 37, width: 45), channels: 8)), fast: true)
    }

    /// In-memory runs over `memoryBudget` take the same bands, and match the golden grid.
    @Test(arguments: chainNames)
    func runWithinABudgetMatchesTheGoldenGrid(_ name: String) throws {
        let fixture = try #require(Manifest.shared.fixture(named: name))
        let model = try Convolutionalizer.convert(try fixture.load())
        let input = try NumPyFile.read(path: Fixtures.path(fixture.golden.fcnInput))
        let executor = try Executor(model: model, threads: 2)
        let smallest = try Self.smallestBudget(executor, MapImage(framework: input, format: model.network.dataFormat))
        executor.memoryBudget = smallest
        expectClose(try executor.run(input), try NumPyFile.read(path: Fixtures.path(fixture.golden.fcnOutput)), "\(name) within \(smallest) bytes")
    }

    /// A random image of `size` with `channels`.
    static func randomImage(_ size: Size2D, channels: Int, seed: UInt64 = 7) -> MapImage {
        var state = seed
        let values = (0..<(size.height * size.width * channels)).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1
        }
        return MapImage(size: size, channels: channels, values: values)
    }

    /// The same budget bounds the planned bytes whatever the image's area (only the number of
    /// regions grows), and a wide image is cut into column strips.
    @Test func theBudgetBoundsThePlannedBytesWhateverTheArea() throws {
        let subject = try Self.chain("k3_vgg_same_bn")
        let executor = try Executor(model: subject.model, threads: 2)
        let channels = subject.image.channels
        let budget = try Self.smallestBudget(executor, Self.randomImage(Size2D(height: 64, width: 384), channels: channels)) * 3
        var regions = 0
        for side in [64, 128, 256, 384] {
            let image = Self.randomImage(Size2D(height: side, width: side), channels: channels)
            let (_, stats, _) = try Self.stream(executor, image, budget: budget)
            #expect(stats.plannedBytes <= budget, "\(side)²: \(stats.plannedBytes) bytes planned for a budget of \(budget)")
            #expect(stats.regions >= regions)
            regions = stats.regions
            // The whole image at once needs several times the budget.
            if side == 384 {
                let (_, unbounded, _) = try Self.stream(executor, image, budget: .max)
                #expect(unbounded.regions == 1 && unbounded.plannedBytes > 2 * budget, "\(unbounded.plannedBytes) vs \(budget)")
                #expect(stats.regions > 1)
            }
        }
        let wide = Self.randomImage(Size2D(height: 64, width: 1600), channels: channels)
        let (grid, stats, _) = try Self.stream(executor, wide, budget: budget)
        #expect(stats.columnStrips > 1 && stats.plannedBytes <= budget)
        let reference = MapImage(framework: try executor.run(wide.framework(.channelsLast)), format: .channelsLast)
        expectClose(Self.tensor(grid), Self.tensor(reference), tolerance: 1e-5, "wide image in strips")
    }

    /// A source that records what it is asked for, refuses regions outside the image, and fails
    /// on request.
    final class RecordingSource: RegionSource {
        let image: MapImageSource
        var regions: [(rows: Range<Int>, columns: Range<Int>)] = []
        var outside = 0
        let failOnRead: Int?
        struct Failure: Error {}
        var height: Int { image.height }
        var width: Int { image.width }
        var channels: Int { image.channels }

        init(_ image: MapImage, failOnRead: Int? = nil) {
            self.image = MapImageSource(image)
            self.failOnRead = failOnRead
        }

        func read(rows: Range<Int>, columns: Range<Int>, into target: UnsafeMutableBufferPointer<Float>) throws {
            regions.append((rows, columns))
            if regions.count == failOnRead { throw Failure() }
            guard rows.lowerBound >= 0, rows.upperBound <= height, columns.lowerBound >= 0, columns.upperBound <= width, !rows.isEmpty,
                  !columns.isEmpty, target.count == rows.count * columns.count * channels else {
                outside += 1
                return
            }
            try image.read(rows: rows, columns: columns, into: target)
        }
    }

    @Test func progressCountsRegionsAndCellsAndTheSinkGetsBandsInOrder() throws {
        let subject = try Self.chain("k3_lenet")
        let executor = try Executor(model: subject.model, threads: 2)
        let output = try executor.outputShape(inputSize: subject.image.size)
        let sink = MapImageSink(size: output.spatial, channels: output.channels)
        let source = RecordingSource(subject.image)
        var reports: [StreamingProgress] = []
        let stats = try Self.run(executor, source, into: sink, bandRows: 2, stripColumns: 3, progress: { reports.append($0) })
        #expect(stats.regions > 1 && stats.regions == stats.bands * stats.columnStrips)
        #expect(reports.map(\.regionsDone) == Array(1...stats.regions))
        #expect(reports.allSatisfy { $0.regionsTotal == stats.regions && $0.cellsTotal == output.spatial.height * output.spatial.width })
        #expect(reports.last?.cellsDone == output.spatial.height * output.spatial.width)
        #expect(source.regions.count == stats.regions && source.outside == 0)
        // Strip by strip, left to right; within a strip band by band, top to bottom.
        for (previous, next) in zip(sink.rectangles, sink.rectangles.dropFirst()) {
            let sameStrip = previous.columns == next.columns && next.rows.lowerBound == previous.rows.upperBound
            let nextStrip = next.rows.lowerBound == 0 && previous.rows.upperBound == output.spatial.height
                && next.columns.lowerBound == previous.columns.upperBound
            #expect(sameStrip || nextStrip, "\(previous) then \(next)")
        }
    }

    @Test func theStopCheckStopsBetweenRegions() throws {
        let subject = try Self.chain("k3_lenet")
        let executor = try Executor(model: subject.model, threads: 2)
        let output = try executor.outputShape(inputSize: subject.image.size)
        let sink = MapImageSink(size: output.spatial, channels: output.channels)
        let source = RecordingSource(subject.image)
        #expect(throws: ExecutionError.stopped) {
            try Self.run(executor, source, into: sink, bandRows: 1, stripColumns: 2, shouldStop: { sink.rectangles.count == 3 })
        }
        // Three regions written whole, the fourth read ahead and not computed.
        #expect(sink.rectangles.count == 3 && sink.cellsWritten == sink.rectangles.reduce(0) { $0 + $1.rows.count * $1.columns.count })
        #expect(source.regions.count == 4)
    }

    @Test func aFailingSourceEndsTheRunWithItsError() throws {
        let subject = try Self.chain("k3_lenet")
        let executor = try Executor(model: subject.model, threads: 2)
        let output = try executor.outputShape(inputSize: subject.image.size)
        let sink = MapImageSink(size: output.spatial, channels: output.channels)
        #expect(throws: RecordingSource.Failure.self) {
            try Self.run(executor, RecordingSource(subject.image, failOnRead: 3), into: sink, bandRows: 1, stripColumns: 2)
        }
        #expect(sink.rectangles.count == 2)
    }

    @Test func aSourceThatDoesNotFitTheNetworkIsRefused() throws {
        let subject = try Self.chain("k3_vgg_same_bn")
        let executor = try Executor(model: subject.model, threads: 1)
        let gray = MapImage(size: subject.image.size, channels: 1, values: .init(repeating: 0, count: subject.image.size.height * subject.image.size.width))
        let error = try #require(throws: ExecutionError.self) {
            try executor.runStreaming(source: MapImageSource(gray), sink: MapImageSink(size: Size2D(square: 1), channels: 1))
        }
        #expect(error.description.contains("channels"), "\(error)")
    }

    /// A classifier (Flatten, dense) runs whole as one region within the budget, and is refused
    /// with the reason below it.
    @Test func networksThatSeeTheWholeInputRunAsOneRegion() throws {
        let fixture = try #require(Manifest.shared.fixture(named: "k3_lenet"))
        let model = try fixture.load()
        let batch = try NumPyFile.read(path: Fixtures.path(fixture.golden.input))
        let first = Tensor(shape: Array(batch.shape.dropFirst()), values: Array(batch.values.prefix(batch.values.count / batch.shape[0])))
        let image = MapImage(framework: first, format: model.network.dataFormat)
        let executor = try Executor(model: model, threads: 1)
        let output = try executor.outputShape(inputSize: image.size)
        let sink = MapImageSink(size: output.spatial, channels: output.channels)
        let stats = try executor.runStreaming(source: MapImageSource(image), sink: sink)
        #expect(stats.regions == 1)
        let expected = try NumPyFile.read(path: Fixtures.path(fixture.golden.output))
        expectClose(Tensor(shape: [output.channels], values: sink.values), Tensor(shape: [expected.shape[1]], values: Array(expected.values.prefix(expected.shape[1]))))
        let error = try #require(throws: ExecutionError.self) {
            try executor.runStreaming(source: MapImageSource(image), sink: MapImageSink(size: output.spatial, channels: output.channels), maxMemory: 1024)
        }
        #expect(error.description.contains("--max-memory"), "\(error)")
    }
}
