import Foundation

/// `Tests/Fixtures/manifest.json`, written by `scripts/golden/make_fixtures.py`.
public struct Manifest: Decodable, Sendable {
    public struct Fixture: Decodable, Sendable, CustomTestStringConvertibleShim {
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

    public struct BadInput: Decodable, Sendable, CustomTestStringConvertibleShim {
        public let file: String
        public let arch: String?
        public let kind: String
        public let expect: [String]
        public var testDescription: String { kind }
    }

    public let fixtures: [Fixture]
    public let bad: [BadInput]

    /// The manifest, read once.
    public static let shared: Manifest = {
        let data = try! Data(contentsOf: Fixtures.directory.appendingPathComponent("manifest.json"))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try! decoder.decode(Manifest.self, from: data)
    }()
}

/// Lets test arguments name themselves without importing Testing here.
public protocol CustomTestStringConvertibleShim {
    var testDescription: String { get }
}
