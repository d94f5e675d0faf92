import Foundation
import Testing

/// Locates the files the tests read: the committed fixtures and, when present, the team's
/// real model collection beside the repository.
public enum Fixtures {
    /// The repository root, found from this source file's location.
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // _FCNTestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// `Tests/Fixtures`, written by `scripts/golden/make_fixtures.py`.
    public static let directory = repositoryRoot.appendingPathComponent("Tests/Fixtures")

    /// The path of a fixture, given relative to `Tests/Fixtures`.
    public static func path(_ relative: String) -> String {
        directory.appendingPathComponent(relative).path
    }

    /// `../shared/realmodels` beside the repository, or nil when it is absent: its files
    /// may not be redistributed, so tests that need them skip without it.
    public static let realModels: URL? = {
        let url = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/realmodels")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }()
}

extension Fixtures {
    /// A JSON file of the fixture scripts (snake_case keys), decoded; traps when it does not
    /// decode, since every test that reads it would fail anyway.
    public static func decodeJSON<Value: Decodable>(_ relative: String) -> Value {
        let data = try! Data(contentsOf: directory.appendingPathComponent(relative))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try! decoder.decode(Value.self, from: data)
    }
}

/// A hostile or malformed file a manifest lists, with the words its error must contain.
public struct BadFixtureInput: Decodable, Sendable, CustomTestStringConvertible {
    public let file: String
    public let arch: String?
    public let kind: String
    public let expect: [String]
    public var testDescription: String { kind }
}
