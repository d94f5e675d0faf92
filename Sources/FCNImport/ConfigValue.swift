import Foundation
import Yams

/// A parsed configuration tree, the common form of Keras JSON and YAML configs and Caffe
/// prototxt, so that the importers read all of them with one set of accessors.
enum ConfigValue: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ConfigValue])
    case object([String: ConfigValue])

    subscript(key: String) -> ConfigValue? {
        if case .object(let members) = self, let value = members[key], value != .null { return value }
        return nil
    }

    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var double: Double? {
        switch self {
        case .number(let value): return value
        case .string(let text): return Double(text)
        default: return nil
        }
    }

    /// An integral number (also written as a string, as prototxt does).
    var int: Int? {
        guard let value = double, value.rounded() == value, abs(value) < 1e15 else { return nil }
        return Int(value)
    }

    var bool: Bool? {
        switch self {
        case .bool(let value): return value
        case .string(let text) where text == "true" || text == "false": return text == "true"
        default: return nil
        }
    }

    var array: [ConfigValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The items of an array, or the value itself as a one-item list (prototxt repeats fields).
    var list: [ConfigValue] {
        if case .array(let items) = self { return items }
        return [self]
    }

    /// The deepest nesting of lists and objects a JSON config may have. Keras's configs nest
    /// about 12 deep; decoding costs grow with the square of the depth.
    static let maximumJSONDepth = 64

    /// Why a JSON config is refused before decoding.
    struct JSONDepthError: Error, CustomStringConvertible {
        var description: String { "it nests lists and objects deeper than \(ConfigValue.maximumJSONDepth) levels" }
    }

    /// Parses JSON text, after checking in one pass that it nests at most `maximumJSONDepth` deep.
    ///
    /// - Throws: `JSONDepthError`, or the decoder's error for text that is not JSON.
    static func parseJSON(_ text: String) throws -> ConfigValue {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in text.utf8 {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > maximumJSONDepth { throw JSONDepthError() }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return try JSONDecoder().decode(ConfigValue.self, from: Data(text.utf8))
    }

    /// How many values a YAML document may expand to, per byte of its text (plus
    /// `yamlValueAllowance`). PyYAML writes aliases (`*id002`) for settings it has written before,
    /// and each is expanded where it is used; in Keras's files that adds little, while a "billion
    /// laughs" document of a few hundred bytes expands to 10^9 values.
    static let yamlValuesPerByte = 20
    static let yamlValueAllowance = 10_000

    /// Why a YAML document is refused after parsing.
    struct YAMLExpansionError: Error, CustomStringConvertible {
        let limit: Int
        var description: String {
            "its aliases expand to more than \(limit) values, \(ConfigValue.yamlValuesPerByte) per byte of the file (a YAML alias bomb?)"
        }
    }

    /// Parses YAML text, as Keras's `to_yaml()` writes it; tags such as `!!python/tuple` are
    /// read as plain lists. libyaml bounds the nesting depth (1,000 levels).
    ///
    /// - Throws: Yams's error, or `YAMLExpansionError` when aliases expand past the budget.
    static func parseYAML(_ text: String) throws -> ConfigValue {
        guard let node = try Yams.compose(yaml: text) else { return .null }
        let limit = yamlValueAllowance + yamlValuesPerByte * text.utf8.count
        var budget = limit
        do { return try ConfigValue(yaml: node, budget: &budget) } catch is YAMLExpansionError { throw YAMLExpansionError(limit: limit) }
    }

    /// Converts `node`, spending one of `budget` per value, so that shared (aliased) subtrees
    /// cost what they expand to.
    private init(yaml node: Yams.Node, budget: inout Int) throws {
        budget -= 1
        guard budget >= 0 else { throw YAMLExpansionError(limit: 0) }
        switch node {
        case .scalar(let scalar):
            let text = scalar.string
            if scalar.style != .plain { self = .string(text) }
            else if ["null", "~", ""].contains(text) { self = .null }
            else if ["true", "false"].contains(text.lowercased()) { self = .bool(text.lowercased() == "true") }
            else if let number = Double(text) { self = .number(number) }
            else { self = .string(text) }
        case .sequence(let sequence):
            var items: [ConfigValue] = []
            for item in sequence { items.append(try ConfigValue(yaml: item, budget: &budget)) }
            self = .array(items)
        case .mapping(let mapping):
            var members: [String: ConfigValue] = [:]
            for (key, value) in mapping { members[key.string ?? ""] = try ConfigValue(yaml: value, budget: &budget) }
            self = .object(members)
        case .alias:
            self = .null
        }
    }
}

extension ConfigValue: Decodable {
    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([ConfigValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: ConfigValue].self)) }
    }
}
