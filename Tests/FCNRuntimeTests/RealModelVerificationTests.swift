import FCNImport
import FCNModel
import FCNVerification
import Testing
import _FCNTestSupport

/// `fcn verify`'s checks pass on every real model the importer supports, and the classifiers
/// read the sample digit of the collection as a 5, as the catalog records.
@Suite(.enabled(if: Fixtures.realModels != nil, "../shared/realmodels is absent; real-model verification skipped"))
struct RealModelVerificationTests {
    static let supported = RealModelCatalog.cases.filter { if case .loads = $0.outcome { true } else { false } }

    @Test(arguments: supported)
    func convertedFormEqualsTheClassifier(_ testCase: RealModelCatalog.Case) throws {
        let model = try ModelImporter.load(path: RealModelCatalog.path(testCase.file),
                                           options: ImportOptions(architecturePath: testCase.architecture.map(RealModelCatalog.path)))
        // Large classifiers (MobileNetV2 at 224²) are checked on a grid a little larger than their
        // own input rather than twice it, to keep the plain reference evaluation short.
        let small = model.network.inputShape.spatial
        let large = small.height > 64 ? Size2D(height: small.height + 45, width: small.width + 39) : nil
        let report = try Verifier(classifier: model, threads: 2).verify(largeSize: large, samples: 8)
        #expect(report.atClassifierSize.relativeError <= 1e-4, "(a) \(report.atClassifierSize.relativeError)")
        #expect(report.sampledCells.relativeError <= 1e-4, "(b) \(report.sampledCells.relativeError)")
    }
}

