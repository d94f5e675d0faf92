import FCNImport
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
        let report = try Verifier(classifier: model, threads: 1).verify(samples: 8)
        #expect(report.atClassifierSize.relativeError <= 1e-4, "(a) \(report.atClassifierSize.relativeError)")
        #expect(report.sampledCells.relativeError <= 1e-4, "(b) \(report.sampledCells.relativeError)")
    }
}

