import FCNConvert
import FCNImage
import FCNImport
import FCNModel
import FCNRuntime
import FCNSlide
import FCNTensorIO
import Foundation
import Testing
import _FCNTestSupport

/// A slide run streamed into the grid file equals the same pixels run as one in-memory image,
/// and its cells equal the classifier on their crops (the bundled model never pads).
@Suite struct SlideStreamingTests {
    let scratch = try! TemporaryDirectory()
    static let classifier = try! ModelImporter.load(path: Fixtures.repositoryRoot.appendingPathComponent("models/digits-lenet.h5").path)
    static let converted = try! Convolutionalizer.convert(classifier)

    @Test(arguments: [2, 1])
    func streamedGridEqualsTheInMemoryRun(level: Int) throws {
        let slide = try Slide(path: Fixtures.path("slides/pyramid.tif"))
        let size = Size2D(height: slide.levels[level].height, width: slide.levels[level].width)
        let preprocessing = Preprocessing(preset: .unit)
        let executor = try Executor(model: Self.converted, threads: 2)
        let grid = try executor.outputShape(inputSize: size)
        let path = scratch.path("grid-\(level).npy")
        let sink = try SlideGridSink(path: path, size: grid.spatial, classes: grid.channels)
        // A small budget, so that the run takes several regions.
        let stats = try executor.runStreaming(source: SlideRegionSource(slide: slide, level: level, preprocessing: preprocessing, channels: 1),
                                              sink: sink, maxMemory: 8 << 20)
        #expect(stats.regions >= 1)

        let pixels = PixelImage(size: size, channels: 3, pixels: try slide.readRGB(level: level, top: 0, left: 0, height: size.height, width: size.width))
        let whole = try Executor(model: Self.converted, threads: 2).run(preprocessing.input(from: pixels, channels: 1).tensor(for: Self.converted.network))
        let streamed = try NumPyFile.read(path: path)
        #expect(streamed.shape == [1, grid.spatial.height, grid.spatial.width, grid.channels])
        expectClose(streamed, whole, tolerance: 1e-5, "level \(level)")
        #expect(sink.nanCells == 0)
        let top = sink.tally.peaks[10]
        #expect(top == (0..<(grid.spatial.height * grid.spatial.width)).map { whole.values[$0 * grid.channels + 10] }.max())

        // Sampled cells: cell (i, j) is the classifier on the 28 × 28 crop at (4i, 4j).
        let classifier = try Executor(model: Self.classifier, threads: 1)
        let image = preprocessing.input(from: pixels, channels: 1)
        let file = try NumPyGridFile(reading: path)
        for (row, column) in [(0, 0), (grid.spatial.height - 1, grid.spatial.width - 1), (grid.spatial.height / 2, 17), (5, grid.spatial.width / 3)] {
            let crop = image.crop(top: 4 * row, left: 4 * column, size: Size2D(square: 28))
            let expected = try classifier.run(crop.tensor(for: Self.classifier.network))
            let cells = try file.row(row)
            let actual = Array(cells[(column * grid.channels)..<((column + 1) * grid.channels)])
            expectClose(Tensor(shape: [grid.channels], values: actual), Tensor(shape: [grid.channels], values: expected.values),
                        tolerance: 1e-4, "cell (\(row), \(column))")
        }
    }

    @Test func gridFileWrittenInBandsReadsBackAsNumPy() throws {
        let path = scratch.path("bands.npy")
        let size = Size2D(height: 5, width: 7)
        let file = try NumPyGridFile(creating: path, size: size, channels: 3)
        let values = (0..<(5 * 7 * 3)).map(Float.init)
        // Bands in order, one split into two column strips.
        for (rows, columns) in [(0..<2, 0..<7), (2..<5, 0..<4), (2..<5, 4..<7)] {
            var part: [Float] = []
            for row in rows { part += values[((row * 7 + columns.lowerBound) * 3)..<((row * 7 + columns.upperBound) * 3)] }
            try part.withUnsafeBufferPointer { try file.write(rows: rows, columns: columns, values: $0) }
        }
        let read = try NumPyFile.read(path: path)
        #expect(read.shape == [1, 5, 7, 3])
        #expect(read.values == values)
        #expect(try NumPyGridFile(reading: path).row(3) == Array(values[63..<84]))
        #expect(throws: NumPyError.self) { try NumPyGridFile(creating: path, size: size, channels: 3) }
    }
}
