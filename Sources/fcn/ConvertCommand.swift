import ArgumentParser
import FCNConvert
import FCNKerasExport
import FCNModel
import Foundation

/// `fcn convert`: writes the fully convolutional form as a Keras `.h5` file.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a classifier to a fully convolutional network and write it as a Keras .h5 file.",
        discussion: """
            The file is a Keras legacy full-model .h5 (Conv2D layers in place of Dense, any input size) \
            that keras.models.load_model reads; fcn inspect, run and verify read it back. Channels_first \
            models are written channels_last, the layout Keras runs on the CPU. See docs/fcn-file-format.md.

            Examples:
              fcn convert models/digits-lenet.h5 -o digits-fcn.h5
              fcn convert deploy.caffemodel.h5 --arch deploy.prototxt -o deploy-fcn.h5 --labels labels.txt
            """)

    @OptionGroup var modelArguments: ModelArguments
    @OptionGroup var conversion: ConversionArguments

    @Option(name: .shortAndLong, help: "The .h5 file to write (written to a temporary name, then renamed).")
    var output: String

    @Flag(help: "Replace the output file if it exists (by default convert refuses).")
    var overwrite = false

    @Option(help: "Class names to store in the file, one per line (default: <model>-labels.txt or labels.txt beside the model, or the names the model records).")
    var labels: String?

    func run() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory) {
            guard !isDirectory.boolValue else { throw ConvertOutputError(path: output, reason: "is a folder; give a file name with -o") }
            guard overwrite else { throw ConvertOutputError(path: output, reason: "exists; pass --overwrite to replace it") }
        }
        let model = try modelArguments.load()
        var converted = try Convolutionalizer.convert(model, options: conversion.options)
        let names = try ClassNames(explicitPath: labels, modelPath: modelArguments.model, recorded: model.source.classNames)
        try names.checkCount(classes: (try? converted.network.outputShapes())?.last?.channels ?? 0)
        converted.source.classNames = names.names
        try KerasFileWriter.write(converted, to: output)
        let convolutions = converted.network.layers.compactMap { layer -> String? in
            guard case .convolution(let convolution) = layer.operation else { return nil }
            return "\(layer.name) \(convolution.kernelSize)"
        }
        print("Wrote \(output): \(converted.network.layers.count) layers, convolutions \(convolutions.joined(separator: ", "))"
              + (names.names.map { ", \($0.count) class names" } ?? ""))
        if model.network.dataFormat == .channelsFirst {
            print("Note: the source is channels_first; the FCN is written channels_last, so it takes (H, W, C) inputs.")
        }
    }
}

/// Why `fcn convert` will not write to its `-o` path.
struct ConvertOutputError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "\(path) \(reason)" }
}
