import FCNImport
import FCNModel
import Foundation
import Testing

/// `Tests/Fixtures/graphs/manifest.json`, written by `scripts/golden/make_graph_fixtures.py`.
public struct GraphManifest: Decodable, Sendable {
    public struct Fixture: Decodable, Sendable, CustomTestStringConvertible {
        public struct Refusal: Decodable, Sendable {
            public let layer: String
            public let words: [String]
        }

        public struct Golden: Decodable, Sendable {
            public let input: String
            public let output: String
            public let fcnInput: String?
            public let fcnOutput: String?
        }

        /// Per axis (one entry for sequences): at `inputSize`, the FCN output's geometry.
        public struct Geometry: Decodable, Sendable {
            public let inputSize: [Int]
            public let receptiveField: [Int]
            public let jump: [Int]
            public let start: [Double]
            public let grid: [Int]
        }

        public let name: String
        public let file: String
        /// The same model in other containers (a legacy `.h5` beside the `.keras`).
        public let also: [String]?
        public let arch: String?
        public let refused: Refusal?
        public let golden: Golden
        public let geometry: Geometry?
        public let misalignedSizes: [[Int]]?
        public let misalignedMerge: String?
        public var testDescription: String { name }

        /// Every file the fixture is stored in.
        public var files: [String] { [file] + (also ?? []) }

        /// The model in `file`, imported as `fcn` imports it.
        public func load(_ file: String) throws -> Model {
            try ModelImporter.load(path: Fixtures.path(file), options: ImportOptions(architecturePath: arch.map(Fixtures.path)))
        }
    }

    public typealias BadInput = BadFixtureInput

    public let fixtures: [Fixture]
    public let bad: [BadInput]

    /// The manifest, read once.
    public static let shared: GraphManifest = Fixtures.decodeJSON("graphs/manifest.json")

    /// Every (fixture, file) pair, for tests over each container.
    public var stored: [StoredFixture] { fixtures.flatMap { fixture in fixture.files.map { StoredFixture(fixture: fixture, file: $0) } } }
}

/// One fixture in one of its files.
public struct StoredFixture: Sendable, CustomTestStringConvertible {
    public let fixture: GraphManifest.Fixture
    public let file: String
    public var testDescription: String { file }
}
