import ArgumentParser
import FCNConvert
import FCNImport
import FCNModel
import FCNVerification
import Foundation

/// `fcn verify`: proves the converted network equal to the classifier.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that the fully convolutional form of a model equals the classifier.",
        discussion: """
            (a) On the classifier's own input size the converted net must give the classifier's output. \
            (b) On a larger input, each sampled cell (corners included) must equal the classifier run on \
            the crop behind it. Where a layer pads, the FCN sees real image around a crop where the \
            classifier saw zeros, so there (b) compares against a plain, independent evaluation of the \
            FCN and prints the classifier difference as information. Inputs are seeded random values in [0, 1).

            Examples:
              fcn verify models/digits-lenet.h5
              fcn verify classifier.h5 --converted classifier-fcn.h5 --input 100x140 --json
            """)

    @OptionGroup var modelArguments: ModelArguments
    @OptionGroup var conversion: ConversionArguments
    @OptionGroup var runtime: RuntimeArguments

    @Option(help: "The larger input size for check (b) (default: twice the classifier's size plus 3).")
    var input: Size2D?

    @Option(help: "How many cells of the grid to check, the four corners included.")
    var samples = 16

    @Option(help: "The largest error allowed, relative to the largest reference magnitude.")
    var tolerance: Float = 1e-4

    @Option(help: "The seed of the random inputs.")
    var seed: UInt64 = 1

    @Option(help: "A converted file to check against the classifier (such as one fcn convert wrote), instead of converting here.")
    var converted: String?

    @Flag(help: "Print the report as JSON (the same checks and verdict) instead of text.")
    var json = false

    func validate() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1.") }
        guard tolerance > 0 else { throw ValidationError("--tolerance must be positive.") }
    }

    func run() throws {
        let model = try modelArguments.load()
        let convertedModel = try converted.map { path in try ModelArguments.load(path: path, trusted: modelArguments.trustedFile) }
        let verifier = try Verifier(classifier: model, converted: convertedModel, options: conversion.options, threads: runtime.threads,
                                    memoryBudget: runtime.memoryBudget)
        let report = try verifier.verify(largeSize: input, samples: samples, tolerance: tolerance, seed: seed)
        let verdict = Self.verdict(report)
        if json {
            print(try JSONOutput.text(VerifyJSON(model: model.source, report: report, verdict: verdict)))
        } else {
            let small = report.classifierSize
            print("Model: \(model.source.path) (\(model.source.format))")
            print("(a) at the classifier's size \(small): FCN vs classifier: \(describe(report.atClassifierSize))")
            print("(b) at \(report.largeSize): grid \(report.grid), \(report.cells.count) sampled cells (corners included)")
            if let context = report.contextEffect {
                print("    the network pads, so cells near the border see real image where the classifier saw zeros;")
                print("    context effect (FCN cell vs classifier on its zero-filled crop, information): "
                      + "max abs \(format(context.maximumAbsoluteError)), relative \(format(context.relativeError))")
                print("    FCN cell vs independent plain evaluation: \(describe(report.sampledCells))")
            } else {
                print("    the network never pads: FCN cell vs classifier on the crop behind it: \(describe(report.sampledCells))")
            }
            if report.passed { print(verdict) }
        }
        guard report.passed else {
            throw VerificationFailure(tolerance: tolerance)
        }
    }

    /// What was proven, worded so that it cannot be read as more: for nets that pad, larger
    /// grids are checked against an independent evaluation, not against the classifier.
    static func verdict(_ report: VerificationReport) -> String {
        let tolerance = String(format: "%.2e", Double(report.tolerance))
        guard report.passed else { return "Not verified: an error is above the tolerance \(tolerance)." }
        if report.neverPads {
            return "Verified within \(tolerance): the FCN equals the classifier at its size \(report.classifierSize), "
                + "and at \(report.largeSize) every sampled cell equals the classifier on the crop behind it."
        }
        return "Verified within \(tolerance): the FCN equals the classifier at its size \(report.classifierSize); "
            + "at \(report.largeSize) every sampled cell equals an independent evaluation of the FCN. "
            + "Because the network pads, cells differ from the classifier on their crops wherever a receptive field "
            + "reaches past a crop's edge (the context effect above): there the FCN sees real image, the classifier zeros."
    }

    private func describe(_ agreement: Agreement) -> String {
        let verdict = agreement.relativeError <= tolerance ? "ok" : "FAILED"
        return "max abs \(format(agreement.maximumAbsoluteError)), relative \(format(agreement.relativeError)) "
            + "over \(agreement.count) values: \(verdict)"
    }

    private func format(_ value: Float) -> String { String(format: "%.2e", Double(value)) }
}

/// The error `fcn verify` exits with when a check is above the tolerance.
struct VerificationFailure: Error, CustomStringConvertible {
    let tolerance: Float
    var description: String { "verification failed: an error is above the tolerance \(tolerance) (see the lines above)" }
}

/// `--gap` and `--no-fold-bn`, shared by the commands that convert.
struct ConversionArguments: ParsableArguments {
    @Option(help: "Global pooling before Dense: 'window' (an average over the training-size window; each cell equals the classifier on its crop) or 'cam' (per-location scores, a class activation map).")
    var gap: GlobalPoolingConversion = .window

    @Flag(help: "Keep BatchNormalization layers instead of folding them into the convolution before them.")
    var noFoldBn = false

    var options: ConversionOptions { ConversionOptions(globalPooling: gap, foldBatchNormalization: !noFoldBn) }
}

extension GlobalPoolingConversion: ExpressibleByArgument {}

/// `fcn verify --json`: both checks with their numbers, and the verdict.
struct VerifyJSON: Encodable {
    struct Check: Encodable {
        let maxAbsoluteError: Float
        let relativeError: Float
        let values: Int
        let ok: Bool
    }

    let model: String
    let format: String
    let classifierSize: [Int]
    let largeSize: [Int]
    let grid: [Int]
    let sampledCells: [[Int]]
    /// False when the network pads: then `sampled_check` is against an independent evaluation.
    let neverPads: Bool
    let atClassifierSize: Check
    let sampledCheck: Check
    /// What `sampled_check` compared against: "classifier on the crop" or "independent evaluation".
    let sampledAgainst: String
    @NullWhenAbsent var contextEffect: Check?
    let tolerance: Float
    let passed: Bool
    let verdict: String

    init(model: ModelSource, report: VerificationReport, verdict: String) {
        func check(_ agreement: Agreement) -> Check {
            Check(maxAbsoluteError: agreement.maximumAbsoluteError, relativeError: agreement.relativeError, values: agreement.count,
                  ok: agreement.relativeError <= report.tolerance)
        }
        self.model = model.path
        format = model.format
        classifierSize = [report.classifierSize.height, report.classifierSize.width]
        largeSize = [report.largeSize.height, report.largeSize.width]
        grid = [report.grid.height, report.grid.width]
        sampledCells = report.cells.map { [$0.row, $0.column] }
        neverPads = report.neverPads
        atClassifierSize = check(report.atClassifierSize)
        sampledCheck = check(report.sampledCells)
        sampledAgainst = report.neverPads ? "classifier on the crop" : "independent evaluation"
        contextEffect = report.contextEffect.map(check)
        tolerance = report.tolerance
        passed = report.passed
        self.verdict = verdict
    }
}
