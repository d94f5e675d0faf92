import FCNGeometry
import FCNImage
import FCNModel
import FCNRuntime
import FCNTensorIO
import Foundation

/// `fcn heatmap` for 1-D (Conv1D) classifiers: the input is a `.npy` sequence `(L, C)` or
/// `(1, L, C)`, fed as stored (the model's own Rescaling or Normalization layers apply); the
/// result is the score grid `(1, Lo, K)`, a manifest placing cell `i` at sample
/// `offset + i · stride`, and a line plot of the chosen classes' scores along the sequence.
extension HeatmapJob {
    /// Processes one sequence into `folder` (a staging folder), naming its files `<leaf>.…`.
    func processSequence(_ path: String, leaf stem: String, into folder: URL) throws -> Staged {
        var timings: [String: Double] = [:]
        var stored: Tensor!
        timings["decode_ms"] = try Stopwatch.milliseconds { stored = try NumPyFile.read(path: path, noting: Note.print) }
        let network = model.network
        let channels = network.inputShape.channels
        let shape = stored.shape
        guard (shape.count == 2 || (shape.count == 3 && shape[0] == 1)), shape.last == channels else {
            throw HeatmapInputError(path: path, reason: "the model reads sequences of \(channels)-channel samples: expected a .npy of shape "
                                    + "(length, \(channels)) or (1, length, \(channels)), got (\(shape.map(String.init).joined(separator: ", ")))")
        }
        let length = shape[shape.count - 2]
        let minimum = network.inputShape.spatial.width
        guard length >= minimum else {
            throw HeatmapInputError(path: path, reason: "the sequence has \(length) samples, fewer than the model's minimum input \(minimum)")
        }
        let input = Tensor(shape: [1, length, channels], values: stored.values)
        var gridTensor: Tensor!
        guard case .plain(let executor) = runner else { preconditionFailure("heatmap refuses --density on sequences") }
        timings["run_ms"] = try Stopwatch.milliseconds { gridTensor = try executor.run(input) }
        let cells = gridTensor.shape[1]
        let classes = gridTensor.shape[2]
        let geometry = try NetworkGeometry(network: network, inputSize: Size2D(height: 1, width: length))
        guard let last = geometry.layers.last?.horizontal else { throw HeatmapInputError(path: path, reason: "the model has no layers") }
        let rows = (0..<classes).map { k in (0..<cells).map { gridTensor.values[$0 * classes + k] } }
        let ranking = ClassRanking(values: gridTensor.values, classes: classes)
        let peaks = ranking.peakCells
        let chosen = try chosenClasses(ranking: ranking, classes: classes)
        let probabilities = Self.isProbability(network)
        let picked = chosen.flatMap { rows[$0] }
        let (low, high) = (picked.min() ?? 0, picked.max() ?? 1)

        let plotName = "\(stem).scores.png"
        timings["render_ms"] = try Stopwatch.milliseconds {
            let plot = SequencePlot(scores: chosen.map { rows[$0] }, length: length, start: last.start, jump: Double(last.jump), low: low, high: high)
            try plot.render().writePNG(to: folder.appendingPathComponent(plotName).path)
        }
        let gridName = writeGrid ? "\(stem).grid.npy" : nil
        if let gridName { try NumPyFile.write(gridTensor, to: folder.appendingPathComponent(gridName).path) }
        let files = [plotName] + [gridName].compactMap { $0 }
        let entries = chosen.enumerated().map { order, index in
            SequenceManifest.ClassEntry(index: index, name: names.name(index), peakScore: ranking.peaks[index], peakCell: peaks[index],
                                        peakSample: last.start + Double(peaks[index]) * Double(last.jump),
                                        lineColor: SequencePlot.lineColor(order))
        }
        let manifest = SequenceManifest(
            model: model.source.path, sequence: path, length: length, channels: channels, grid: cells, stride: last.jump,
            offset: last.start, receptiveField: last.receptiveField,
            scale: HeatmapManifest.Scale(low: low, high: high, meaning: (probabilities ? "softmax probability" : "raw score") + ", plotted from the lowest to the highest score of the classes drawn"),
            classes: entries, plot: plotName, gridFile: gridName, timingsMs: timings, files: files)
        return Staged(files: files, manifest: try JSONOutput.data(manifest), timingsMs: timings)
    }
}

/// The JSON written beside each sequence's plot; keys documented in docs/heatmaps.md.
struct SequenceManifest: Encodable {
    struct ClassEntry: Encodable {
        let index: Int
        let name: String
        let peakScore: Float
        let peakCell: Int
        /// The centre of the peak cell's receptive field, in input samples.
        let peakSample: Double
        /// The line's colour in the plot, `#rrggbb`.
        let lineColor: String
    }

    let model: String
    let sequence: String
    let length: Int
    let channels: Int
    let grid: Int
    let stride: Int
    let offset: Double
    let receptiveField: Int
    let scale: HeatmapManifest.Scale
    let classes: [ClassEntry]
    let plot: String
    /// The score grid's file, or null with --no-grid.
    @NullWhenAbsent var gridFile: String?
    let timingsMs: [String: Double]
    /// The result set's files but the manifest (docs/heatmaps.md, "Result sets").
    let files: [String]
}
