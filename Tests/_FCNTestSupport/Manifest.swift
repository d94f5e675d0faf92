import Foundation
import FCNImport
import FCNModel
import Testing

/// `Tests/Fixtures/manifest.json`, written by `scripts/golden/make_fixtures.py`.
public struct Manifest: Decodable, Sendable {
    public struct Fixture: Decodable, Sendable, CustomTestStringConvertible {
        public struct LayerEntry: Decodable, Sendable {
            public let name: String
            public let className: String
            public let outputShape: [Int]
            public let params: Int
        }

        public struct Golden: Decodable, Sendable {
            public let input: String
            public let output: String
            public let fcnInput: String
            public let fcnOutput: String
        }

        public let name: String
        public let file: String
        public let arch: String?
        public let generation: String
        public let dataFormat: String
        public let flattenOrder: String?
        public let kernelFlipped: Bool
        public let inputShape: [Int]
        public let classes: Int
        public let pads: Bool
        public let layers: [LayerEntry]
        public let golden: Golden
        public var testDescription: String { name }
    }

    public typealias BadInput = BadFixtureInput

    public let fixtures: [Fixture]
    public let bad: [BadInput]

    /// The manifest, read once.
    public static let shared: Manifest = Fixtures.decodeJSON("manifest.json")
}

extension Manifest {
    /// The fixture called `name`.
    public func fixture(named name: String) -> Fixture? { fixtures.first { $0.name == name } }
}

extension Manifest.Fixture {
    /// The fixture's model, imported as `fcn` imports it (with its architecture file, if any).
    public func load() throws -> Model {
        try ModelImporter.load(path: Fixtures.path(file), options: ImportOptions(architecturePath: arch.map(Fixtures.path)))
    }
}
