import ArgumentParser
import FCNKerasExport

/// `fcn`: turns image classifiers into fully convolutional networks and runs them.
@main
struct FCNCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fcn",
        abstract: "Turn image classifiers into fully convolutional networks and make class heatmaps.",
        discussion: """
            Reads Keras .h5 files of every generation (full models and weights-only with --arch), \
            Keras 3 .weights.h5 and Caffe .caffemodel.h5 snapshots with their .prototxt.
            """,
        version: KerasFileWriter.fcnkitVersion,
        subcommands: [InspectCommand.self, ConvertCommand.self, RunCommand.self, VerifyCommand.self, BenchCommand.self, HeatmapCommand.self])
}
